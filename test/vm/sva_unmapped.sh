#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# sva_unmapped.sh SVA_UNMAPPED: runs sva_unmapped (sva_unmapped.c) in the guest
# on QEMU's NVMe through iommufd with SVA on: a pattern from DPDK memory reads
# back, a read and a write on malloc'ed memory are refused with -EFAULT and a
# log line, and the block keeps the pattern.
# Exit status: 0 pass, 77 skip (as check.sh), anything else a failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=$(realpath "$1")
export SVIO_VM_CACHE=${SVIO_VM_CACHE:-$here/cache}

source "$here/guest_prepare.sh"
vm_prepare sva_unmapped

out=$(mktemp)
trap 'rm -f "$out"' EXIT
eal="--no-huge -m 256 --no-shconf --no-telemetry --log-level=*:warning --iommu iommufd --sva on"
# shellcheck disable=SC2016 # $SVIO_VM_NVME is expanded inside the guest
SVIO_VM_VFIO=nvme "$here/run.sh" sh -c "
	$prog $eal -a \$SVIO_VM_NVME; echo \"exit-sva-unmapped=\$?\"
" >"$out" 2>&1
cat "$out"

status=0
grep -q '^FAIL' "$out" && status=1
grep -q '^PASS$' "$out" || status=1
grep -q '^exit-sva-unmapped=0' "$out" || status=1
exit $status
