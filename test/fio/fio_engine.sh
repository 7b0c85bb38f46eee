#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Debian's fio with svio's engine (libsvio_fio.so) on the built-in NVMe:
# fio's own verify passes on good data and catches the model's corruption,
# file-backed namespaces keep data across runs, two jobs share the domain
# over two controllers, and every bad option gives one clear line.
#
#   fio_engine.sh ENGINE.so [SANITIZE]
# SANITIZE is meson's b_sanitize: with address, fio (not an ASan build) runs
# with the ASan runtime preloaded so the engine's instrumented code can load.
set -uo pipefail

engine=$1
sanitize=${2:-none}
if ! command -v fio >/dev/null; then
	echo "fio is not installed (devtools/setup.sh installs it)"
	exit 77
fi
if [ ! -f "$engine" ]; then
	echo "$engine was not built (no fio source: see the meson configure log)"
	exit 77
fi

preload=
case $sanitize in
*address*)
	preload=$(cc -print-file-name=libasan.so)
	# fio's own allocations are not ours to judge: leaks are the unit test's.
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
eal_base="--no-huge -m 256 --no-shconf --no-telemetry"

fio_run() { # fio_run NAME ARGS...: stdout to $tmp/NAME.out, stderr to $tmp/NAME.err
	local name=$1
	shift
	LD_PRELOAD=$preload fio --output-format=json --verify_state_save=0 "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err"
}

fail() {
	echo "FAIL: $*"
	for f in "$tmp/$cur.err" "$tmp/$cur.out"; do
		[ -f "$f" ] && sed 's/^/    /' "$f" | head -40
	done
	fails=$((fails + 1))
}

# jobs_ok NAME MIN_WRITES [READS]: every job of NAME's JSON without error, each
# with at least MIN_WRITES writes and as many verify reads (READS=none: no reads).
jobs_ok() {
	python3 - "$tmp/$1.out" "$2" "${3:-verify}" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
if '{' not in text:
    sys.exit("no JSON in fio's output")
doc = json.loads(text[text.index('{'):])
for j in doc["jobs"]:
    w, r = j["write"]["total_ios"], j["read"]["total_ios"]
    bad_reads = r != 0 if sys.argv[3] == "none" else r < w
    if j["error"] != 0 or w < int(sys.argv[2]) or bad_reads:
        sys.exit("job %s: error %d, %d writes, %d reads" % (j["jobname"], j["error"], w, r))
print(len(doc["jobs"]))
EOF
}

# expect_ok NAME MIN_WRITES JOBS fio-args... (READS=none: a run that must not read)
expect_ok() {
	local name=$1 min=$2 njobs=$3 n
	shift 3
	cur=$name
	if ! fio_run "$name" "$@"; then
		fail "$name: fio exited $?"
		return
	fi
	if ! n=$(jobs_ok "$name" "$min" "${READS:-verify}" 2>&1) || [ "$n" != "$njobs" ]; then
		fail "$name: $n (wanted $njobs jobs)"
		return
	fi
	echo "ok: $name"
}

# expect_verify_error NAME fio-args...: fio fails and says verify failed.
expect_verify_error() {
	local name=$1
	shift
	cur=$name
	if fio_run "$name" "$@"; then
		fail "$name: fio exited 0 on corrupted data"
	elif ! grep -Eq "verify failed|bad magic|verify: bad" "$tmp/$name.err" "$tmp/$name.out"; then
		fail "$name: fio failed without reporting a verify error"
	elif ! grep -q '"error" : 84' "$tmp/$name.out"; then
		fail "$name: the job's error is not EILSEQ (verify)"
	else
		echo "ok: $name"
	fi
}

# expect_refusal NAME PATTERN fio-args...: non-zero exit, exactly one line
# from the engine, matching PATTERN, and no job ran I/O.
expect_refusal() {
	local name=$1 pattern=$2 lines
	shift 2
	cur=$name
	if fio_run "$name" "$@"; then
		fail "$name: fio exited 0"
		return
	fi
	lines=$(grep -c '^svio engine: ' "$tmp/$name.err")
	if [ "$lines" != 1 ]; then
		fail "$name: $lines lines from the engine, wanted 1"
	elif ! grep '^svio engine: ' "$tmp/$name.err" | grep -Eq -- "$pattern"; then
		fail "$name: the engine's line does not match '$pattern'"
	else
		echo "ok: $name: $(grep '^svio engine: ' "$tmp/$name.err")"
	fi
}

eng=(--ioengine=external:"$engine")
one="$eal_base --vdev sim_nvme0,size=64M"
job=(--name=j --thread=1 --bs=4k --iodepth=32 --size=16M)

# --- data integrity on the built-in controller ---
expect_ok crc32c_sva 4096 1 "${job[@]}" "${eng[@]}" --svio_eal="$one" \
	--filename=sim_nvme0/ns1 --rw=randwrite --verify=crc32c
expect_ok crc32c_map_per_io 4096 1 "${job[@]}" "${eng[@]}" --svio_eal="$one" --dma=map-per-io \
	--filename=sim_nvme0/ns1 --rw=randwrite --verify=crc32c
expect_ok crc32c_sva_off 1000 1 "${job[@]}" "${eng[@]}" --svio_eal="$one --sva off" \
	--filename=sim_nvme0/ns1 --rw=randrw --verify=crc32c
expect_ok crc32c_thread_model 1000 1 "${job[@]}" "${eng[@]}" \
	--svio_eal="$eal_base --vdev sim_nvme0,size=64M,mode=thread" \
	--filename=sim_nvme0/ns1 --rw=write --bs=16k --iodepth=8 --verify=crc32c
# A namespace id other than 1, by id and as the controller's first namespace.
expect_ok nsid3 4096 1 "${job[@]}" "${eng[@]}" --svio_eal="$eal_base --vdev sim_nvme0,size=64M,nsid=3" \
	--filename=sim_nvme0/ns3 --rw=randwrite --verify=crc32c
expect_ok first_ns 4096 1 "${job[@]}" "${eng[@]}" --svio_eal="$eal_base --vdev sim_nvme0,size=64M,nsid=3" \
	--filename=sim_nvme0 --rw=randwrite --verify=crc32c
# Metadata inside each block (512 + 8): fio's blocks are the device's 520-byte
# blocks, so the data and the metadata the device moves are fio's and verified.
expect_ok extended_md 2048 1 "${job[@]}" "${eng[@]}" \
	--svio_eal="$eal_base --vdev sim_nvme0,size=64M,ms=8,mset=1" --filename=sim_nvme0/ns1 \
	--rw=randwrite --bs=4160 --size=8320k --verify=crc32c
# Preloaded, the engine is found by its name.
cur=preload
if LD_PRELOAD="${preload:+$preload:}$engine" fio --output-format=json --verify_state_save=0 \
	"${job[@]}" --ioengine=svio --svio_eal="$one" --filename=sim_nvme0/ns1 --rw=randwrite \
	--verify=crc32c >"$tmp/preload.out" 2>"$tmp/preload.err" && jobs_ok preload 4096 >/dev/null; then
	echo "ok: preload"
else
	fail "preload: ioengine=svio with the engine preloaded"
fi

# A job file: svio_eal's blanks survive fio's job file parser.
cat >"$tmp/two.fio" <<EOF
[global]
ioengine=external:$engine
svio_eal=$eal_base --vdev sim_nvme0,size=64M --vdev sim_nvme1,size=64M,mode=thread
thread=1
filename=sim_nvme0/ns1:sim_nvme1/ns1
rw=randwrite
bs=4k
iodepth=32
size=16M
offset_increment=32M
numjobs=2
verify=crc32c
[two_ctrlrs]
EOF
# numjobs=2: two threads, each with a queue pair on both controllers, one domain.
expect_ok numjobs2_two_ctrlrs 4096 2 "$tmp/two.fio"

# --- file-backed namespace, two runs: write (md5), then verify_only ---
img="$tmp/ns.img"
file_eal="$eal_base --vdev sim_nvme0,file=$img,size=32M"
fjob=("${job[@]}" "${eng[@]}" --svio_eal="$file_eal" --filename=sim_nvme0/ns1 --size=32M
	--rw=randwrite --verify=md5)
expect_ok md5_do_verify 8192 1 "${fjob[@]}" --do_verify=1
READS=none expect_ok md5_write_only 8192 1 "${fjob[@]}" --do_verify=0
cur=md5_verify_only
if fio_run md5_verify_only "${fjob[@]}" --verify_only=1 &&
	python3 -c "import json,sys; t=open(sys.argv[1]).read(); j=json.loads(t[t.index('{'):])['jobs'][0]; sys.exit(not (j['error'] == 0 and j['read']['total_ios'] == 8192))" "$tmp/md5_verify_only.out"; then
	echo "ok: md5_verify_only"
else
	fail "md5_verify_only: the second run did not verify the first run's data"
fi
# The second run really reads the device: one changed block in the file fails it.
dd if=/dev/urandom of="$img" bs=4k count=1 seek=1000 conv=notrunc status=none
expect_verify_error md5_verify_only_tampered "${fjob[@]}" --verify_only=1

# --- fio's verify catches the model's corruption ---
expect_verify_error corrupt_reads "${job[@]}" "${eng[@]}" \
	--svio_eal="$eal_base --vdev sim_nvme0,size=64M,corrupt_reads=500" \
	--filename=sim_nvme0/ns1 --rw=randwrite --verify=crc32c
expect_verify_error drop_writes "${job[@]}" "${eng[@]}" \
	--svio_eal="$eal_base --vdev sim_nvme0,size=64M,drop_writes=500" \
	--filename=sim_nvme0/ns1 --rw=randwrite --verify=crc32c

# --- bad options: one line each, non-zero exit ---
ok=("${job[@]}" "${eng[@]}" --rw=randwrite)
expect_refusal no_thread 'needs thread=1' --name=j --bs=4k --size=1M "${eng[@]}" \
	--svio_eal="$one" --filename=sim_nvme0/ns1
expect_refusal bad_dma "dma= takes sva or map-per-io, not 'foo'" "${ok[@]}" --svio_eal="$one" \
	--dma=foo --filename=sim_nvme0/ns1
expect_refusal sva_off_dma_sva 'dma=sva needs SVA' "${ok[@]}" --svio_eal="$one --sva off" \
	--dma=sva --filename=sim_nvme0/ns1
expect_refusal missing_ns 'no active namespace 2' "${ok[@]}" --svio_eal="$one" \
	--filename=sim_nvme0/ns2
expect_refusal missing_ctrlr "no NVMe controller 'sim_nvme7'" "${ok[@]}" --svio_eal="$one" \
	--filename=sim_nvme7/ns1
expect_refusal bad_filename 'CTRLR/nsN' "${ok[@]}" --svio_eal="$one" --filename=sim_nvme0/x1
expect_refusal no_eal 'svio_eal= is empty' "${ok[@]}" --filename=sim_nvme0/ns1
expect_refusal bad_eal 'refused by svio_eal_init' "${ok[@]}" --svio_eal="$one --bogus" \
	--filename=sim_nvme0/ns1
expect_refusal bad_devarg 'refused by svio_eal_init' "${ok[@]}" \
	--svio_eal="$eal_base --vdev sim_nvme0,sise=1G" --filename=sim_nvme0/ns1
expect_refusal stray_word "neither an option nor an option's value: 'extra'" "${ok[@]}" \
	--svio_eal="$one extra" --filename=sim_nvme0/ns1
# I/O above the controller's maximum transfer (MDTS 1: 8 KiB) is refused, not split.
expect_refusal above_mdts 'at most 8192 bytes a command' "${ok[@]}" \
	--svio_eal="$eal_base --vdev sim_nvme0,size=64M,mdts=1" --filename=sim_nvme0/ns1 --bs=16k
# 4 KiB is not a whole number of 520-byte blocks: refused, not overrun.
expect_refusal extended_md_4k 'whole 520-byte blocks' "${ok[@]}" \
	--svio_eal="$eal_base --vdev sim_nvme0,size=64M,ms=8,mset=1" --filename=sim_nvme0/ns1
expect_refusal eal_differs 'differs between jobs' "${ok[@]}" --svio_eal="$one" \
	--filename=sim_nvme0/ns1 --name=k --thread=1 "${eng[@]}" --svio_eal="$one --iommu-flush lazy"

[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
