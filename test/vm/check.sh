#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# check.sh: the test/vm entry point (meson test suite 'vm').  Prepares the
# guest (cached in test/vm/cache) and runs iommufd_probe in it: /dev/iommu,
# an IOAS, the NVMe's VFIO cdev bound and attached, BAR0 read, IOVA = VA
# map, an NVMe Identify by DMA through the vIOMMU, unmap (after which the
# device's DMA to that page must be blocked), and the virtio-net
# ports attached to the same IOAS; then, with the ports on the kernel's
# virtio_net, checks that frames cross the hub between them.
#
# Exit status: 0 pass, 77 skip (prerequisites cannot be had: printed as
# "SKIP: reason"), anything else a failure.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SVIO_VM_CACHE:-$here/cache}
export SVIO_VM_CACHE=$cache

skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

[ "$(uname -m)" = x86_64 ] || skip "the guest is x86_64 and QEMU runs TCG for it only here"
[ "${SVIO_VM_SKIP:-0}" = 1 ] && skip "SVIO_VM_SKIP=1"
if [ ! -e "$cache/ready" ] && [ "$(id -u)" -ne 0 ] &&
	! { command -v sudo >/dev/null && sudo -n true 2>/dev/null; } &&
	! command -v qemu-system-x86_64 >/dev/null; then
	skip "QEMU is not installed and neither root nor sudo can install it"
fi

rc=0
"$here/prepare.sh" || rc=$?
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || {
	echo "check: prepare.sh failed ($rc)"
	exit 1
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# run_guest CMD...: run.sh, once more if the guest died before finishing
# (status 125: a TCG guest crash, not the command's verdict).
run_guest() {
	local try rc
	for try in 1 2; do
		rc=0
		SVIO_VM_TIMEOUT=${SVIO_VM_TIMEOUT:-300} "$here/run.sh" "$@" 2>&1 | tee "$out" ||
			rc=$?
		[ $rc -eq 125 ] || break
		echo "check: the guest died (try $try)"
	done
	return $rc
}

rc=0
run_guest "$cache/iommufd_probe" || rc=$?
[ $rc -eq 0 ] || {
	echo "check: the probe failed in the guest (status $rc)"
	exit 1
}
for want in 'probe: identify via DMA' 'page untouched' 'probe: unmapped' 'probe: OK'; do
	grep -q "$want" "$out" || {
		echo "check: the probe's output lacks '$want'"
		exit 1
	}
done
# Unmapping with the ATS-capable ports attached must have reached their
# device-TLBs: the guest kernel's invalidation path for svio's SVA devices.
devtlb=$(sed -n 's/.*"cmd":{[^}]*"by_type":{[^}]*"device":\([0-9]*\).*/\1/p' "$out" | tail -n1)
[ "${devtlb:-0}" -gt 0 ] || {
	echo "check: no device-TLB invalidation while the probe ran"
	exit 1
}
echo "check: iommufd path OK in the guest ($devtlb device-TLB invalidations)"

# The two virtio-net ports share one hub: what one sends, the other receives.
if ! command -v python3 >/dev/null; then
	echo "check: OK (hub check not run: no python3)"
	exit 0
fi
rc=0
SVIO_VM_VFIO=nvme run_guest python3 "$here/hub_check.py" || rc=$?
if [ $rc -ne 0 ] || ! grep -q 'hub_check: OK' "$out"; then
	echo "check: the virtio-net ports do not reach each other (status $rc)"
	exit 1
fi
echo "check: OK"
exit 0
