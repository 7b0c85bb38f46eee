#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# unit_real.sh TEST_IOMMUFD TEST_PCI: the unit tests' real-kernel cases, which
# skip inside cmocka on a machine without /dev/iommu (the unit suite's summary
# cannot see that), run in the guest with what they need: test_real_ioas
# (/dev/iommu), test_real_device (SVIO_TEST_VFIO_CDEV, the NVMe's VFIO cdev)
# and test_real_pci (SVIO_TEST_PCI_ADDR, the NVMe bound to vfio-pci).  Each of
# them must pass; one that skips fails this test.
# Exit status: 0 pass, 77 skip (as check.sh), anything else a failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
iommufd=$(realpath "$1")
pci=$(realpath "$2")
export SVIO_VM_CACHE=${SVIO_VM_CACHE:-$here/cache}

source "$here/guest_prepare.sh"
vm_prepare unit_real

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2016 # expanded inside the guest
SVIO_VM_VFIO=nvme "$here/run.sh" sh -c '
	cdev=/dev/vfio/devices/$(ls /sys/bus/pci/devices/$SVIO_VM_NVME/vfio-dev)
	SVIO_TEST_VFIO_CDEV=$cdev '"$iommufd"'; echo "exit-iommufd=$?"
	SVIO_TEST_PCI_ADDR=$SVIO_VM_NVME '"$pci"'; echo "exit-pci=$?"
' >"$out" 2>&1
cat "$out"

status=0
expect() { # expect PATTERN WHAT
	if grep -Eq "$1" "$out"; then
		echo "ok   $2"
	else
		echo "FAIL $2"
		status=1
	fi
}
expect '^\[       OK \] test_real_ioas$' "an IOAS on the guest's /dev/iommu: map at IOVA = VA, unmap"
expect '^\[       OK \] test_real_device$' "the NVMe's cdev bound, attached, mapped and unmapped"
expect '^\[       OK \] test_real_pci$' "the pci bus adds the NVMe and reads CAP and VS"
expect '^exit-iommufd=0$' "test_iommufd passes in the guest"
expect '^exit-pci=0$' "test_pci passes in the guest"
if grep -q 'SKIPPED' "$out"; then
	echo "FAIL a real-kernel case skipped in the guest"
	status=1
fi
exit $status
