#!/usr/bin/env bash
# libsvio.so exports the public API and nothing else: every exported name has
# the svio_ prefix, the exported set is exactly libsvio.map's list, every name
# on that list is declared in an installed header, and every function or
# variable an installed header declares (static inlines aside) is on the list.
# Usage: exported_symbols.sh LIBSVIO_SO LIBSVIO_MAP INSTALLED_HEADER...
set -euo pipefail
lib=$1
map=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

nm -D --defined-only "$lib" | awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$tmp/exported"
[ -s "$tmp/exported" ] || { echo "$lib exports nothing: not a built libsvio?"; exit 1; }
sed -n 's/^[[:space:]]*\(svio_[A-Za-z0-9_]*\);.*/\1/p' "$map" | sort -u >"$tmp/listed"

if grep -v '^svio_' "$tmp/exported" >"$tmp/unprefixed"; then
	echo "$lib exports $(wc -l <"$tmp/unprefixed") symbols without the svio_ prefix:"
	sed 's/^/  /' "$tmp/unprefixed"
	status=1
fi
if comm -23 "$tmp/exported" "$tmp/listed" | grep . >"$tmp/unlisted"; then
	echo "exported but not in $map:"
	sed 's/^/  /' "$tmp/unlisted"
	status=1
fi
if comm -13 "$tmp/exported" "$tmp/listed" | grep . >"$tmp/missing"; then
	echo "in $map but not exported (gone from the library?):"
	sed 's/^/  /' "$tmp/missing"
	status=1
fi
while read -r sym; do
	grep -qw -- "$sym" "$@" || { echo "$sym is exported but no installed header declares it"; status=1; }
done <"$tmp/listed"
# Declarations start a line with their type and name the function or variable
# on that line (the tree's style); comments, directives and inlines are not.
cat "$@" | grep -vE '^[[:space:]]*(\*|/\*|//|#)|static inline|^(struct|union|enum) [a-z0-9_]+;' |
	sed -nE 's/^[A-Za-z_][^(;=]*[ *](svio_[a-z0-9_]+)(\(|\[|;).*/\1/p' | sort -u >"$tmp/declared"
if comm -23 "$tmp/declared" "$tmp/listed" | grep . >"$tmp/unexported"; then
	echo "declared in an installed header but not in $map (programs cannot link it):"
	sed 's/^/  /' "$tmp/unexported"
	status=1
fi

[ "$status" -ne 0 ] || echo "libsvio.so exports $(wc -l <"$tmp/exported") symbols, all public svio_ API"
exit "$status"
