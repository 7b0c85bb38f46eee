#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# net_testpmd.sh SVIO_TESTPMD: svio's virtio-net PMD drives QEMU's two
# virtio-net-pci ports (modern, iommu_platform, ATS) through the PCI bus (VFIO
# cdev) and the iommufd backend on a real kernel. svio-testpmd runs one mode
# for all its ports, so two processes share the guest: one rxonly on
# SVIO_VM_NET1 and one txonly on SVIO_VM_NET0; QEMU's hub carries the frames
# from one port to the other.
#
# Every frame must be accounted for: the sender's tx_packets (frames its PMD
# put on the ring; its stop waits until the device took them all) equals the
# receiver's rx_packets. QEMU's hub is lossless between two NICs (QEMU 7.2
# net/net.c, net/hub.c, net/queue.c): a NIC that refuses a frame (ring empty)
# is marked receive_disabled and keeps that one frame in its incoming queue;
# from then on the hub reports that it cannot receive, so the sender's frames
# wait in the hub port's queue with a completion callback and the sender's
# virtio-net stops taking descriptors until the receiver adds buffers and
# kicks, which flushes both queues. The only drop in that path (a full queue
# of 10000 frames without a callback) cannot be reached. Frames sent before
# the receiver is up wait the same way.
#
# Mappings: --sva off, so each process maps its mempool at allocated IOVAs
# through IOMMU_IOAS_MAP into the kernel-owned I/O page table (kernel_maps >
# 0, no page requests). Prints both reports, the rate and the guest's
# invalidation descriptors (vtd_inv_desc).
#
# Environment: NET_TESTPMD_SECONDS (sender run time, default 4).
# Exit status: 0 pass, 77 skip (as check.sh), anything else a failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
testpmd=$(realpath "$1")
secs=${NET_TESTPMD_SECONDS:-4}
export SVIO_VM_CACHE=${SVIO_VM_CACHE:-$here/cache}

[ "${SVIO_VM_SKIP:-0}" = 1 ] && { echo "SKIP: SVIO_VM_SKIP=1"; exit 77; }
rc=0
"$here/prepare.sh" >/dev/null || rc=$?
[ $rc -eq 77 ] && { echo "SKIP: guest prerequisites missing (see check.sh)"; exit 77; }
[ $rc -eq 0 ] || { echo "net_testpmd: prepare.sh failed ($rc)"; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
eal="--no-huge -m 256 --no-shconf --no-telemetry --log-level=*:warning --iommu iommufd --sva off"
pmd="--rxd=256 --txd=256 --output-format=json"
# The receiver starts first and runs until the sender is done plus a settle
# time for frames still in QEMU's queues, then gets SIGINT (it prints its
# report on the way out); its own run time only bounds a run that hangs.
# shellcheck disable=SC2016 # $SVIO_VM_* and $! are expanded inside the guest
"$here/run.sh" sh -c "
	$testpmd $eal -l 1 -a \$SVIO_VM_NET1 -- $pmd --forward-mode=rxonly \
		--run-time=$((secs + 120)) >\$SVIO_VM_RUN/rx.json 2>\$SVIO_VM_RUN/rx.err &
	rx=\$!
	sleep 3
	$testpmd $eal -l 0 -a \$SVIO_VM_NET0 -- $pmd --forward-mode=txonly \
		--run-time=$secs >\$SVIO_VM_RUN/tx.json 2>\$SVIO_VM_RUN/tx.err
	echo \"exit-tx=\$?\"
	sleep 2
	kill -INT \$rx
	wait \$rx
	echo \"exit-rx=\$?\"
	for f in tx rx; do
		echo \"== \$f\"; cat \$SVIO_VM_RUN/\$f.json \$SVIO_VM_RUN/\$f.err
	done
" >"$out" 2>&1
rc=$?
cat "$out"

# field FILE-MARK NAME: the first value of \"NAME\": N in that process's report.
field() {
	sed -n "/^== $1\$/,/^== /p" "$out" | grep -o "\"$2\": [0-9]*" | head -1 | grep -o '[0-9]*$'
}
tx=$(field tx tx_packets)
rx=$(field rx rx_packets)
tx_drop=$(field tx tx_dropped)
tx_secs=$(sed -n '/^== tx$/,/^== /p' "$out" | grep -o '"run_time_s": [0-9.]*' | head -1 |
	grep -o '[0-9.]*$')
status=0
ok() { # ok WHAT: the previous command's status decides
	if [ $? -eq 0 ]; then
		echo "ok   $1"
	else
		echo "FAIL $1"
		status=1
	fi
}
[ $rc -eq 0 ]
ok "the guest ran both processes (exit $rc)"
grep -q "exit-tx=0" "$out" && grep -q "exit-rx=0" "$out"
ok "both svio-testpmd exit 0"
[ -n "$tx" ] && [ "$tx" -gt 0 ]
ok "the sender sent frames (${tx:-none})"
[ -n "$rx" ] && [ "$rx" = "$tx" ]
ok "every frame is accounted for: tx_packets ${tx:-?} == rx_packets ${rx:-?}"
! grep -q "not taken by the device" "$out"
ok "the sender's device took every frame it was given"
for side in tx rx; do
	maps=$(field "$side" kernel_maps)
	[ -n "$maps" ] && [ "$maps" -gt 0 ]
	ok "$side: the mempool went through IOMMU_IOAS_MAP (kernel_maps ${maps:-?})"
	[ "$(field "$side" page_requests)" = 0 ]
	ok "$side: no page requests (SVA off)"
	[ "$(field "$side" stale_uses)" = 0 ]
	ok "$side: no stale uses"
done
if [ -n "$tx" ] && [ -n "$tx_secs" ]; then
	awk -v n="$tx" -v s="$tx_secs" -v d="${tx_drop:-0}" 'BEGIN {
		printf "rate: %.0f frames/s over %.2f s (%d frames refused by a full ring)\n",
			n / s, s, d }'
fi
grep -F '"vtd_inv_desc"' "$out" || echo "net_testpmd: no vtd_inv_desc line"
exit $status
