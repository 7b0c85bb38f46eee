#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run.sh CMD [ARG...]: boot the test/vm guest under QEMU (TCG), run CMD inside
# it and exit with CMD's exit status.  CMD is a host path (the guest sees the
# host's root, read-only), run from the current folder.  The guest has an
# intel-iommu (scalable mode, device-IOTLB), an NVMe controller and two
# virtio-net devices on one QEMU hub (what one sends, the other receives), all
# bound to vfio-pci; their addresses are in SVIO_VM_NVME, SVIO_VM_NET0 and
# SVIO_VM_NET1.  The run folder (SVIO_VM_RUN inside the guest) is writable.
#
# Prints CMD's output, then one JSON line with the number of invalidation
# descriptors the guest's IOMMU driver issued, by type, while CMD ran ("cmd")
# and over the whole boot ("run"); see inv-summary.sh.
#
# Environment: SVIO_VM_TIMEOUT (seconds for the whole run, default 600),
# SVIO_VM_BOOT_TIMEOUT (seconds until CMD starts, default 120),
# SVIO_VM_BOOT_TRIES (boots that fail before CMD starts are retried, default
# 3 boots), SVIO_VM_VERBOSE=1
# (stream the serial console), SVIO_VM_KEEP=1 (keep the run folder; a failed
# boot always keeps it),
# SVIO_VM_CACHE (cache folder), SVIO_VM_APPEND (extra kernel arguments),
# SVIO_VM_NET_WIRE=hub|socket (what joins the two virtio-net ports, below),
# SVIO_VM_DISK (raw image behind the NVMe; default a fresh 64 MiB one),
# SVIO_VM_NVME_ARGS (more properties of the NVMe controller, e.g. mdts=1),
# SVIO_VM_NVME_NS (the controller's namespaces as nvme-ns devices, one word of
# properties each, "default" for none, e.g. "ms=8,mset=1 default": namespace 1
# with 8 bytes of metadata inside each block, namespace 2 plain; the first on
# SVIO_VM_DISK, each other on a fresh 64 MiB disk),
# SVIO_VM_VFIO=all|nvme|none (which devices go to vfio-pci: all, only the
# NVMe, or none; the others get the kernel's virtio_net / nvme drivers).
# SVIO_VM_NET0_PROPS, SVIO_VM_NET1_PROPS (more properties of the virtio-net
# device behind SVIO_VM_NET0 / SVIO_VM_NET1, e.g. rx_queue_size=1024; QEMU 7.2
# keeps transmit queues at 256 entries on every backend but vhost).
#
# Inside the guest the host's root is read-only, except the run folder and
# /tmp (an overlay on the host's /tmp: host files are visible, writes stay in
# the guest); /run and /dev/shm are empty tmpfs, /dev/hugepages is mounted.
#
# Exit status: CMD's, or 124 when the run timed out, 125 when the guest did
# not run CMD (the console log is printed), 77 when prepare.sh skipped.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SVIO_VM_CACHE:-$here/cache}
timeout_s=${SVIO_VM_TIMEOUT:-600}
boot_timeout_s=${SVIO_VM_BOOT_TIMEOUT:-120}
boot_tries=${SVIO_VM_BOOT_TRIES:-3}
vfio=${SVIO_VM_VFIO:-all}
case $vfio in
all | nvme | none) ;;
*)
	echo "run.sh: SVIO_VM_VFIO must be all, nvme or none, not '$vfio'" >&2
	exit 2
	;;
esac

if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
fi

rc=0
SVIO_VM_CACHE=$cache "$here/prepare.sh" || rc=$?
[ $rc -eq 0 ] || exit $rc

kver=$(cat "$cache/ready")
mkdir -p "$cache/runs"
run=$(mktemp -d "$cache/runs/run.XXXXXX")
# A run whose guest failed stays for inspection (console.log, qemu.log).
cleanup() {
	if [ "${SVIO_VM_KEEP:-0}" = 1 ] || [ ! -s "$run/status" ]; then
		echo "run.sh: run folder kept: $run" >&2
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT

{
	echo "export SVIO_VM_RUN=$(printf '%q' "$run")"
	echo ". $(printf '%q' "$run")/devices"
	echo "export SVIO_VM_NVME SVIO_VM_NET0 SVIO_VM_NET1"
	echo "cd $(printf '%q' "$PWD") || exit 125"
	printf '%q ' "$@"
	echo
} >"$run/cmd.sh"

# A fresh sparse disk per run, so that runs may go in parallel.
disk=${SVIO_VM_DISK:-$run/nvme.img}
[ -e "$disk" ] || truncate -s 64M "$disk"

# The NVMe controller: its own drive, or nvme-ns devices on it.
nvme=(-drive "file=$disk,if=none,id=nvm0,format=raw"
	-device "nvme,serial=svio-vm-0,drive=nvm0${SVIO_VM_NVME_ARGS:+,$SVIO_VM_NVME_ARGS}")
if [ -n "${SVIO_VM_NVME_NS:-}" ]; then
	nvme=(-device "nvme,id=nvme0,serial=svio-vm-0${SVIO_VM_NVME_ARGS:+,$SVIO_VM_NVME_ARGS}")
	nsid=0
	for props in $SVIO_VM_NVME_NS; do
		nsid=$((nsid + 1))
		nsdisk=$disk
		if [ $nsid -gt 1 ]; then
			nsdisk=$run/nvme-$nsid.img
			truncate -s 64M "$nsdisk"
		fi
		[ "$props" = default ] && props="" || props=",$props"
		nvme+=(-drive "file=$nsdisk,if=none,id=nvm$nsid,format=raw"
			-device "nvme-ns,bus=nvme0,drive=nvm$nsid,nsid=$nsid$props")
	done
fi

serial=(-serial "file:$run/console.log")
[ "${SVIO_VM_VERBOSE:-0}" = 1 ] && serial=(-serial stdio)

# What joins the two virtio-net ports (what one sends, the other receives).
# hub (default): QEMU's hub. It drops frames when a receiver's ring runs dry
# under a burst (its incoming queue holds 10000 frames). socket: a TCP
# connection on the loopback between two socket netdevs, flow-controlled end
# to end, so nothing is lost; the port is one the kernel had free.
case ${SVIO_VM_NET_WIRE:-hub} in
hub)
	wire=(-netdev hubport,id=hub1,hubid=0 -netdev hubport,id=hub2,hubid=0)
	;;
socket)
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || {
		echo "run.sh: SVIO_VM_NET_WIRE=socket needs python3 to pick a free port" >&2
		exit 2
	}
	wire=(-netdev "socket,id=hub1,listen=127.0.0.1:$port"
		-netdev "socket,id=hub2,connect=127.0.0.1:$port")
	;;
*)
	echo "run.sh: SVIO_VM_NET_WIRE must be hub or socket, not '$SVIO_VM_NET_WIRE'" >&2
	exit 2
	;;
esac

# net N PROPS: the device on root port N (the guest's SVIO_VM_NET<N-1>).
net() {
	echo "virtio-net-pci,bus=rp$1,disable-legacy=on,iommu_platform=on,ats=on,netdev=hub$1,mac=52:54:00:5e:00:0$1${2:+,$2}"
}

# tsc=unstable: the kernel never marks sched_clock stable, so it never patches
# that static branch while the other vCPU runs it (such cross-vCPU code
# patching under multi-threaded TCG now and then crashed the guest).
append="console=ttyS0 quiet panic=-1 intel_iommu=on iommu=nopt tsc=unstable"
append+=" svio.run=$run svio.vfio=$vfio ${SVIO_VM_APPEND:-}"

qemu=(qemu-system-x86_64
	-accel tcg,thread=multi -machine q35 -cpu max -m 2G -smp 2
	-nodefaults -display none -monitor none -no-reboot -msg timestamp=on "${serial[@]}"
	-kernel "$cache/root/boot/vmlinuz-$kver"
	-initrd "$cache/initramfs.cpio.gz"
	-append "$append"
	# The vIOMMU goes first so it sits in front of every device after it;
	# 48-bit addresses so that IOVA = VA fits user-space addresses.
	-device intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=on,device-iotlb=on,aw-bits=48
	"${nvme[@]}"
	# ATS needs the devices behind PCIe root ports.
	-device pcie-root-port,id=rp1,chassis=1,slot=1
	-device pcie-root-port,id=rp2,chassis=2,slot=2
	"${wire[@]}"
	-device "$(net 1 "${SVIO_VM_NET0_PROPS:-}")"
	-device "$(net 2 "${SVIO_VM_NET1_PROPS:-}")"
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=$run,mount_tag=results,security_model=none"
	-trace "enable=vtd_inv_desc*,file=$run/trace.log")

# boot: one QEMU run.  A guest that has not started CMD within boot_timeout_s
# is stopped (a boot that hangs, e.g. stalled timers under TCG).
boot() {
	local pid deadline=$((SECONDS + boot_timeout_s))
	rm -f "$run"/{cmd-start,cmd-end,status,output,devices,console.log,trace.log}
	timeout --kill-after=10 "$timeout_s" "${qemu[@]}" </dev/null 2>"$run/qemu.log" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ ! -e "$run/cmd-start" ] && [ $SECONDS -ge $deadline ]; then
			echo "run.sh: the guest did not reach the command in ${boot_timeout_s}s" >&2
			kill "$pid" 2>/dev/null
			break
		fi
		sleep 0.2
	done
	status=0
	wait "$pid" || status=$?
}

# Multi-threaded TCG on a busy host now and then crashes or hangs a guest
# while it boots (seen: a corrupted register state early in start_kernel, the
# IO-APIC timer check, stalled CPU timers).  CMD has not run then, so booting
# again is safe; the console of each failed boot is kept as console.N.log.
for try in $(seq 1 "$boot_tries"); do
	boot
	[ -e "$run/cmd-start" ] || [ -s "$run/status" ] || [ "$try" -eq "$boot_tries" ] && break
	echo "run.sh: boot $try failed before the command started; booting again" >&2
	[ -e "$run/console.log" ] && mv "$run/console.log" "$run/console.$try.log"
done

if [ "${SVIO_VM_VERBOSE:-0}" != 1 ] && [ -s "$run/output" ]; then
	cat "$run/output"
	# The JSON line below must start on a line of its own.
	[ -z "$(tail -c1 "$run/output")" ] || echo
fi

window=()
if [ -e "$run/cmd-start" ] && [ -e "$run/cmd-end" ]; then
	window=("$(date -r "$run/cmd-start" +%s.%N)" "$(date -r "$run/cmd-end" +%s.%N)")
fi
"$here/inv-summary.sh" "$run/trace.log" "${window[@]}" || true

if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	echo "run.sh: the guest did not finish within ${timeout_s}s" >&2
	[ -e "$run/console.log" ] && tail -n 40 "$run/console.log" >&2
	exit 124
fi
if [ ! -s "$run/status" ]; then
	echo "run.sh: the guest did not run the command (qemu status $status)" >&2
	cat "$run/qemu.log" >&2
	echo "run.sh: console:" >&2
	[ -e "$run/console.log" ] && tail -n 60 "$run/console.log" >&2
	exit 125
fi
exit "$(cat "$run/status")"
