# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# A side apt configuration: apt-get and apt-cache run against their own
# sources, index lists, status file and package cache under one folder, so
# packages of another suite (test/vm/prepare.sh) or source packages
# (devtools/svio-srcpkg.sh) can be fetched without touching the system's apt
# state.  Sourced; the caller writes the sources into DIR/sources.list or
# DIR/sources.list.d/.

# apt_side_options DIR [OPTION...]: set the array apt_side_opts to the apt
# options that make apt use DIR, followed by OPTION... (more -o pairs).
apt_side_options() {
	local dir=$1
	shift
	# shellcheck disable=SC2034 # read by the caller
	apt_side_opts=(-o "Dir::Etc::sourcelist=$dir/sources.list"
		-o "Dir::Etc::sourceparts=$dir/sources.list.d"
		-o "Dir::Etc::preferences=$dir/preferences"
		-o "Dir::Etc::preferencesparts=$dir/preferences.d"
		-o "Dir::State::Lists=$dir/lists"
		-o "Dir::State::status=$dir/status"
		-o "Dir::Cache=$dir/cache"
		-o "Dir::Cache::Archives=$dir/archives"
		"$@"
		-o "APT::Sandbox::User=root")
}

# apt_side_prepare DIR: the folders apt expects under DIR and an empty status
# (nothing is installed in a side configuration).
apt_side_prepare() {
	local dir=$1
	mkdir -p "$dir"/{sources.list.d,preferences.d,lists/partial,cache,archives/partial}
	: >"$dir/status"
}
