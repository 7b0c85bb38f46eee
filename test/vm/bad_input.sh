#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bad_input.sh SVIO_PERF: on a real kernel, the mistakes a user makes with real
# devices get the documented errors and a non-zero exit: a controller still
# bound to the kernel's nvme driver (the message says how to bind it to
# vfio-pci), a PCI address with no device behind it, and a malformed address;
# then, on a controller configured as users do (mdts=1, namespace 1 with
# separate metadata, nvme-ns ms=8,mset=0, namespace 2 plain), a namespace
# format the driver cannot drive and a --bs above MDTS.
# Exit status: 0 pass, 77 skip (as check.sh), anything else a failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
perf=$(realpath "$1")
export SVIO_VM_CACHE=${SVIO_VM_CACHE:-$here/cache}

source "$here/guest_prepare.sh"
vm_prepare bad_input

out=$(mktemp)
trap 'rm -f "$out"' EXIT
eal="--no-huge -m 256 --no-shconf --no-telemetry --log-level=*:warning --iommu iommufd"
# Every device stays with its kernel driver: nothing is bound to vfio-pci.
# shellcheck disable=SC2016 # $SVIO_VM_NVME is expanded inside the guest
SVIO_VM_VFIO=none "$here/run.sh" sh -c "
	$perf $eal -a \$SVIO_VM_NVME -- --runtime=1; echo \"exit-unbound=\$?\"
	$perf $eal -a 0000:00:1f.7 -- --runtime=1; echo \"exit-missing=\$?\"
	$perf $eal -a 0000:00:99.0 -- --runtime=1; echo \"exit-malformed=\$?\"
" >"$out" 2>&1
# Separate metadata (MPTR) is refused by name, the other namespace still
# runs; asking for the refused one, or a --bs above 8 KiB, fails up front.
# shellcheck disable=SC2016 # $SVIO_VM_NVME is expanded inside the guest
SVIO_VM_VFIO=nvme SVIO_VM_NVME_ARGS=mdts=1 SVIO_VM_NVME_NS="ms=8,mset=0 default" \
	"$here/run.sh" sh -c "
	$perf $eal -a \$SVIO_VM_NVME -- --runtime=1 --rw=randrw --verify=crc32c --size=8M
	echo \"exit-other-ns=\$?\"
	$perf $eal -a \$SVIO_VM_NVME -- --ns=1 --runtime=1; echo \"exit-refused-ns=\$?\"
	$perf $eal -a \$SVIO_VM_NVME -- --bs=16k --runtime=1; echo \"exit-mdts=\$?\"
" >>"$out" 2>&1
cat "$out"

status=0
expect() { # expect PATTERN WHAT
	if grep -Eq -e "$1" "$out"; then
		echo "ok   $2"
	else
		echo "FAIL $2"
		status=1
	fi
}
expect "is bound to nvme, not to vfio-pci" "a device on the kernel's driver is named"
expect "echo vfio-pci > /sys/bus/pci/devices/[0-9a-f:.]+/driver_override" \
	"... with the commands that bind it to vfio-pci"
expect "0000:00:1f.7: no such PCI device" "a PCI address with no device behind it"
expect "0000:00:99.0: not a PCI address" "a malformed PCI address"
expect "namespace 1: LBA format [0-9]+ \(512-byte data, 8-byte separate metadata\): metadata in a separate buffer \(MPTR\) is not supported" \
	"separate metadata (mset=0) is refused, naming the format"
expect "exit-other-ns=0" "... and the controller's other namespace runs clean"
expect "--ns=1: [0-9a-f:.]+ namespace 1 has a format the driver cannot drive" \
	"asking for the refused namespace names it"
expect "--bs=16k is larger than [0-9a-f:.]+'s maximum transfer size of 8k per command \(MDTS" \
	"a --bs above MDTS (mdts=1) is refused before any I/O"
for what in unbound missing malformed refused-ns mdts; do
	expect "exit-$what=[1-9]" "svio-perf exits non-zero ($what)"
done
exit $status
