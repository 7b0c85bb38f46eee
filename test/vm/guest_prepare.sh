# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the guest tests: vm_prepare NAME skips (exit 77) when
# SVIO_VM_SKIP=1 or the guest's prerequisites cannot be had, fails when
# prepare.sh does, and returns once the guest is ready to boot.
vm_prepare() {
	local name=$1 rc=0

	[ "${SVIO_VM_SKIP:-0}" = 1 ] && { echo "SKIP: SVIO_VM_SKIP=1"; exit 77; }
	"$here/prepare.sh" >/dev/null || rc=$?
	[ $rc -eq 77 ] && { echo "SKIP: guest prerequisites missing (see check.sh)"; exit 77; }
	[ $rc -eq 0 ] || { echo "$name: prepare.sh failed ($rc)"; exit 1; }
}
