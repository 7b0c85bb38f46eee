#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# svio-srcpkg.sh PACKAGE BINARY-PACKAGE: print the path of the unpacked Debian
# source tree of PACKAGE at exactly the version of BINARY-PACKAGE installed on
# this machine (e.g. "dpdk libdpdk-dev", "fio fio").
#
# Debian's binary packages lack headers svio builds against (DPDK's driver SDK,
# fio's engine headers); they come from the source package, never from the
# tree.  apt fetches it through a side configuration whose deb-src entries are
# derived from the system's own sources, so no archive address is written into
# the project and the system's apt state is not touched.  The tree is unpacked
# with dpkg-source (Debian's patches applied, as in Debian's build) into the
# cache (SVIO_SRCPKG_CACHE, default build-srcpkg/ at the top of the tree) and
# reused while the installed version stays the same.
#
# Output: the source tree's path on stdout; messages on stderr.  Exit status:
# 0 ready, 1 a real failure (says what), 77 the archive cannot be reached.
set -euo pipefail

die() {
	printf 'svio-srcpkg: %s\n' "$*" >&2
	exit "${2:-1}"
}

[ $# -eq 2 ] || die "usage: svio-srcpkg.sh SOURCE-PACKAGE INSTALLED-BINARY-PACKAGE"
src=$1
bin=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=devtools/apt-side.sh
source "$root/devtools/apt-side.sh"
cache=${SVIO_SRCPKG_CACHE:-$root/build-srcpkg}

ver=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$bin" 2>/dev/null) || ver=
case $ver in
"installed "*) ver=${ver#installed } ;;
*) die "$bin is not installed: the $src source must match an installed version" ;;
esac
upstream=${ver#*:}
upstream=${upstream%-*}
tree=$cache/$src-$ver
if [ -f "$tree/.svio-complete" ]; then
	echo "$tree"
	exit 0
fi

command -v dpkg-source >/dev/null || die "dpkg-source missing (install dpkg-dev)"

# deb-src stanzas from the system's deb822 sources (or one-line sources.list):
# same URIs, suites, components and keys, with Types: deb-src.
apt_dir=$cache/apt
apt_side_prepare "$apt_dir"
: >"$apt_dir/sources.list"
out=$apt_dir/sources.list.d/system-src.sources
: >"$out"
for f in /etc/apt/sources.list.d/*.sources; do
	[ -r "$f" ] || continue
	awk '/^Types:/ { print "Types: deb-src"; next } { print }
		END { print "" }' "$f" >>"$out"
done
if [ -r /etc/apt/sources.list ]; then
	awk '$1 == "deb" { $1 = "deb-src"; print }' /etc/apt/sources.list \
		>>"$apt_dir/sources.list"
fi
grep -q '^Types: deb-src' "$out" || grep -q '^deb-src' "$apt_dir/sources.list" ||
	die "no Debian archive in the system's apt sources" 77

apt_side_options "$apt_dir"
apt_opts=("${apt_side_opts[@]}")

printf 'svio-srcpkg: fetching %s %s (Debian source package)\n' "$src" "$ver" >&2
if ! apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 ||
	! compgen -G "$apt_dir/lists/*Sources*" >/dev/null; then
	die "cannot reach the Debian archive for sources (see $apt_dir/update.log)" 77
fi
dl=$cache/dl-$src-$ver
rm -rf "$dl" "$tree"
mkdir -p "$dl"
(cd "$dl" && apt-get "${apt_opts[@]}" -q source --download-only "$src=$ver") \
	>"$dl/source.log" 2>&1 ||
	die "cannot download the $src $ver source package (see $dl/source.log)"
dsc=$(compgen -G "$dl/${src}_*.dsc" | head -n1) || true
[ -n "$dsc" ] || die "no .dsc for $src $ver in $dl"
dpkg-source --no-check -x "$dsc" "$tree" >"$dl/extract.log" 2>&1 ||
	die "cannot unpack $dsc (see $dl/extract.log)"
[ -d "$tree" ] || die "dpkg-source made no $tree"
echo "$upstream" >"$tree/.svio-upstream"
touch "$tree/.svio-complete"
# dpkg-source links the upstream tarball beside the tree: not needed after.
rm -rf "$dl" "$cache/${src}_${upstream}".orig.tar.*
echo "$tree"
