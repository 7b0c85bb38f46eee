#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# setup_script.sh SVIO_SETUP: devtools/svio-setup.sh against a fake sysfs tree
# whose "kernel" (a loop below) binds a device to its driver_override, or to
# its own driver, when the device is written to drivers_probe, and unbinds it
# when it is written to a driver's unbind.  Checks which devices config takes
# and skips (in use, blocked, not svio's), the order of the writes, reset,
# and the errors for bad names.
set -uo pipefail

setup=$(realpath "$1")
t=$(mktemp -d)
kernel_pid=
trap '[ -n "$kernel_pid" ] && kill "$kernel_pid" 2>/dev/null; rm -rf "$t"' EXIT
sys=$t/sys
pci=$sys/bus/pci
mkdir -p "$pci/devices" "$pci/drivers/nvme" "$pci/drivers/virtio-pci" \
	"$pci/drivers/vfio-pci" "$t/dev"
: >"$t/dev/iommu"
: >"$pci/drivers_probe"
for d in nvme virtio-pci vfio-pci; do : >"$pci/drivers/$d/unbind"; done

# mkdev BDF VENDOR DEVICE CLASS DRIVER
mkdev() {
	local d=$pci/devices/$1
	mkdir -p "$d"
	echo "$2" >"$d/vendor"
	echo "$3" >"$d/device"
	echo "$4" >"$d/class"
	echo 0 >"$d/numa_node"
	: >"$d/driver_override"
	echo "$5" >"$d/.native"
	ln -s "../../drivers/$5" "$d/driver"
}
mkdev 0000:01:00.0 0x1b36 0x0010 0x010802 nvme # free
mkdir -p "$pci/devices/0000:01:00.0/nvme/nvme0/nvme0n1" && : >"$pci/devices/0000:01:00.0/nvme/nvme0/nvme0n1/dev"
mkdev 0000:02:00.0 0x1b36 0x0010 0x010802 nvme # under device-mapper
mkdir -p "$pci/devices/0000:02:00.0/nvme/nvme1/nvme1n1" "$sys/class/block/nvme1n1/holders/dm-0"
: >"$pci/devices/0000:02:00.0/nvme/nvme1/nvme1n1/dev"
mkdev 0000:03:00.0 0x1af4 0x1041 0x020000 virtio-pci # interface up
mkdir -p "$pci/devices/0000:03:00.0/virtio0/net/ens3" "$sys/class/net/ens3"
echo 0x1003 >"$sys/class/net/ens3/flags"
mkdev 0000:04:00.0 0x1af4 0x1041 0x020000 virtio-pci # interface down
mkdir -p "$pci/devices/0000:04:00.0/virtio1/net/ens4" "$sys/class/net/ens4"
echo 0x1002 >"$sys/class/net/ens4/flags"
mkdev 0000:05:00.0 0x1234 0x1111 0x030000 virtio-pci # not svio's

# The fake kernel: unbinds, then probes, as the writes arrive.  An unbind is
# written before its probe, so reading the unbinds again after a probe was
# seen catches one that arrived in between.  take FILE: a write, into b, moved
# away first so that a write arriving meanwhile makes a new file, not lost.
take() {
	[ -s "$1" ] || return 1
	mv "$1" "$1.taken"
	b=$(cat "$1.taken")
	[ -n "$b" ]
}
unbinds() {
	local d
	for d in "$pci"/drivers/*; do
		take "$d/unbind" && rm -f "$pci/devices/$b/driver"
	done
}
kernel() {
	local b d ov n=0
	while :; do
		unbinds
		if take "$pci/drivers_probe"; then
			ov=$b
			unbinds
			b=$ov
			d=$pci/devices/$b
			if [ ! -e "$d/driver" ]; then
				ov=$(cat "$d/driver_override")
				[ -n "$ov" ] || ov=$(cat "$d/.native")
				ln -s "../../drivers/$ov" "$d/driver"
				if [ "$ov" = vfio-pci ]; then
					mkdir -p "$d/vfio-dev/vfio$n"
					n=$((n + 1))
				else
					rm -rf "$d/vfio-dev"
				fi
			fi
		fi
		sleep 0.02
	done
}
kernel &
kernel_pid=$!

export SVIO_SETUP_SYSFS=$sys SVIO_SETUP_DEV=$t/dev
fails=0
check() { # check WHAT COMMAND...: the command must succeed
	if "${@:2}"; then
		echo "ok   $1"
	else
		echo "FAIL $1"
		fails=$((fails + 1))
	fi
}
driver() { basename "$(readlink "$pci/devices/$1/driver")"; }
run() { # run OUT RC-FILE ARGS...: svio-setup.sh's output and status
	local out=$1 rcf=$2
	shift 2
	"$setup" "$@" >"$out" 2>&1
	echo $? >"$rcf"
	cat "$out"
}

run "$t/st" "$t/rc" status
check "status lists the four devices svio drives" test "$(grep -c '^0000:0[1-4]' "$t/st")" = 4
check "status leaves out other devices" test "$(grep -c '^0000:05' "$t/st")" = 0
check "status shows the kernel's block devices and interfaces" \
	grep -q 'nvme0n1' "$t/st"

DRY_RUN=1 run "$t/dry" "$t/rc" config 0000:01:00.0
check "dry run: override, unbind, probe in that order" diff -u - "$t/dry" <<EOF
write 'vfio-pci' > $pci/devices/0000:01:00.0/driver_override
write '0000:01:00.0' > $pci/drivers/nvme/unbind
write '0000:01:00.0' > $pci/drivers_probe
EOF
check "dry run changed nothing" test "$(driver 0000:01:00.0)" = nvme

PCI_BLOCKED=0000:04:00.0 run "$t/blk" "$t/rc" config
check "blocked device untouched" test "$(driver 0000:04:00.0)" = virtio-pci
run "$t/cfg" "$t/rc" config
check "config succeeds" test "$(cat "$t/rc")" = 0
check "a free NVMe goes to vfio-pci" test "$(driver 0000:01:00.0)" = vfio-pci
check "a down virtio-net goes to vfio-pci" test "$(driver 0000:04:00.0)" = vfio-pci
check "an NVMe under device-mapper is skipped, with the reason" \
	grep -q '0000:02:00.0: skipped, /dev/nvme1n1 is held by dm-0' "$t/cfg"
check "... and stays on nvme" test "$(driver 0000:02:00.0)" = nvme
check "an interface that is up is skipped, with the reason" \
	grep -q '0000:03:00.0: skipped, interface ens3 is up' "$t/cfg"
check "config names the cdev" grep -q "0000:04:00.0: virtio-net virtio-pci -> vfio-pci, cdev $t/dev/vfio/devices/vfio" "$t/cfg"
check "another device's driver untouched" test "$(driver 0000:05:00.0)" = virtio-pci
FORCE=1 run "$t/frc" "$t/rc" config 03:00.0
check "FORCE=1 takes a device in use (short BDF)" test "$(driver 0000:03:00.0)" = vfio-pci

run "$t/bad" "$t/rc" config 0000:05:00.0 0000:09:00.0
check "bad names: non-zero exit" test "$(cat "$t/rc")" = 1
check "... naming a device svio does not drive" \
	grep -q '0000:05:00.0: not an NVMe controller or virtio-net device' "$t/bad"
check "... and a missing one" grep -q '0000:09:00.0: no such PCI device' "$t/bad"
HUGEMEM=lots run "$t/huge" "$t/rc" config 0000:01:00.0
check "HUGEMEM not a number: non-zero exit, named" \
	sh -c "[ $(cat "$t/rc") = 1 ] && grep -q \"HUGEMEM must be a number of MiB, not 'lots'\" $t/huge"

run "$t/rst" "$t/rc" reset
check "reset succeeds" test "$(cat "$t/rc")" = 0
for b in 0000:01:00.0 0000:03:00.0 0000:04:00.0; do
	check "reset gives $b back to its driver" test "$(driver "$b")" = "$(cat "$pci/devices/$b/.native")"
	check "... and clears its driver_override" test -z "$(cat "$pci/devices/$b/driver_override")"
done
run "$t/x" "$t/rc" frobnicate
check "unknown command: exit 2" test "$(cat "$t/rc")" = 2

[ $fails -eq 0 ] || {
	echo "$fails check(s) failed"
	exit 1
}
