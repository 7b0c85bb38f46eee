#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Prepare the guest that test/vm/run.sh boots: Debian 13's 6.12 kernel, iommufd
# and VFIO (cdev) modules built for it, a busybox initramfs and the iommufd
# probe.  Everything lands in test/vm/cache (git-ignored); a second run finds
# it there and touches neither the network nor the compiler.
#
# Nothing from Debian 13 is installed into the system: packages come through a
# side apt configuration under the cache and are unpacked with dpkg -x.  The
# archive address is read from the system's own apt sources at run time.
#
# Exit status: 0 ready, 77 a prerequisite cannot be had (no root, no archive,
# no disk), anything else a real failure.
#
# Environment: SVIO_VM_CACHE (cache folder), SVIO_VM_JOBS (make -j, default 2),
# SVIO_VM_ARCHIVE (archive URI, default: from /etc/apt), SVIO_VM_SUITE
# (default trixie).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=devtools/apt-side.sh
source "$here/../../devtools/apt-side.sh"
cache=${SVIO_VM_CACHE:-$here/cache}
jobs=${SVIO_VM_JOBS:-2}
suite=${SVIO_VM_SUITE:-trixie}
kseries=6.12
# Disk the cold path needs (2.5 GB measured: sources and objects, packages).
need_disk_mb=4000

log() { printf 'prepare: %s\n' "$*" >&2; }
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}
die() {
	printf 'prepare: error: %s\n' "$*" >&2
	exit 1
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 126
	fi
}

# --- host packages ---------------------------------------------------------

host_pkgs=(qemu-system-x86 busybox-static gcc make bc bison flex libelf-dev
	libssl-dev dwarves rsync cpio kmod xz-utils zstd gzip)

host_packages() {
	local missing=() p
	for p in "${host_pkgs[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *"ok installed" ]] ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing host packages: ${missing[*]}"
	as_root true || skip "host packages missing (${missing[*]}) and neither root nor sudo"
	as_root apt-get update -q >/dev/null ||
		skip "apt-get update failed (no network to the archive?)"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >/dev/null ||
		skip "cannot install host packages: ${missing[*]}"
}

# --- side apt configuration ------------------------------------------------

# The first main-archive URI of the system's sources (deb822 or one-line form),
# so that no archive host is written into the project.
archive_uri() {
	if [ -n "${SVIO_VM_ARCHIVE:-}" ]; then
		echo "$SVIO_VM_ARCHIVE"
		return
	fi
	local f uri=
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk '
			function flush() {
				if (uris != "" && suites != "" && uris !~ /security/) {
					print uris; found = 1; exit
				}
				uris = ""; suites = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^URIs:/ { uris = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-/) suites = $i }
			END { if (!found) flush() }' "$f")
		[ -n "$uri" ] && break
	done
	if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" && $2 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
			/etc/apt/sources.list)
	fi
	echo "$uri"
}

apt_dir=$cache/apt
apt_side_options "$apt_dir" -o "APT::Architecture=amd64"
apt_opts=("${apt_side_opts[@]}")

side_apt_update() {
	local uri
	uri=$(archive_uri)
	[ -n "$uri" ] || skip "no Debian archive URI in /etc/apt sources"
	apt_side_prepare "$apt_dir"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" \
		>"$apt_dir/sources.list"
	log "apt update ($suite, side configuration)"
	# apt-get update succeeds even when nothing could be fetched.
	if ! apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 ||
		! compgen -G "$apt_dir/lists/*_${suite}_*Packages*" >/dev/null; then
		skip "cannot reach the archive $uri for $suite (see $apt_dir/update.log)"
	fi
}

# Pins the kernel release on first use so later runs need no index.
resolve_kernel() {
	if [ -s "$cache/kver" ]; then
		kver=$(cat "$cache/kver")
		pkgver=$(cat "$cache/pkgver")
		return
	fi
	side_apt_update
	kver=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null |
		sed -n "s/.*Depends: linux-image-\($kseries\.[0-9]*+deb13-amd64\)$/\1/p" | head -n1) || true
	[ -n "$kver" ] || die "no linux-image-$kseries.*+deb13-amd64 in $suite"
	pkgver=$(apt-cache "${apt_opts[@]}" show "linux-image-$kver" |
		sed -n 's/^Version: //p' | head -n1)
	local sources
	sources=$(apt-cache "${apt_opts[@]}" madison "linux-source-$kseries" 2>/dev/null) || true
	grep -q " $pkgver " <<<"$sources" ||
		die "linux-source-$kseries $pkgver not in the archive (kernel $kver)"
	echo "$kver" >"$cache/kver"
	echo "$pkgver" >"$cache/pkgver"
}

download() {
	local kabi=${kver%-amd64}
	local pkgs=("linux-image-$kver" "linux-headers-$kver" "linux-headers-$kabi-common"
		"linux-kbuild-$kabi" "linux-source-$kseries")
	local p want=()
	mkdir -p "$cache/debs"
	for p in "${pkgs[@]}"; do
		compgen -G "$cache/debs/${p}_${pkgver}_*.deb" >/dev/null || want+=("$p=$pkgver")
	done
	[ ${#want[@]} -eq 0 ] && return 0
	if ! compgen -G "$apt_dir/lists/*Packages*" >/dev/null; then
		side_apt_update
	fi
	log "downloading ${want[*]}"
	(cd "$cache/debs" && apt-get "${apt_opts[@]}" -q download "${want[@]}") \
		>"$cache/debs/download.log" 2>&1 ||
		skip "cannot download kernel packages (see $cache/debs/download.log)"
}

unpack() {
	[ -e "$cache/root/.stamp-$pkgver" ] && return 0
	log "unpacking packages"
	rm -rf "$cache/root"
	mkdir -p "$cache/root"
	local d
	for d in "$cache"/debs/*_"$pkgver"_*.deb; do
		dpkg -x "$d" "$cache/root"
	done
	touch "$cache/root/.stamp-$pkgver"
}

# --- iommufd and vfio modules ----------------------------------------------

src=$cache/linux-source-$kseries
mods=$cache/modules
# Bump when the way the modules are built changes: cached modules are rebuilt.
recipe=1

# The stock kernel is built without iommufd, so two helpers iommufd needs are
# not in it: iova_bitmap (IOMMUFD_DRIVER) and the interval-tree span iterator
# (INTERVAL_TREE_SPAN_ITER).  Both are compiled into iommufd.ko.  The span
# iterator's file also defines the plain tree functions, which the kernel
# already exports, so this module's copies are renamed.
patch_iommufd() {
	local d=$src/drivers/iommu/iommufd
	cat >"$d/svio_span_iter.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/* Added by svio test/vm: the span iterator for a kernel built without it. */
#define interval_tree_insert svio_vm_interval_tree_insert
#define interval_tree_remove svio_vm_interval_tree_remove
#define interval_tree_iter_first svio_vm_interval_tree_iter_first
#define interval_tree_iter_next svio_vm_interval_tree_iter_next
#include "../../../lib/interval_tree.c"
EOF
	if ! grep -q svio_span_iter "$d/Makefile"; then
		sed -i 's/^obj-\$(CONFIG_IOMMUFD_DRIVER) += iova_bitmap.o$//' "$d/Makefile"
		printf '%s\n' 'iommufd-y += iova_bitmap.o svio_span_iter.o' >>"$d/Makefile"
	fi
}

build_modules() {
	[ -e "$mods/.stamp-$pkgver-$recipe" ] && return 0
	local hdr=$cache/root/usr/src/linux-headers-$kver
	[ -r "$hdr/Module.symvers" ] || die "no Module.symvers in $hdr"

	if [ ! -e "$src/.stamp-unpacked-$pkgver" ]; then
		log "unpacking linux-source-$kseries"
		rm -rf "$src"
		tar -xf "$cache/root/usr/src/linux-source-$kseries.tar.xz" -C "$cache"
		touch "$src/.stamp-unpacked-$pkgver"
	fi
	patch_iommufd

	log "configuring $kver with IOMMUFD=m VFIO_DEVICE_CDEV=y"
	cp "$cache/root/boot/config-$kver" "$src/.config"
	# Release string must equal the running kernel's (vermagic); signing
	# keys are Debian's and not here, so modules stay unsigned (the kernel
	# does not enforce signatures).  Debug-info and BTF options stay as
	# they are: they change what the kernel accepts.
	"$src/scripts/config" --file "$src/.config" \
		--set-str LOCALVERSION "+${kver#*+}" \
		--disable LOCALVERSION_AUTO \
		--module IOMMUFD \
		--enable VFIO_DEVICE_CDEV \
		--disable IOMMUFD_TEST \
		--disable MODULE_SIG_ALL \
		--set-str MODULE_SIG_KEY "" \
		--set-str SYSTEM_TRUSTED_KEYS "" \
		--set-str SYSTEM_REVOCATION_KEYS ""
	local mk=(make -C "$src" -j"$jobs" LOCALVERSION=)
	"${mk[@]}" olddefconfig >"$cache/build.log" 2>&1 || die "olddefconfig failed (see $cache/build.log)"
	grep -q '^CONFIG_IOMMUFD=m' "$src/.config" || die "IOMMUFD=m did not stick"
	grep -q '^CONFIG_VFIO_DEVICE_CDEV=y' "$src/.config" || die "VFIO_DEVICE_CDEV=y did not stick"

	log "modules_prepare (a few minutes on 2 cores)"
	"${mk[@]}" modules_prepare >>"$cache/build.log" 2>&1 ||
		die "modules_prepare failed (see $cache/build.log)"
	local rel
	rel=$(cat "$src/include/config/kernel.release")
	[ "$rel" = "$kver" ] || die "built release $rel does not match $kver"
	cp "$hdr/Module.symvers" "$src/Module.symvers"

	log "building iommufd.ko and the vfio modules"
	"${mk[@]}" M=drivers/iommu/iommufd modules >>"$cache/build.log" 2>&1 ||
		die "iommufd build failed (see $cache/build.log)"
	"${mk[@]}" M=drivers/vfio \
		KBUILD_EXTRA_SYMBOLS="$src/drivers/iommu/iommufd/Module.symvers" modules \
		>>"$cache/build.log" 2>&1 || die "vfio build failed (see $cache/build.log)"
	if grep -E 'WARNING: modpost: .*undefined' "$cache/build.log"; then
		die "modules reference symbols the kernel lacks (see $cache/build.log)"
	fi
	local magic
	magic=$(modinfo -F vermagic "$src/drivers/iommu/iommufd/iommufd.ko")
	[ "${magic%% *}" = "$kver" ] || die "iommufd.ko vermagic '$magic' is not for $kver"

	rm -rf "$mods"
	mkdir -p "$mods"
	(cd "$src" && find drivers/iommu/iommufd drivers/vfio -name '*.ko' -print0 |
		xargs -0 -I{} cp --parents {} "$mods/")
	touch "$mods/.stamp-$pkgver-$recipe"
}

# --- initramfs -------------------------------------------------------------

# Module lists, each loaded in dependency order (kmod works the order out at
# prepare time).  base: the 9p share that carries the host's root, overlay for
# a writable /tmp over the host's, iommufd and vfio-pci.  net and nvme: the
# kernel's own drivers, for runs that leave devices to them.
base_modules=(9p 9pnet_virtio overlay iommufd vfio vfio_iommu_type1 vfio-pci)
net_modules=(virtio_net)
nvme_modules=(nvme)

# pack_modules STAGE IR LIST MODULE...: copies MODULE and what it needs into
# IR/lib/modules (decompressed) and lists their files in LIST.list.
pack_modules() {
	local stage=$1 ir=$2
	local list=$ir/lib/modules/$3.list
	shift 3
	local want line path file deps
	: >"$list"
	for want in "$@"; do
		deps=$(modprobe -d "$stage" -S "$kver" --show-depends "$want") ||
			die "modprobe cannot resolve $want"
		while read -r line; do
			case $line in
			insmod*) path=${line#insmod } && path=${path%% *} ;;
			*) continue ;; # built into the kernel
			esac
			file=$(basename "$path")
			file=${file%.xz}
			grep -qx "$file" "$ir"/lib/modules/*.list && continue
			case $path in
			*.xz) xz -dc "$path" >"$ir/lib/modules/$file" ;;
			*) cp "$path" "$ir/lib/modules/$file" ;;
			esac
			echo "$file" >>"$list"
		done <<<"$deps"
	done
}

initramfs() {
	local out=$cache/initramfs.cpio.gz
	# Rebuilt when the init script, the module lists (here) or the modules change.
	if [ -e "$out" ] && [ "$out" -nt "$here/guest-init.sh" ] && [ "$out" -nt "$here/prepare.sh" ] &&
		[ "$out" -nt "$mods/.stamp-$pkgver-$recipe" ]; then
		return 0
	fi
	log "building the initramfs"
	local stage=$cache/modtree ir=$cache/initramfs
	rm -rf "$stage" "$ir"
	mkdir -p "$stage/lib/modules"
	cp -a "$cache/root/usr/lib/modules/$kver" "$stage/lib/modules/"
	local m base
	# Rebuilt modules replace the stock ones at the same place.
	while IFS= read -r -d '' m; do
		base=$stage/lib/modules/$kver/kernel/${m#"$mods"/}
		rm -f "$base" "$base.xz"
		mkdir -p "$(dirname "$base")"
		cp "$m" "$base"
	done < <(find "$mods" -name '*.ko' -print0)
	depmod -b "$stage" "$kver"

	mkdir -p "$ir"/{bin,dev,proc,sys,tmp,host,mnt,lib/modules}
	cp /bin/busybox "$ir/bin/busybox"
	cp "$here/guest-init.sh" "$ir/init"
	chmod 755 "$ir/init"
	pack_modules "$stage" "$ir" base "${base_modules[@]}"
	pack_modules "$stage" "$ir" net "${net_modules[@]}"
	pack_modules "$stage" "$ir" nvme "${nvme_modules[@]}"
	(cd "$ir" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$out.tmp"
	mv "$out.tmp" "$out"
}

# --- probe and disk --------------------------------------------------------

probe() {
	local out=$cache/iommufd_probe
	[ -x "$out" ] && [ "$out" -nt "$here/iommufd_probe.c" ] && return 0
	log "building iommufd_probe"
	# The probe carries its own ABI definitions; check them against the
	# uapi headers of the kernel it will run on.
	local uapi=$cache/uapi
	mkdir -p "$uapi/linux"
	local from=$cache/root/usr/src/linux-headers-${kver%-amd64}-common/include/uapi/linux
	cp "$from/iommufd.h" "$from/vfio.h" "$uapi/linux/"
	cc -std=gnu11 -fsyntax-only -Wall -Wextra -Werror -DPROBE_CHECK_UAPI -D__user= \
		-I "$uapi" "$here/iommufd_probe.c" ||
		die "iommufd_probe's ABI definitions differ from the $kver uapi headers"
	cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$out.tmp" "$here/iommufd_probe.c"
	mv "$out.tmp" "$out"
}

# --- main ------------------------------------------------------------------

main() {
	mkdir -p "$cache"
	# One prepare at a time per cache: runs may start in parallel.
	exec 9>"$cache/.prepare.lock"
	flock 9
	[ -e "$cache/ready" ] && [ "$cache/ready" -nt "$here/prepare.sh" ] &&
		[ "$cache/ready" -nt "$here/guest-init.sh" ] &&
		[ "$cache/ready" -nt "$here/iommufd_probe.c" ] && exit 0

	if [ ! -e "$mods/.stamp-$(cat "$cache/pkgver" 2>/dev/null || echo none)-$recipe" ]; then
		local avail
		avail=$(df -Pm "$cache" | awk 'NR == 2 { print $4 }')
		[ "$avail" -ge "$need_disk_mb" ] ||
			skip "need ${need_disk_mb} MB free under $cache, have $avail MB"
	fi
	host_packages
	resolve_kernel
	download
	unpack
	build_modules
	initramfs
	probe
	echo "$kver" >"$cache/ready"
	log "ready: kernel $kver"
}

# exit on the same line: bash reads scripts as it runs them, and this one may
# be edited meanwhile.
main "$@"; exit
