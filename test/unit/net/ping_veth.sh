#!/usr/bin/env bash
# The Linux network stack pings svio: svio-testpmd in icmpecho mode answers
#  1. through a veth pair (wire=af_packet on the root end, the other end in a
#     network namespace with 10.77.0.1/24), and
#  2. through a tap svio creates itself (wire=tap, svio-testpmd run inside the
#     namespace, the tap given 10.77.1.1/24 once it appears).
# Each must answer every ping, and svio must see no stale IOMMU use.
# Skips (77) without root, network namespaces, ip or ping; always cleans up.
# Usage: ping_veth.sh SVIO_TESTPMD
set -uo pipefail
testpmd=$1
skip() {
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root (network namespace, veth and tap)"
command -v ip >/dev/null || skip "no ip (iproute2)"
if command -v ping >/dev/null; then
	ping=(ping)
elif command -v busybox >/dev/null && busybox --list | grep -qx ping; then
	ping=(busybox ping)
else
	skip "no ping (iputils-ping or busybox)"
fi

# Names unique to this run (interface names: 15 characters at most).
id=$$
ns=sviot$id
veth=svv$id
tap=svt$id
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	ip link del "${veth}a" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" 2>"$tmp/err" || skip "cannot create a network namespace: $(cat "$tmp/err")"
ip -n "$ns" link set lo up

eal=(--no-huge -m 256 --no-shconf --no-telemetry -l 0 --log-level='*:warning')
fail=0

# Start svio-testpmd (the command after NAME ADDR TAP), ping ADDR from the
# namespace, stop it with SIGINT and check its report. TAP (or -): the tap svio
# creates in the namespace, given ADDR's .1 once it exists. The first pings
# only wait for svio to come up (bounded), so the five that count are not
# raced against start-up.
ping_svio() {
	local name=$1 addr=$2 tapdev=$3 out=$tmp/$1.json log=$tmp/$1.ping i tx rx stale
	shift 3
	"$@" >"$out" 2>"$tmp/$name.err" &
	pid=$!
	if [ "$tapdev" != - ]; then
		for i in $(seq 1 600); do
			ip -n "$ns" link show "$tapdev" >/dev/null 2>&1 && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		ip -n "$ns" addr add "${addr%.*}.1/24" dev "$tapdev"
	fi
	for i in $(seq 1 60); do
		ip netns exec "$ns" "${ping[@]}" -c 1 -W 1 "$addr" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5 # "unreachable" returns at once
	done
	ip netns exec "$ns" "${ping[@]}" -c 5 -W 2 "$addr" >"$log" 2>&1
	cat "$log"
	# --ip-addr: a neighbour's address gets no answer (no ARP reply for it).
	if ip netns exec "$ns" "${ping[@]}" -c 1 -W 1 "${addr%.*}.3" >/dev/null 2>&1; then
		echo "FAIL: $name: svio answered for ${addr%.*}.3, not its address"
		fail=1
	fi
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	local rc=$?
	pid=
	cat "$tmp/$name.err"
	if [ "$rc" != 0 ]; then
		echo "FAIL: $name: svio-testpmd exited with $rc"
		fail=1
		return
	fi
	if ! grep -Eq '5 (packets )?received' "$log"; then
		echo "FAIL: $name: not every ping was answered"
		fail=1
	fi
	tx=$(grep -o '"tx_packets": [0-9]*' "$out" | head -n 1 | grep -o '[0-9]*$')
	rx=$(grep -o '"rx_packets": [0-9]*' "$out" | head -n 1 | grep -o '[0-9]*$')
	stale=$(grep -o '"stale_uses": [0-9]*' "$out" | head -n 1 | grep -o '[0-9]*$')
	echo "$name: svio rx_packets=${rx:-?} tx_packets=${tx:-?} stale_uses=${stale:-?}"
	if [ -z "$tx" ] || [ "$tx" -lt 5 ] || [ -z "$rx" ] || [ "$rx" -lt 5 ]; then
		echo "FAIL: $name: svio-testpmd did not count the echo requests and replies"
		fail=1
	fi
	if [ "${stale:-1}" != 0 ]; then
		echo "FAIL: $name: stale IOMMU uses (or none reported)"
		fail=1
	fi
}

# 1. veth: one end in the namespace with an address, the other in the root
#    namespace, up, no address, svio on it through AF_PACKET.
ip link add "${veth}a" type veth peer name "${veth}b" || skip "cannot create a veth pair"
ip link set "${veth}b" netns "$ns"
ip -n "$ns" addr add 10.77.0.1/24 dev "${veth}b"
ip -n "$ns" link set "${veth}b" up
ip link set "${veth}a" up
ping_svio af_packet 10.77.0.2 - timeout 120 "$testpmd" "${eal[@]}" \
	--vdev "sim_vnet0,wire=af_packet:${veth}a" -- --forward-mode=icmpecho \
	--ip-addr=10.77.0.2 --output-format=json

# 2. tap: svio-testpmd runs in the namespace and creates the tap there; it
#    gets its address once it exists (svio has brought it up).
if [ -c /dev/net/tun ]; then
	ping_svio tap 10.77.1.2 "$tap" ip netns exec "$ns" timeout 120 "$testpmd" "${eal[@]}" \
		--vdev "sim_vnet0,wire=tap:$tap" -- --forward-mode=icmpecho \
		--ip-addr=10.77.1.2 --output-format=json
	if ip -n "$ns" link show "$tap" >/dev/null 2>&1; then
		echo "FAIL: tap: $tap still exists after svio-testpmd exited"
		fail=1
	fi
else
	echo "no /dev/net/tun: tap variant not run"
fi

[ "$fail" = 0 ] && echo "ping through veth (af_packet) and tap: ok"
exit "$fail"
