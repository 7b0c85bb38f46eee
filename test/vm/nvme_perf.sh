#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nvme_perf.sh SVIO_PERF: svio's own NVMe PMD drives QEMU's NVMe controller
# through the PCI bus (VFIO cdev) and the iommufd backend on a real kernel:
# random read/write with crc32c verify and streaming DMA (map before, unmap
# after every I/O), once with the strict and once with the lazy flush policy.
# Prints each run's figures and the guest kernel's invalidation descriptors.
# Exit status: 0 pass, 77 skip (as check.sh), anything else a failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
perf=$(realpath "$1")
export SVIO_VM_CACHE=${SVIO_VM_CACHE:-$here/cache}

[ "${SVIO_VM_SKIP:-0}" = 1 ] && { echo "SKIP: SVIO_VM_SKIP=1"; exit 77; }
rc=0
"$here/prepare.sh" >/dev/null || rc=$?
[ $rc -eq 77 ] && { echo "SKIP: guest prerequisites missing (see check.sh)"; exit 77; }
[ $rc -eq 0 ] || { echo "nvme_perf: prepare.sh failed ($rc)"; exit 1; }

status=0
for policy in strict lazy; do
	out=$(mktemp)
	# shellcheck disable=SC2016 # expanded inside the guest
	"$here/run.sh" sh -c "$perf --no-huge -m 256 --no-shconf --no-telemetry \
		--log-level='*:warning' -a \$SVIO_VM_NVME --iommu iommufd \
		--iommu-flush $policy -- --rw=randrw --bs=4k --iodepth=8 --runtime=2 \
		--dma=map-per-io --verify=crc32c --size=32M" >"$out" 2>&1
	rc=$?
	echo "== $policy (exit $rc)"
	grep -E "IOPS=|errors:|^IOMMU|vtd_inv_desc" "$out" | sort -u
	if [ $rc -ne 0 ] || ! grep -q "errors: io=0, verify=0" "$out"; then
		echo "nvme_perf: $policy run failed"
		tail -20 "$out"
		status=1
	fi
	rm -f "$out"
done
exit $status
