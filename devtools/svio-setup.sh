#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Prepare a Linux machine for svio's PMDs on real devices, and undo it:
#
#   svio-setup.sh status          devices svio can drive, their drivers and cdevs,
#                                 iommufd and hugepages
#   svio-setup.sh config [BDF..]  load iommufd and vfio-pci, hand the devices to
#                                 vfio-pci, reserve hugepages (HUGEMEM)
#   svio-setup.sh reset  [BDF..]  give the devices back to their kernel drivers
#
# Without BDFs, config and reset take every NVMe controller and virtio-net
# device that is not in use (a mounted or swapped-on namespace, an interface that
# is up), or the ones PCI_ALLOWED lists.  A device in use is skipped with the
# reason; FORCE=1 takes it anyway.
#
# Environment:
#   HUGEMEM=MiB        hugepage memory to reserve at config (default: leave as is)
#   HUGE_MOUNT=DIR     hugetlbfs mount point (default /dev/hugepages)
#   PCI_ALLOWED="..."  only these devices;  PCI_BLOCKED="..." never these
#   DRY_RUN=1          print the sysfs writes instead of making them
#   SVIO_SETUP_SYSFS, SVIO_SETUP_DEV
#                      sysfs and /dev roots (default /sys, /dev; tests point
#                      them at a fake tree)
#
# Exit status: 0 done, 1 something failed (each failure is named), 2 bad usage.
set -uo pipefail

sys=${SVIO_SETUP_SYSFS:-/sys}
dev=${SVIO_SETUP_DEV:-/dev}
pci=$sys/bus/pci
dry=${DRY_RUN:-0}
force=${FORCE:-0}
status=0

say() { printf '%s\n' "$*"; }
fail() {
	printf 'svio-setup: %s\n' "$*" >&2
	status=1
}

usage() {
	sed -n '4,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}

# put VALUE FILE: one sysfs write, or its description under DRY_RUN.
put() {
	if [ "$dry" = 1 ]; then
		say "write '$1' > $2"
		return 0
	fi
	if ! printf '%s\n' "$1" 2>/dev/null >"$2"; then
		fail "cannot write '$1' to $2 (root needed?)"
		return 1
	fi
}

attr() { cat "$pci/devices/$1/$2" 2>/dev/null; }
driver_of() {
	local l
	l=$(readlink "$pci/devices/$1/driver" 2>/dev/null) || return 0
	basename "$l"
}

# kind_of BDF: nvme, virtio-net or nothing (a device svio does not drive).
kind_of() {
	local class id
	class=$(attr "$1" class)
	id=$(attr "$1" vendor):$(attr "$1" device)
	if [ "$class" = 0x010802 ]; then
		echo nvme
	elif [ "$id" = 0x1af4:0x1041 ] || [ "$id" = 0x1af4:0x1000 ]; then
		echo virtio-net
	fi
}

# What the kernel built on the device: block devices of an NVMe controller,
# interfaces of a network device.
block_devs_of() {
	local d
	for d in "$pci/devices/$1"/nvme/nvme*/nvme*n* "$pci/devices/$1"/nvme/nvme*/nvme*n*/nvme*n*p*; do
		[ -e "$d/dev" ] && basename "$d"
	done
}
netdevs_of() {
	local d
	for d in "$pci/devices/$1"/net/* "$pci/devices/$1"/virtio*/net/*; do
		[ -d "$d" ] && basename "$d"
	done
}

# in_use BDF: prints why the device must not be taken, nothing when it is free.
in_use() {
	local b n flags
	for b in $(block_devs_of "$1"); do
		if grep -q "^/dev/$b " /proc/mounts 2>/dev/null; then
			echo "/dev/$b is mounted"
			return
		fi
		if grep -q "^/dev/$b " /proc/swaps 2>/dev/null; then
			echo "/dev/$b is swap"
			return
		fi
		if [ -n "$(ls -A "$sys/class/block/$b/holders" 2>/dev/null)" ]; then
			echo "/dev/$b is held by $(ls "$sys/class/block/$b/holders" | tr '\n' ' ')"
			return
		fi
	done
	for n in $(netdevs_of "$1"); do
		flags=$(cat "$sys/class/net/$n/flags" 2>/dev/null || echo 0)
		if (((flags & 1) != 0)); then
			echo "interface $n is up"
			return
		fi
	done
}

listed() { # listed BDF "LIST"
	local x
	for x in $2; do
		[ "$x" = "$1" ] && return 0
	done
	return 1
}

# The devices a command acts on, into targets[]: those named, else every
# device svio drives (PCI_ALLOWED and PCI_BLOCKED applied).  Not in a
# subshell, so that a bad name sets the exit status.
targets=()
select_devices() {
	local d bdf
	targets=()
	if [ $# -gt 0 ]; then
		for bdf in "$@"; do
			case $bdf in
			[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]) bdf=0000:$bdf ;;
			esac
			if [ ! -d "$pci/devices/$bdf" ]; then
				fail "$bdf: no such PCI device"
				continue
			fi
			if [ -z "$(kind_of "$bdf")" ]; then
				fail "$bdf: not an NVMe controller or virtio-net device"
				continue
			fi
			targets+=("$bdf")
		done
		return
	fi
	for d in "$pci/devices"/*; do
		[ -d "$d" ] || continue
		bdf=$(basename "$d")
		[ -n "$(kind_of "$bdf")" ] || continue
		[ -n "${PCI_ALLOWED:-}" ] && ! listed "$bdf" "$PCI_ALLOWED" && continue
		listed "$bdf" "${PCI_BLOCKED:-}" && continue
		targets+=("$bdf")
	done
}

load_modules() {
	[ "$dry" = 1 ] && return 0
	if [ ! -e "$dev/iommu" ]; then
		modprobe iommufd 2>/dev/null
		[ -e "$dev/iommu" ] || fail "no /dev/iommu: the kernel needs CONFIG_IOMMUFD (modprobe iommufd failed)"
	fi
	if [ ! -d "$pci/drivers/vfio-pci" ]; then
		modprobe vfio-pci 2>/dev/null
		[ -d "$pci/drivers/vfio-pci" ] || fail "no vfio-pci driver (modprobe vfio-pci failed)"
	fi
}

# wait_driver BDF DRIVER: the kernel probes asynchronously on some buses.
wait_driver() {
	local i
	[ "$dry" = 1 ] && return 0
	for ((i = 0; i < 50; i++)); do
		[ "$(driver_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

to_vfio() {
	local bdf=$1 why cur
	cur=$(driver_of "$bdf")
	if [ "$cur" = vfio-pci ]; then
		say "$bdf: already on vfio-pci"
		return
	fi
	why=$(in_use "$bdf")
	if [ -n "$why" ] && [ "$force" != 1 ]; then
		say "$bdf: skipped, $why (FORCE=1 takes it anyway)"
		return
	fi
	# driver_override first, so no other driver takes the device between the
	# unbind and the probe.
	put vfio-pci "$pci/devices/$bdf/driver_override" || return
	if [ -n "$cur" ]; then
		put "$bdf" "$pci/drivers/$cur/unbind" || return
	fi
	put "$bdf" "$pci/drivers_probe" || return
	if ! wait_driver "$bdf" vfio-pci; then
		fail "$bdf did not bind to vfio-pci (driver: ${cur:-none}; see dmesg)"
		return
	fi
	[ "$dry" = 1 ] || say "$bdf: $(kind_of "$bdf") ${cur:-unbound} -> vfio-pci, cdev $(cdev_of "$bdf")"
}

to_kernel() {
	local bdf=$1 cur
	cur=$(driver_of "$bdf")
	put "" "$pci/devices/$bdf/driver_override" || return
	if [ "$cur" = vfio-pci ]; then
		put "$bdf" "$pci/drivers/vfio-pci/unbind" || return
	fi
	put "$bdf" "$pci/drivers_probe" || return
	[ "$dry" = 1 ] && return
	local i now=
	for ((i = 0; i < 50; i++)); do
		now=$(driver_of "$bdf")
		[ -n "$now" ] && [ "$now" != vfio-pci ] && break
		sleep 0.1
	done
	if [ -z "$now" ] || [ "$now" = vfio-pci ]; then
		# Not an error: the kernel driver may simply not be loaded.
		say "$bdf: ${cur:-unbound} -> no driver (load the kernel's driver, e.g. modprobe nvme)"
	else
		say "$bdf: ${cur:-unbound} -> $now"
	fi
}

cdev_of() {
	local c
	for c in "$pci/devices/$1"/vfio-dev/vfio*; do
		[ -e "$c" ] && {
			echo "$dev/vfio/devices/$(basename "$c")"
			return
		}
	done
	echo none
}

hugepages() {
	local mib=${HUGEMEM:-} mnt=${HUGE_MOUNT:-/dev/hugepages} size_kb pages
	[ -n "$mib" ] || return 0
	case $mib in
	'' | *[!0-9]*)
		fail "HUGEMEM must be a number of MiB, not '$mib'"
		return
		;;
	esac
	size_kb=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
	[ -n "$size_kb" ] || {
		fail "no hugepage support in this kernel (no Hugepagesize in /proc/meminfo)"
		return
	}
	pages=$(((mib * 1024 + size_kb - 1) / size_kb))
	put "$pages" "$sys/kernel/mm/hugepages/hugepages-${size_kb}kB/nr_hugepages" || return
	[ "$dry" = 1 ] && return
	local got
	got=$(cat "$sys/kernel/mm/hugepages/hugepages-${size_kb}kB/nr_hugepages")
	[ "$got" -ge "$pages" ] ||
		fail "asked for $pages hugepages of ${size_kb} kB, the kernel gave $got (memory fragmented? reserve at boot: hugepages=$pages)"
	if ! grep -q " $mnt hugetlbfs " /proc/mounts; then
		mkdir -p "$mnt" && mount -t hugetlbfs nodev "$mnt" ||
			fail "cannot mount hugetlbfs on $mnt"
	fi
	say "hugepages: $got x ${size_kb} kB on $mnt"
}

show_status() {
	local bdf kind drv extra
	if [ -e "$dev/iommu" ]; then
		say "iommufd: /dev/iommu present"
	else
		say "iommufd: no /dev/iommu (modprobe iommufd, CONFIG_IOMMUFD)"
	fi
	awk '/^HugePages_Total:/ { t = $2 } /^HugePages_Free:/ { f = $2 }
		/^Hugepagesize:/ { s = $2 }
		END { printf "hugepages: %d of %d free (%d kB each)\n", f, t, s }' /proc/meminfo
	printf '%-13s %-11s %-10s %-4s %-10s %-22s %s\n' BDF ID KIND NUMA DRIVER CDEV "KERNEL DEVICES"
	select_devices "$@"
	for bdf in "${targets[@]}"; do
		kind=$(kind_of "$bdf")
		drv=$(driver_of "$bdf")
		if [ "$kind" = nvme ]; then
			extra=$(block_devs_of "$bdf" | tr '\n' ' ')
		else
			extra=$(netdevs_of "$bdf" | tr '\n' ' ')
		fi
		printf '%-13s %-11s %-10s %-4s %-10s %-22s %s\n' "$bdf" \
			"$(attr "$bdf" vendor | sed 's/^0x//'):$(attr "$bdf" device | sed 's/^0x//')" \
			"$kind" "$(attr "$bdf" numa_node)" "${drv:--}" "$(cdev_of "$bdf")" "${extra:--}"
	done
}

cmd=${1:-status}
[ $# -gt 0 ] && shift
case $cmd in
status) show_status "$@" ;;
config)
	load_modules
	select_devices "$@"
	for bdf in "${targets[@]}"; do
		to_vfio "$bdf"
	done
	hugepages
	;;
reset)
	select_devices "$@"
	for bdf in "${targets[@]}"; do
		to_kernel "$bdf"
	done
	;;
help | -h | --help) usage 0 ;;
*)
	printf 'svio-setup: unknown command "%s"\n' "$cmd" >&2
	usage
	;;
esac
exit $status
