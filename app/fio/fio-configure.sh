#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fio-configure.sh FIO-SOURCE DEST: copy the fio source tree (from
# devtools/svio-srcpkg.sh fio fio) to DEST and run fio's ./configure there the
# way Debian's debian/rules does, so config-host.h describes the installed fio.
# Prints DEST. The engine build includes DEST/config-host.h.
#
# Debian passes: --disable-native --prefix=/usr --enable-gfio --enable-libnbd.
# --enable-gfio and --enable-libnbd are left out: they need GTK and libnbd
# development packages, and only add the gfio program and the nbd engine;
# neither changes a header the engine includes nor a struct layout. The
# debian/rules line is read so that a change there is noticed here.
set -euo pipefail

src=$1
dest=$2
want="--disable-native --prefix=/usr --enable-gfio --enable-libnbd"
have=$(sed -n 's/^[[:space:]]*\.\/configure[[:space:]]*//p' "$src/debian/rules")
if [ "$have" != "$want" ]; then
	echo "fio-configure: $src/debian/rules configures with '$have', not '$want':" \
		"review app/fio/fio-configure.sh" >&2
	exit 1
fi
ver=$(cat "$src/.svio-upstream")
if [ -f "$dest/config-host.h" ] && [ "$(cat "$dest/.svio-upstream" 2>/dev/null)" = "$ver" ]; then
	echo "$dest"
	exit 0
fi
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -a "$src" "$dest"
# Never run ./configure --help after this: it empties config-host.h.
(cd "$dest" && ./configure --disable-native --prefix=/usr) >"$dest.configure.log" 2>&1 || {
	cat "$dest.configure.log" >&2
	exit 1
}
grep -q CONFIG_ "$dest/config-host.h" || {
	echo "fio-configure: $dest/config-host.h is empty" >&2
	exit 1
}
echo "$dest"
