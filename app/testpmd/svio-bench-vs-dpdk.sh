#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# io forwarding rate of svio-testpmd between two cabled built-in virtio-net
# ports, next to DPDK's own dpdk-testpmd between two net_null ports, and the
# ratio. Both use one forwarding lcore (-l 0-1); rates are summed over ports.
#
#   app/testpmd/svio-bench-vs-dpdk.sh [BUILD_DIR] [SECONDS] [extra svio-testpmd options]
set -euo pipefail

build=${1:-build}
secs=${2:-5}
shift $(( $# > 2 ? 2 : $# )) || true
svio=$build/app/testpmd/svio-testpmd
eal="--no-huge -m 512 --no-telemetry --log-level=*:error -l 0-1"

if [ ! -x "$svio" ]; then
	echo "no $svio: build first (meson setup $build && ninja -C $build)" >&2
	exit 1
fi
if ! command -v dpdk-testpmd >/dev/null; then
	echo "dpdk-testpmd not found (Debian package dpdk)" >&2
	exit 1
fi

svio_mpps=$($svio $eal --no-shconf --vdev sim_vnet0,wire=pair:sim_vnet1 --vdev sim_vnet1 -- \
	--forward-mode=io --tx-first --run-time="$secs" --output-format=json "$@" |
	sed -n 's/.*"mpps": \([0-9.]*\).*/\1/p')

# dpdk-testpmd prints per-port Tx-pps every second (and never reads stdin with
# --stats-period): stop it with SIGINT; average the sums, skipping the first.
dpdk_mpps=$(timeout -s INT $((secs + 2)) \
	dpdk-testpmd $eal --no-pci --vdev net_null0 --vdev net_null1 -- \
		--forward-mode=io --auto-start --tx-first --total-num-mbufs=32768 \
		--stats-period=1 2>/dev/null </dev/null |
	awk '/Tx-pps:/ { sum += $2; n++; if (n % 2 == 0) { if (n > 2) { tot += sum; k++ } sum = 0 } }
	     END { if (k) printf "%.3f", tot / k / 1e6; else print "0" }' || true)

echo "svio-testpmd io, 2 cabled sim_vnet ports: $svio_mpps Mpps"
echo "dpdk-testpmd io, 2 net_null ports:        $dpdk_mpps Mpps"
awk -v a="$svio_mpps" -v b="$dpdk_mpps" 'BEGIN { if (b > 0) printf "ratio svio/dpdk: %.3f\n", a / b }'
