#!/usr/bin/env bash
# An application outside the tree builds against the installed libsvio with
# pkg-config alone, and runs.
# Usage: out_of_tree.sh BUILD_DIR SOURCE_DIR [SANITIZERS]
# SANITIZERS is meson's b_sanitize of the build: an instrumented libsvio needs
# an instrumented application.
set -euo pipefail
build=$1
src=$2
sanitize=${3:-none}
san_flags=()
[ "$sanitize" = none ] || san_flags=(-fsanitize="$sanitize")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet >/dev/null
pc=$(find "$tmp/root" -name libsvio.pc | head -n 1)
[ -n "$pc" ] || { echo "libsvio.pc was not installed"; exit 1; }
# The install was staged under $tmp/root: point the .pc file there.
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed -i "s#^prefix=.*#prefix=$tmp/root$prefix#" "$pc"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")

mkdir "$tmp/app"
cp "$src/examples/hello/main.c" "$tmp/app/hello.c"
cp "$src/examples/nvme_hello/main.c" "$tmp/app/nvme_hello.c"
cd "$tmp/app"
for prog in hello nvme_hello; do
	# shellcheck disable=SC2046
	cc -std=gnu11 -Wall -Wextra -Werror "${san_flags[@]}" $prog.c -o $prog \
		$(pkg-config --cflags --libs libsvio)
done
libdir=$(pkg-config --variable=libdir libsvio)
eal=(--no-huge -m 64 --no-shconf --no-telemetry --log-level='*:error')
LD_LIBRARY_PATH="$libdir" ./hello "${eal[@]}" --vdev sim_scratch0 -- --pages 4 | tee out.txt
grep -q "sim_scratch0: wrote and read back 16384 bytes" out.txt
LD_LIBRARY_PATH="$libdir" ./nvme_hello "${eal[@]}" --vdev sim_nvme0,size=64M
echo "out-of-tree builds against libsvio (svio-hello, nvme-hello): ok"
