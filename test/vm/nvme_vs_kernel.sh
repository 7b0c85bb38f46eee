#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nvme_vs_kernel.sh SVIO_PERF SVIO_FIO_ENGINE: the Linux kernel's NVMe driver
# and svio's PMD on the same QEMU NVMe controller, one after the other in one
# guest boot.
#
#   1. the kernel's nvme driver: fio, io_uring, 4 KiB random reads, QD32,
#      O_DIRECT (the kernel maps every I/O through its DMA API), once with a
#      strict DMA domain (IOMMU group type DMA) and once with a lazy one
#      (DMA-FQ), and once more lazy with a polled queue (fio --hipri), since
#      svio's PMD polls;
#   2. svio-perf, 4 KiB random reads, QD32, through the VFIO cdev and iommufd,
#      once with --iommu-flush strict and once lazy, each buffer mapped per
#      I/O (--dma=map-per-io, IOVA = VA) as the kernel's DMA API does; then
#      once with --dma=sva, svio's own mode: buffers in DPDK memory, which
#      svio maps once at start-up (iommufd has no page faults);
#   3. fio with svio's engine (SVIO_FIO_ENGINE, libsvio_fio.so) on the job
#      file of the kernel's fio runs (only the engine, the file and O_DIRECT
#      are given apart): lazy with each I/O's pages mapped (dma=map-per-io)
#      as the kernel's DMA API does, and with the engine's default, SVA (its
#      io_u buffers are then DPDK memory, mapped at start-up); then a verify
#      job in each DMA mode (crc32c, random writes, every block read back and
#      checked by fio) in a region no read run uses.
#
# The controller moves between the drivers (driver_override, unbind, bind or
# reprobe) so that each strict run and each lazy run of the two sides go back
# to back: kernel strict, svio strict, kernel lazy, kernel lazy polled, svio
# lazy, fio+svio lazy, svio sva, fio+svio sva, the two fio+svio verify jobs.
#
# All read the same region of a disk image filled on the host before the boot,
# so no side reads LBAs that were never written.  Prints run.sh's JSON line for
# the whole command, then one line:
#
#   {"nvme_vs_kernel": {"kernel": {"strict": {...}, "lazy": {...},
#    "lazy-poll": {...}}, "svio": {"strict": {...}, "lazy": {...}, "sva": {...}},
#    "ratio": svio/kernel (lazy), "ratio_by_mode": {"strict": ...,
#    "lazy": ..., "lazy-poll": ...}, "ratio_sva": svio sva/kernel lazy-poll,
#    "fio_engine": {"lazy": {...}, "sva": {...}, "verify": {"map-per-io":
#    {...}, "sva": {...}}}, "ratio_fio": fio+svio lazy/kernel lazy (same job
#    file), "ratio_fio_poll": fio+svio lazy/kernel lazy-poll, "ratio_fio_sva":
#    fio+svio sva/kernel lazy-poll, "ratio_fio_vs_perf": {"lazy": fio+svio
#    lazy/svio-perf lazy, "sva": fio+svio sva/svio-perf sva}, ...}}
#
# with each run's IOPS, I/Os, mean latency and the VT-d invalidation
# descriptors the guest issued while it ran.  The ratio is a benchmark, not a
# pass mark: the test fails only when a run fails or completes no I/O, or
# when an engine verify job has an error or checks fewer blocks than it
# wrote.  Exit status: 0 pass, 77 skip (as check.sh, or the engine was not
# built), anything else a failure.
#
# Environment: SVIO_VM_SKIP=1 (skip), NVME_VS_KERNEL_RUNTIME (seconds per
# run, default 5), SVIO_VM_TIMEOUT (default 300).
#
# Inside the guest the same script runs as `nvme_vs_kernel.sh --guest PERF
# ENGINE SECONDS` (run.sh's CMD).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The region both sides read: written on the host, within the 64 MiB disk.
size_mb=32

# --- inside the guest --------------------------------------------------------

# stamp NAME: a file in the run folder; 9p gives it the host's clock, the
# clock of QEMU's trace, so the host can count each phase's descriptors.
stamp() {
	: >"$SVIO_VM_RUN/$1"
}

# wait_for CMD...: up to 60 s for CMD to succeed (device probes are async and
# slow under TCG on a loaded host).
wait_for() {
	local end=$((SECONDS + 60))
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

say() {
	echo "nvme_vs_kernel: $*"
}

# The kernel's strict and lazy DMA domains are the IOMMU group's types DMA and
# DMA-FQ; a group's type may change only while no driver holds its devices.
# kernel_phase POLICY [poll]: poll gives the controller a polled queue
# (nvme's poll_queues, read at probe) and fio polls it (--hipri), as svio's PMD
# polls its queues.
kernel_phase() {
	local policy=$1 poll=${2:-} type=DMA ns blk rc name=kernel-$1${2:+-$2}
	local fio_poll=()
	[ "$policy" = lazy ] && type=DMA-FQ
	if [ -n "$poll" ]; then
		echo 1 >/sys/module/nvme/parameters/poll_queues || {
			say "cannot give nvme a poll queue"
			return 1
		}
		fio_poll=(--hipri)
	else
		echo 0 >/sys/module/nvme/parameters/poll_queues
	fi
	# Back from vfio-pci: no override, so that nvme may take it.
	echo >"$dev/driver_override"
	[ -e "$dev/driver" ] && echo "$bdf" >"$dev/driver/unbind"
	echo "$type" >"$dev/iommu_group/type" || {
		say "kernel $policy: cannot set the IOMMU group's type to $type"
		return 1
	}
	echo "$bdf" >/sys/bus/pci/drivers/nvme/bind || {
		say "kernel $policy: cannot bind $bdf to nvme"
		return 1
	}
	wait_for compgen -G "$dev/nvme/nvme*/nvme*n1" >/dev/null || {
		say "$bdf got no namespace from the kernel's nvme driver"
		return 1
	}
	ns=$(compgen -G "$dev/nvme/nvme*/nvme*n1" | head -n1)
	blk=/dev/$(basename "$ns")
	wait_for test -b "$blk" || {
		say "no $blk"
		return 1
	}
	cat "$dev/iommu_group/type" >"$SVIO_VM_RUN/$name.domain"
	# The driver logs its queue split at probe: "N/0/P default/read/poll queues".
	say "$name: $blk, IOMMU domain $(cat "$SVIO_VM_RUN/$name.domain"), queues" \
		"$(dmesg | grep -o '[0-9/]* default/read/poll queues' | tail -n1)"
	stamp "$name-start"
	fio "$jobfile" --filename="$blk" --ioengine=io_uring "${fio_poll[@]}" --direct=1 \
		--output-format=json --output="$SVIO_VM_RUN/$name.json"
	rc=$?
	stamp "$name-end"
	[ $rc -eq 0 ] || say "$name: fio failed ($rc)"
	return $rc
}

# The same controller from the nvme driver to vfio-pci.
to_vfio() {
	local cdev
	echo vfio-pci >"$dev/driver_override"
	[ -e "$dev/driver" ] && echo "$bdf" >"$dev/driver/unbind"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	wait_for compgen -G "$dev/vfio-dev/vfio*" >/dev/null || {
		say "$bdf did not bind to vfio-pci"
		return 1
	}
	cdev=/dev/vfio/devices/$(basename "$(compgen -G "$dev/vfio-dev/vfio*" | head -n1)")
	wait_for test -c "$cdev" || {
		say "no $cdev"
		return 1
	}
	say "svio: $bdf on vfio-pci ($cdev)"
}

# svio_phase NAME POLICY DMA
svio_phase() {
	local name=$1 policy=$2 dma=$3 rc
	to_vfio || return 1
	stamp "svio-$name-start"
	"$perf" --no-huge -m 256 --no-shconf --no-telemetry --log-level='*:warning' \
		-a "$bdf" --iommu iommufd --iommu-flush "$policy" -- --rw=randread --bs=4k \
		--iodepth=32 --runtime="$runtime" --size=${size_mb}M --dma="$dma" \
		--status-interval=0 --output-format=json >"$SVIO_VM_RUN/svio-$name.json"
	rc=$?
	stamp "svio-$name-end"
	[ $rc -eq 0 ] || say "svio $name: svio-perf failed ($rc)"
	return $rc
}

# The job file both fios run; each adds its engine, file and flags.
write_jobfile() {
	jobfile=$SVIO_VM_RUN/randread.fio
	printf '%s\n' "[randread]" rw=randread bs=4k iodepth=32 numjobs=1 "size=${size_mb}M" \
		norandommap time_based "runtime=$runtime" >"$jobfile"
}

# The engine's start-up options: svio-perf's, with the flush policy POLICY.
fio_eal() {
	echo "--no-huge -m 256 --no-shconf --no-telemetry -a $bdf --iommu iommufd --iommu-flush $1"
}

# filename= of the controller's namespace 1: fio splits file names at ':',
# so the PCI address's colons are escaped.
fio_target() {
	echo "${bdf//:/\\:}/ns1"
}

# dma= of the engine: map-per-io, or none given for sva (the default).
fio_dma() {
	[ "$1" = map-per-io ] && echo --dma=map-per-io
}

# fio_phase NAME POLICY DMA: fio with svio's engine on the kernel's job file.
fio_phase() {
	local name=svio-fio-$1 rc
	to_vfio || return 1
	stamp "$name-start"
	# shellcheck disable=SC2046 # fio_dma prints one word or none
	fio "$jobfile" --ioengine=external:"$engine" --thread=1 --svio_eal="$(fio_eal "$2")" \
		$(fio_dma "$3") --filename="$(fio_target)" --output-format=json \
		--output="$SVIO_VM_RUN/$name.json"
	rc=$?
	stamp "$name-end"
	[ $rc -eq 0 ] || say "fio+svio $1: fio failed ($rc)"
	return $rc
}

# fio_verify DMA: the engine's data path on a real device: random writes with
# crc32c headers, every block read back and checked by fio, above the region
# the runs read.
fio_verify() {
	local rc
	to_vfio || return 1
	# shellcheck disable=SC2046 # fio_dma prints one word or none
	fio --name=verify --thread=1 --ioengine=external:"$engine" --svio_eal="$(fio_eal strict)" \
		$(fio_dma "$1") --filename="$(fio_target)" --rw=randwrite --bs=4k --iodepth=32 \
		--offset=${size_mb}M --size=16M --verify=crc32c --do_verify=1 --verify_state_save=0 \
		--output-format=json --output="$SVIO_VM_RUN/svio-fio-verify-$1.json"
	rc=$?
	[ $rc -eq 0 ] || say "fio+svio verify $1: fio failed ($rc)"
	return $rc
}

guest() {
	perf=$1
	engine=$2
	runtime=$3
	bdf=${SVIO_VM_NVME:-}
	dev=/sys/bus/pci/devices/$bdf
	[ -n "$bdf" ] || {
		say "the guest has no NVMe controller"
		return 1
	}
	say "run=$SVIO_VM_RUN"
	write_jobfile
	# Each pair back to back, so that a change in the host's load between
	# pairs moves both sides of a ratio alike.
	kernel_phase strict && svio_phase strict strict map-per-io &&
		kernel_phase lazy && kernel_phase lazy poll && svio_phase lazy lazy map-per-io &&
		fio_phase lazy lazy map-per-io && svio_phase sva strict sva &&
		fio_phase sva strict sva && fio_verify map-per-io && fio_verify sva
}

if [ "${1:-}" = --guest ]; then
	guest "$2" "$3" "$4"
	exit
fi

# --- on the host -------------------------------------------------------------

skip() {
	echo "SKIP: $*"
	exit 77
}

[ $# -eq 2 ] || {
	echo "usage: $0 SVIO_PERF SVIO_FIO_ENGINE" >&2
	exit 2
}
perf=$(realpath "$1")
[ -f "$2" ] || skip "$2 was not built (no fio or no fio source: see the meson configure log)"
engine=$(realpath "$2")
runtime=${NVME_VS_KERNEL_RUNTIME:-5}
export SVIO_VM_CACHE=${SVIO_VM_CACHE:-$here/cache}

[ "${SVIO_VM_SKIP:-0}" = 1 ] && skip "SVIO_VM_SKIP=1"
command -v python3 >/dev/null || skip "python3 missing (reads the JSON reports)"
rc=0
"$here/prepare.sh" >/dev/null || rc=$?
[ $rc -eq 77 ] && skip "guest prerequisites missing (see check.sh)"
[ $rc -eq 0 ] || {
	echo "nvme_vs_kernel: prepare.sh failed ($rc)"
	exit 1
}

# fio runs in the guest from the host's root, so the host needs it.
install_fio() {
	local as_root=()
	if [ "$(id -u)" -ne 0 ]; then
		sudo -n true 2>/dev/null || return 1
		as_root=(sudo -n)
	fi
	echo "nvme_vs_kernel: installing fio" >&2
	local install=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q
		--no-install-recommends fio)
	"${install[@]}" >/dev/null 2>&1 ||
		{ "${as_root[@]}" apt-get update -q >/dev/null 2>&1 && "${install[@]}" >/dev/null 2>&1; }
}
command -v fio >/dev/null || install_fio || skip "fio missing and cannot be installed (apt-get, root or sudo)"
command -v fio >/dev/null || skip "fio missing after apt-get install"

work=$(mktemp -d)
run=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	rm -rf "$work"
	# run.sh keeps a failed run's folder itself; a passing one is ours to drop.
	[ -n "$run" ] || return 0
	if [ "$status" -eq 0 ]; then
		rm -rf "$run"
	else
		echo "nvme_vs_kernel: run folder kept: $run" >&2
	fi
}
status=1
trap cleanup EXIT

# Data in the region both sides read (QEMU may answer reads of a hole without
# touching the file); the rest of the 64 MiB disk stays sparse.
disk=$work/nvme.img
if ! head -c $((size_mb << 20)) /dev/urandom >"$disk" || ! truncate -s 64M "$disk"; then
	echo "nvme_vs_kernel: cannot write the disk image $disk"
	exit 1
fi

out=$work/out
rc=0
SVIO_VM_KEEP=1 SVIO_VM_VFIO=none SVIO_VM_DISK=$disk SVIO_VM_TIMEOUT=${SVIO_VM_TIMEOUT:-300} \
	"$here/run.sh" /bin/bash "$here/nvme_vs_kernel.sh" --guest "$perf" "$engine" "$runtime" \
	>"$out" 2>&1 || rc=$?
[ $rc -eq 77 ] && skip "guest prerequisites missing (see check.sh)"
run=$(sed -n 's/^nvme_vs_kernel: run=//p' "$out" | head -n1)
if [ $rc -ne 0 ]; then
	cat "$out"
	echo "nvme_vs_kernel: the guest run failed ($rc)"
	run= # run.sh kept it and said so
	status=$rc
	exit $rc
fi
grep -v '^run.sh: run folder kept' "$out"
if [ -z "$run" ] || [ ! -d "$run" ]; then
	echo "nvme_vs_kernel: the guest did not name its run folder"
	exit 1
fi

# Each phase's invalidation descriptors, from its stamps.
for phase in kernel-strict kernel-lazy kernel-lazy-poll svio-strict svio-lazy svio-fio-lazy \
	svio-sva svio-fio-sva; do
	"$here/inv-summary.sh" "$run/trace.log" "$(date -r "$run/$phase-start" +%s.%N)" \
		"$(date -r "$run/$phase-end" +%s.%N)" >"$run/$phase.inv" || {
		echo "nvme_vs_kernel: cannot count the invalidation descriptors of $phase"
		exit 1
	}
done

python3 - "$run" "$size_mb" <<'EOF2'
import json, os, sys

run, size_mb = sys.argv[1], sys.argv[2]


def load(name):
    with open(os.path.join(run, name)) as f:
        return json.load(f)


def side(phase, read, errors, extra):
    inv = load(f"{phase}.inv")["vtd_inv_desc"]["cmd"]["by_type"]
    ios = read["total_ios"]
    out = {"iops": round(read["iops"], 1), "total_ios": ios,
           "lat_mean_ns": round(read["lat_ns"]["mean"]), "errors": errors,
           "vtd_inv_desc": inv,
           "iotlb_desc_per_io": round(inv["iotlb"] / ios, 3) if ios else None}
    out.update(extra)
    return out


res = {"rw": "randread", "bs": 4096, "iodepth": 32, "kernel": {}, "svio": {}}
failed = []
for name in ("strict", "lazy", "lazy-poll"):
    job = load(f"kernel-{name}.json")["jobs"][0]
    with open(os.path.join(run, f"kernel-{name}.domain")) as f:
        domain = f.read().strip()
    # fio's CPU use: under TCG the interrupt-driven kernel path is CPU-bound.
    res["kernel"][name] = side(f"kernel-{name}", job["read"], job["error"],
                               {"iommu_domain": domain, "polled": name.endswith("poll"),
                                "cpu_pct": round(job["usr_cpu"] + job["sys_cpu"], 1)})
for name in ("strict", "lazy", "sva"):
    perf = load(f"svio-{name}.json")
    s = perf["svio"]
    # The domain's kernel calls (IOAS_MAP/UNMAP) and whatever lazy mode saved.
    calls = {n: v for n, v in (s.get("iommu") or {}).items()
             if n.startswith("kernel_") or "reviv" in n or "defer" in n}
    res["svio"][name] = side(f"svio-{name}", s["read"], s["io_errors"] + s["verify_errors"],
                             dict(calls, dma=perf["global options"]["dma"]))
# fio with svio's engine, on the kernel's job file.
res["fio_engine"] = {"verify": {}}
for name, dma in (("lazy", "map-per-io"), ("sva", "sva")):
    job = load(f"svio-fio-{name}.json")["jobs"][0]
    res["fio_engine"][name] = side(f"svio-fio-{name}", job["read"], job["error"],
                                   {"dma": dma,
                                    "cpu_pct": round(job["usr_cpu"] + job["sys_cpu"], 1)})
for dma in ("map-per-io", "sva"):
    job = load(f"svio-fio-verify-{dma}.json")["jobs"][0]
    writes, reads = job["write"]["total_ios"], job["read"]["total_ios"]
    res["fio_engine"]["verify"][dma] = {"verify": "crc32c", "writes": writes,
                                        "reads_checked": reads, "error": job["error"]}
    if job["error"] != 0 or writes == 0 or reads < writes:
        failed.append(f"fio+svio verify {dma}: error {job['error']}, {writes} writes, "
                      f"{reads} checked")
for who in ("kernel", "svio", "fio_engine"):
    failed += [f"{who} {n}" for n, r in res[who].items() if "iops" in r and not r["iops"] > 0]
# svio against the kernel in the same flush policy; "lazy-poll" is svio lazy
# against the kernel lazy and polled (both poll then).
pairs = {"strict": "strict", "lazy": "lazy", "lazy-poll": "lazy"}
ratio = {k: round(res["svio"][v]["iops"] / res["kernel"][k]["iops"], 3)
         for k, v in pairs.items() if res["kernel"][k]["iops"] > 0}
res["ratio"] = ratio.get("lazy")
res["ratio_by_mode"] = ratio
# svio's own mode: DPDK memory mapped once at start-up, nothing mapped per I/O,
# against the kernel's best here (lazy, polled).
if res["kernel"]["lazy-poll"]["iops"] > 0:
    res["ratio_sva"] = round(res["svio"]["sva"]["iops"] / res["kernel"]["lazy-poll"]["iops"], 3)
# fio against fio: one job file, io_uring on the kernel's nvme vs svio's engine.
def iops_ratio(a, b):
    return round(a["iops"] / b["iops"], 3) if b["iops"] > 0 else None


fio = res["fio_engine"]
res["ratio_fio"] = iops_ratio(fio["lazy"], res["kernel"]["lazy"])
res["ratio_fio_poll"] = iops_ratio(fio["lazy"], res["kernel"]["lazy-poll"])
res["ratio_fio_sva"] = iops_ratio(fio["sva"], res["kernel"]["lazy-poll"])
res["ratio_fio_vs_perf"] = {n: iops_ratio(fio[n], res["svio"][n]) for n in ("lazy", "sva")}
res["setup"] = ("fio io_uring O_DIRECT on the kernel's nvme driver vs svio-perf (map-per-io, and sva) "
                "and fio with svio's engine (same job file, map-per-io and sva) "
                f"through iommufd; same controller, {size_mb} MiB of data, one guest boot, QEMU TCG")
print(json.dumps({"nvme_vs_kernel": res}))
for f in failed:
    print(f"nvme_vs_kernel: {f} completed no I/O")
sys.exit(1 if failed else 0)
EOF2
status=$?
exit $status
