#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# no_hugepages.sh SVIO_PERF: a newcomer's first command without --no-huge on a
# machine where hugepages cannot be had. DPDK says only "Permission denied";
# svio must say what is missing and both ways out (reserve hugepages, or
# --no-huge -m 512), and the second way must work.
#  1. The command as typed: when this machine has no free hugepage (e.g.
#     /proc/sys/vm/nr_hugepages is 0) the message names that; when it has
#     some and a hugetlbfs, the command runs.
#  2. The condition forced on any machine: --huge-dir at a folder that is not
#     a hugetlbfs mount (DPDK finds no usable hugepages there either).
#  3. The way out: --no-huge -m 512 runs.
set -uo pipefail
perf=$1
vdev=(--vdev sim_nvme0,size=64M)
app=(-- --rw=randread --bs=4k --iodepth=4 --runtime=0.2)
quiet=(--no-shconf --no-telemetry --log-level='*:error')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

check() { # check WHAT: the previous command's status decides
	if [ $? -eq 0 ]; then
		echo "ok   $1"
	else
		echo "FAIL $1"
		status=1
	fi
}

free_pages=0
for f in /sys/kernel/mm/hugepages/hugepages-*/free_hugepages; do
	[ -r "$f" ] && free_pages=$((free_pages + $(cat "$f")))
done
reserved=$(cat /proc/sys/vm/nr_hugepages)
echo "machine: nr_hugepages $reserved, free hugepages $free_pages"

# expect_refusal WHAT MESSAGE ARGS...: svio-perf fails, the last line names MESSAGE and both ways out.
expect_refusal() {
	local what=$1 msg=$2 rc
	shift 2
	"$perf" "${quiet[@]}" "$@" "${vdev[@]}" "${app[@]}" >"$tmp/out" 2>&1
	rc=$?
	cat "$tmp/out"
	[ $rc -ne 0 ]
	check "$what: svio-perf fails (exit $rc)"
	grep -qF "DPDK EAL initialisation failed: $msg" "$tmp/out"
	check "$what: the error says what is missing ($msg)"
	grep -qF "or run without hugepages: --no-huge -m 512" "$tmp/out"
	check "$what: the error gives --no-huge -m 512 as a way out"
	! grep -q "Permission denied" <(grep "^svio:" "$tmp/out")
	check "$what: svio's line is not DPDK's bare 'Permission denied'"
}

# 1. As typed.
if [ "$free_pages" -eq 0 ] && [ "$reserved" -eq 0 ]; then
	expect_refusal "as typed" "no hugepages are reserved (/proc/sys/vm/nr_hugepages is 0): reserve some as root, e.g. 'echo 512 > /proc/sys/vm/nr_hugepages'"
elif [ "$free_pages" -eq 0 ]; then
	expect_refusal "as typed" "no hugepage is free: all $reserved reserved are in use"
elif ! grep -q " hugetlbfs " /proc/mounts; then
	expect_refusal "as typed" "$free_pages hugepages are free but no hugetlbfs is mounted: mount one as root"
else
	"$perf" "${quiet[@]}" "${vdev[@]}" "${app[@]}" >/dev/null 2>&1
	check "as typed: hugepages are usable here and svio-perf runs"
fi

# 2. Forced: a --huge-dir that is no hugetlbfs.
if [ "$free_pages" -gt 0 ]; then
	expect_refusal "--huge-dir $tmp" "$free_pages hugepages are free but no hugetlbfs is mounted at --huge-dir $tmp: mount one as root, e.g. 'mount -t hugetlbfs nodev $tmp'" --huge-dir "$tmp"
else
	expect_refusal "--huge-dir $tmp" "no huge" --huge-dir "$tmp"
fi

# 3. The way out the message gives.
"$perf" "${quiet[@]}" --no-huge -m 512 "${vdev[@]}" "${app[@]}" >"$tmp/out" 2>&1
check "--no-huge -m 512: svio-perf runs (exit $?)"
exit $status
