#!/usr/bin/env bash
# Install what svio needs on Debian 12 (apt, as root or through sudo), then
# configure and build BUILD_DIR (default: build). Sourced by the other scripts.
set -euo pipefail

# iproute2 and iputils-ping: net_ping_veth (veth, network namespaces, ping) would
# skip without them on a fresh machine; python3-sphinx builds doc/ (the docs test).
SVIO_PACKAGES=(build-essential meson ninja-build pkg-config python3
	libdpdk-dev dpdk-dev liburcu-dev libnuma-dev libcmocka-dev fio
	iproute2 iputils-ping python3-sphinx)

svio_root() {
	cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd
}

svio_install_packages() {
	local missing=() p
	for p in "${SVIO_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "setup: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# svio_build DIR [meson options...]: configure once, then build warning-free.
svio_build() {
	local dir=$1
	shift
	local root
	root=$(svio_root)
	if [ ! -f "$root/$dir/build.ninja" ]; then
		meson setup "$root/$dir" "$root" --werror "$@" >"$root/$dir.setup.log" 2>&1 ||
			{ cat "$root/$dir.setup.log"; return 1; }
	fi
	ninja -C "$root/$dir" >"$root/$dir.build.log" 2>&1 ||
		{ cat "$root/$dir.build.log"; return 1; }
}
