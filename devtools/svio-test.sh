#!/usr/bin/env bash
# Set everything up and run the whole test suite: a normal build, a build with
# AddressSanitizer + UndefinedBehaviorSanitizer, and the concurrency tests under
# ThreadSanitizer. Ends with the line "N passed, N failed" (skips are counted on the line before).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
root=$(svio_root)
cd "$root"
svio_install_packages

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

status=0
run() { # run NAME BUILD_DIR "meson test args" [meson setup options...]
	local name=$1 dir=$2 args=$3
	shift 3
	echo "== $name: building $dir"
	if ! svio_build "$dir" "$@"; then
		echo "== $name: build failed"
		echo "$name: build" >>"$root/.test-failures"
		status=1
		return
	fi
	echo "== $name: testing"
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs --num-processes 2 $args || status=1
}

rm -f "$root/.test-failures"
run normal build "--no-suite vm"
run asan+ubsan build-asan "--no-suite vm --no-suite docs" -Db_sanitize=address,undefined -Db_lundef=false
run tsan build-tsan "--suite concurrency" -Db_sanitize=thread -Db_lundef=false

# A real kernel with iommufd in a QEMU guest: svio's PCI bus and iommufd backend
# on QEMU's NVMe. Builds its kernel modules once (cached in test/vm/cache) and
# skips with a reason where the guest's prerequisites cannot be had.
echo "== vm: QEMU guest with iommufd (test/vm)"
meson test -C build --print-errorlogs --suite vm --logbase vmlog || status=1

python3 "$root/devtools/test_summary.py" build build-asan build-tsan \
	--failures "$root/.test-failures" || status=1
exit $status
