#!/bin/busybox sh
# SPDX-License-Identifier: BSD-3-Clause
#
# /init of the test/vm guest (busybox).  Loads the modules, mounts the host's
# root (read-only 9p) at /host and the run folder (writable 9p) at the same
# path inside it, hands the NVMe and virtio-net devices to vfio-pci (or to the
# kernel's drivers: svio.vfio=), runs the run folder's cmd.sh in the host root
# and writes its output and exit status back to the run folder.  Always powers
# off, so a run is bounded by QEMU.

/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

say() { echo "guest: $*" >/dev/console; }

halt() {
	sync
	poweroff -f
	sleep 5
}

load() {
	for m in $(cat "/lib/modules/$1.list"); do
		insmod "/lib/modules/$m" || say "insmod $m failed"
	done
}
load base

run=
vfio=all
for arg in $(cat /proc/cmdline); do
	case $arg in
	svio.run=*) run=${arg#svio.run=} ;;
	svio.vfio=*) vfio=${arg#svio.vfio=} ;;
	esac
done
[ -n "$run" ] || {
	say "no svio.run= on the kernel command line"
	halt
}

# A large msize makes loading host binaries and libraries over 9p quick.
opts=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o "$opts,ro,cache=loose" hostroot /host || {
	say "cannot mount the host root"
	halt
}
mount --bind /proc /host/proc
mount --bind /sys /host/sys
mount --bind /dev /host/dev
# The host's /tmp stays visible (test binaries may live there) and writable:
# an overlay with the guest's changes in memory.
mkdir -p /mnt/tmp
mount -t tmpfs tmpo /mnt/tmp
mkdir -p /mnt/tmp/upper /mnt/tmp/work
mount -t overlay -o lowerdir=/host/tmp,upperdir=/mnt/tmp/upper,workdir=/mnt/tmp/work \
	tmp /host/tmp || mount -t tmpfs tmp /host/tmp
mount -t tmpfs run /host/run
mkdir -p /host/dev/shm /host/dev/pts /host/dev/hugepages
mount -t tmpfs shm /host/dev/shm
mount -t devpts pts /host/dev/pts
mount -t hugetlbfs huge /host/dev/hugepages
# Last, so that no mount above hides it (the run folder may be under /tmp).
mount -t 9p -o "$opts" results "/host$run" || {
	say "cannot mount the run folder $run"
	halt
}

# Hand a device to vfio-pci: driver_override first, so no other driver takes
# it, then unbind from whatever driver already holds it (virtio-pci is built
# into the kernel) and reprobe.
to_vfio() {
	d=/sys/bus/pci/devices/$1
	echo vfio-pci >"$d/driver_override"
	[ -e "$d/driver" ] && echo "$1" >"$d/driver/unbind"
	echo "$1" >/sys/bus/pci/drivers_probe
	[ "$(basename "$(readlink "$d/driver")")" = vfio-pci ] || say "$1 did not bind to vfio-pci"
}

# svio.vfio=all: NVMe and virtio-net to vfio-pci; nvme: only the NVMe, the
# kernel's virtio_net drives the ports; none: kernel drivers for both.
nvme=
net=
for d in /sys/bus/pci/devices/*; do
	bdf=$(basename "$d")
	class=$(cat "$d/class")
	id=$(cat "$d/vendor"):$(cat "$d/device")
	if [ "$class" = 0x010802 ]; then
		[ "$vfio" = none ] || to_vfio "$bdf"
		nvme="$nvme $bdf"
	elif [ "$id" = 0x1af4:0x1041 ]; then
		[ "$vfio" = all ] && to_vfio "$bdf"
		net="$net $bdf"
	fi
done
[ "$vfio" = all ] || load net
[ "$vfio" = none ] && load nvme
# shellcheck disable=SC2086 # split the lists into words
set -- $nvme
export SVIO_VM_NVME="${1:-}"
# shellcheck disable=SC2086
set -- $net
export SVIO_VM_NET0="${1:-}"
export SVIO_VM_NET1="${2:-}"
{
	echo "SVIO_VM_NVME=$SVIO_VM_NVME"
	echo "SVIO_VM_NET0=$SVIO_VM_NET0"
	echo "SVIO_VM_NET1=$SVIO_VM_NET1"
} >"/host$run/devices"

export HOME=/tmp
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export SVIO_VM_GUEST=1
say "running $run/cmd.sh"
# The host stamps these files with its own clock, which is also the clock of
# QEMU's trace: run.sh counts the invalidations between the two.
(
	: >"/host$run/cmd-start"
	chroot /host /bin/bash "$run/cmd.sh"
	rc=$?
	: >"/host$run/cmd-end"
	echo $rc >"/host$run/status"
) 2>&1 | tee "/host$run/output" >/dev/console
halt
