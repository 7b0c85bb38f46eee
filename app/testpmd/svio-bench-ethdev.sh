#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# What DPDK's ethdev layer costs over svio's own port API: io forwarding
# between the same two cabled built-in virtio-net ports, by svio-testpmd
# (svio_net_* calls) and by Debian's dpdk-testpmd over net_svio
# (librte_net_svio.so loaded with -d, rte_eth_* calls). Rounds alternate the
# two. Each run forwards for SECONDS; two rates are reported for it: the
# wall-clock one (mean of the per-second Tx-pps sums each program prints with
# --stats-period=1, the first second left out) and frames per CPU-second of
# the forwarding lcore's thread (all frames forwarded over the CPU time
# /proc gives for rte-worker-1), which does not count the time other
# processes took the core on a shared machine (it does count a worker's
# spinning before forwarding starts). Both ratios (dpdk-testpmd over
# svio-testpmd) are given; ethdev_cost_pct uses the per-CPU one.
# With --callgrind, each side also runs twice under callgrind (4*SECONDS and
# 8*SECONDS): instructions per forwarded frame = the difference in
# instructions over the difference in frames (start-up and shutdown cancel).
# JSON on stdout, progress on stderr.
#
#   app/testpmd/svio-bench-ethdev.sh [--callgrind] [BUILD_DIR] [SECONDS] [ROUNDS]
set -euo pipefail

cmdline="$0 $*"
callgrind=0
if [ "${1:-}" = --callgrind ]; then
	callgrind=1
	shift
fi
build=${1:-build}
secs=${2:-5}
rounds=${3:-5}
svio=$build/app/testpmd/svio-testpmd
plugin=$(realpath -e "$build/drivers/net/svio_ethdev/librte_net_svio.so" 2>/dev/null || true)
eal="--no-huge -m 1024 --no-shconf --no-telemetry --log-level=*:error -l 0-1"
# One pool size for both: mbufs cycle through the whole pool (freed ones go to the
# back of its ring once the lcore cache overflows), so a bigger pool alone costs
# cache and TLB misses that have nothing to do with the API in between.
mbufs=32768
devs_svio=(--vdev sim_vnet0,wire=pair:sim_vnet1 --vdev sim_vnet1)
devs_ethdev=(--no-pci -d "$plugin"
	--vdev "net_svio0,dev=sim_vnet0,svio=--vdev sim_vnet0,wire=pair:sim_vnet1 --vdev sim_vnet1"
	--vdev net_svio1,dev=sim_vnet1)

if [ ! -x "$svio" ] || [ -z "$plugin" ]; then
	echo "no $svio or librte_net_svio.so under $build: build first (ninja -C $build)" >&2
	exit 1
fi
if ! command -v dpdk-testpmd >/dev/null; then
	echo "dpdk-testpmd not found (Debian package dpdk-dev)" >&2
	exit 1
fi
if [ "$callgrind" = 1 ] && ! command -v valgrind >/dev/null; then
	echo "--callgrind needs valgrind (Debian package valgrind)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Mean of the per-second sums of Tx-pps over the ports, without the first second.
mean_mpps() {
	awk -v ports=2 '/Tx-pps:/ { sum += $2; n++
		if (n % ports == 0) { if (n > ports) { tot += sum; k++ } sum = 0 } }
		END { if (k) printf "%.4f", tot / k / 1e6; else print "0" }' "$1"
}

# frames FILE: frames forwarded (sum over ports of the TX-packets printed at exit).
frames() {
	awk '/Forward statistics for port/ { inblk = 1 }
		inblk && /TX-packets:/ { t += $2; inblk = 0 }
		END { print t + 0 }' "$1"
}

# CPU seconds the forwarding lcore's thread (rte-worker-1) has run, of process $1.
worker_cpu() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = rte-worker-1 ]; then
			awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "$t/stat"
			return
		fi
	done
	echo 0
}

# run SIDE OUT [PREFIX...]: forward for $secs seconds, then SIGINT. SIDE svio|ethdev.
# Prints the forwarding thread's CPU seconds, read just before the signal.
run() {
	local side=$1 out=$2 pid cpu
	shift 2
	if [ "$side" = svio ]; then
		stdbuf -oL "$@" "$svio" $eal "${devs_svio[@]}" -- \
			--forward-mode=io --tx-first --total-num-mbufs=$mbufs --stats-period=1 \
			>"$out" 2>&1 </dev/null &
	else
		stdbuf -oL "$@" dpdk-testpmd $eal "${devs_ethdev[@]}" -- \
			--forward-mode=io --tx-first --total-num-mbufs=$mbufs --stats-period=1 \
			>"$out" 2>&1 </dev/null &
	fi
	pid=$!
	sleep $((secs + 2))
	cpu=$(worker_cpu "$pid")
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" || true
	echo "$cpu"
}

# Forwarding rate per CPU-second of the forwarding thread: what the other helpers'
# load on the machine takes from a run's wall-clock rate, it does not take from this.
per_cpu_mpps() {
	awk -v f="$(frames "$1")" -v c="$2" 'BEGIN { printf "%.4f", (c > 0 ? f / c / 1e6 : 0) }'
}

rows=
for r in $(seq 1 "$rounds"); do
	cs=$(run svio "$tmp/s$r")
	ce=$(run ethdev "$tmp/e$r")
	s=$(mean_mpps "$tmp/s$r")
	e=$(mean_mpps "$tmp/e$r")
	sc=$(per_cpu_mpps "$tmp/s$r" "$cs")
	ec=$(per_cpu_mpps "$tmp/e$r" "$ce")
	ratio=$(awk -v a="$ec" -v b="$sc" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')
	echo "round $r: svio-testpmd $s Mpps ($sc per CPU-s of $cs s), dpdk-testpmd+net_svio" \
		"$e Mpps ($ec per CPU-s of $ce s), ratio per CPU-s $ratio" >&2
	rows+="${rows:+, }{\"round\": $r, \"svio_testpmd_mpps\": $s, \"svio_testpmd_cpu_s\": $cs,"
	rows+=" \"svio_testpmd_mpps_per_cpu_s\": $sc, \"dpdk_testpmd_net_svio_mpps\": $e,"
	rows+=" \"dpdk_testpmd_net_svio_cpu_s\": $ce, \"dpdk_testpmd_net_svio_mpps_per_cpu_s\": $ec,"
	rows+=" \"ratio_per_cpu_s\": $ratio}"
done
summary=$(echo "[$rows]" | python3 -c '
import json, statistics, sys
r = json.load(sys.stdin)
med = lambda k: statistics.median(x[k] for x in r)
q = med("ratio_per_cpu_s")
w = statistics.median(x["dpdk_testpmd_net_svio_mpps"] / x["svio_testpmd_mpps"]
                      for x in r if x["svio_testpmd_mpps"] > 0)
print(json.dumps({"ratio_wall_median": round(w, 4),"svio_testpmd_mpps_median": med("svio_testpmd_mpps"),
                  "dpdk_testpmd_net_svio_mpps_median": med("dpdk_testpmd_net_svio_mpps"),
                  "svio_testpmd_mpps_per_cpu_s_median": med("svio_testpmd_mpps_per_cpu_s"),
                  "dpdk_testpmd_net_svio_mpps_per_cpu_s_median":
                      med("dpdk_testpmd_net_svio_mpps_per_cpu_s"),
                  "ratio_per_cpu_s_median": round(q, 4),
                  "ethdev_cost_pct": round(100 * (1 - q), 2)})[1:-1])')

cg=
if [ "$callgrind" = 1 ]; then
	ir() { awk '/^summary:/ { print $2 }' "$1"; }
	s0=$secs
	for side in svio ethdev; do
		for mult in 1 2; do
			secs=$((s0 * mult * 4)) # valgrind runs some 20-50 times slower: give it time
			run "$side" "$tmp/cg-$side-$mult" valgrind --tool=callgrind \
				--callgrind-out-file="$tmp/cg-$side-$mult.out" >/dev/null
		done
		secs=$s0
		f1=$(frames "$tmp/cg-$side-1")
		f2=$(frames "$tmp/cg-$side-2")
		i1=$(ir "$tmp/cg-$side-1.out")
		i2=$(ir "$tmp/cg-$side-2.out")
		ipp=$(awk -v a="$i1" -v b="$i2" -v x="$f1" -v y="$f2" \
			'BEGIN { printf "%.1f", (y > x ? (b - a) / (y - x) : 0) }')
		echo "callgrind $side: $f1 and $f2 frames, $i1 and $i2 instructions: $ipp per frame" >&2
		cg+="${cg:+, }\"$side\": {\"frames\": [$f1, $f2], \"instructions\": [$i1, $i2],"
		cg+=" \"instructions_per_frame\": $ipp}"
	done
	cg=", \"callgrind\": {$cg}"
fi

printf '{"bench": "ethdev_cost", "forward_mode": "io", "seconds": %s, "mbufs": %s, ' "$secs" "$mbufs"
printf '"command": "%s", "rounds": [%s], %s%s}\n' "$cmdline" "$rows" "$summary" "$cg"
