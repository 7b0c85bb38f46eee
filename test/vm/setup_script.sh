#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# setup_script.sh SVIO_PERF: devtools/svio-setup.sh on a real kernel.  The
# guest's NVMe starts on the kernel's nvme driver; config hands it to vfio-pci
# (svio-perf then drives it through iommufd), reset gives it back to nvme.
# Exit status: 0 pass, 77 skip (as check.sh), anything else a failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
perf=$(realpath "$1")
setup=$(realpath "$here/../../devtools/svio-setup.sh")
export SVIO_VM_CACHE=${SVIO_VM_CACHE:-$here/cache}

source "$here/guest_prepare.sh"
vm_prepare setup_script

out=$(mktemp)
trap 'rm -f "$out"' EXIT
eal="--no-huge -m 256 --no-shconf --no-telemetry --log-level=*:warning --iommu iommufd"
drv='basename $(readlink /sys/bus/pci/devices/$SVIO_VM_NVME/driver)'
# shellcheck disable=SC2016 # expanded inside the guest
SVIO_VM_VFIO=none "$here/run.sh" sh -c "
	echo \"before=\$($drv)\"
	$setup status
	HUGEMEM=32 $setup config \$SVIO_VM_NVME; echo \"exit-config=\$?\"
	echo \"configured=\$($drv)\"
	$setup status \$SVIO_VM_NVME
	$perf $eal -a \$SVIO_VM_NVME -- --rw=randrw --bs=4k --iodepth=8 --runtime=1 \
		--verify=crc32c --output-format=json >\$SVIO_VM_RUN/perf.json; echo \"exit-perf=\$?\"
	$setup reset \$SVIO_VM_NVME; echo \"exit-reset=\$?\"
	echo \"after=\$($drv)\"
	ls /sys/bus/pci/devices/\$SVIO_VM_NVME/nvme
" >"$out" 2>&1
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
expect "^before=nvme$" "the NVMe starts on the kernel's driver"
expect "iommufd: /dev/iommu present" "status sees iommufd"
expect "^[0-9a-f:.]+ +[0-9a-f]{4}:[0-9a-f]{4} +nvme +[-0-9]+ +nvme +none +nvme0n1" \
	"status lists the controller, its driver and its namespace"
expect "nvme nvme -> vfio-pci, cdev /dev/vfio/devices/vfio[0-9]+" "config names the cdev"
expect "hugepages: 16 x 2048 kB on /dev/hugepages" "config reserves HUGEMEM"
expect "^exit-config=0$" "config succeeds"
expect "^configured=vfio-pci$" "the NVMe is on vfio-pci"
expect "^exit-perf=0$" "svio-perf drives it through iommufd, verified"
expect "vfio-pci -> nvme$" "reset names the kernel driver that took it"
expect "^exit-reset=0$" "reset succeeds"
expect "^after=nvme$" "the NVMe is back on the kernel's driver"
expect "^nvme[0-9]+$" "... which made a controller again"
exit $status
