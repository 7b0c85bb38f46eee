#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# inv-summary.sh TRACE [FROM TO]: one JSON line counting the VT-d invalidation
# descriptors in a QEMU trace of the vtd_inv_desc* events (run with
# -msg timestamp=on so that each line carries the host time).
#
#   {"vtd_inv_desc":{"cmd":{...},"run":{...}}}
#
# "run" counts the whole trace (guest boot included); "cmd" only the lines
# stamped between FROM and TO (host seconds since the epoch: when the guest
# started and finished the command), or is absent without them.  Each has
# "total", "by_type" (every descriptor QEMU's intel-iommu processed, by type;
# iotlb, device, context-cache, iec and wait are always present) and "events"
# (each detailed vtd_inv_desc_* event: page-selective vs domain-wide IOTLB,
# wait kinds...).

set -euo pipefail

trace=${1:?usage: inv-summary.sh TRACE [FROM TO]}
from=${2:-}
to=${3:-}
[ -r "$trace" ] || {
	echo "inv-summary: no trace $trace" >&2
	exit 1
}

awk -v from="$from" -v to="$to" '
	function count(w, ev, type) {
		if (ev == "vtd_inv_desc") {
			by[w, type]++
			total[w]++
		} else {
			events[w, ev]++
			names[ev] = 1
		}
		types[type] = 1
	}
	function emit(w,    i, t, e, sep) {
		printf "\"%s\":{\"total\":%d,\"by_type\":{", w, total[w]
		for (i = 1; i <= nfixed; i++)
			printf "%s\"%s\":%d", (i > 1 ? "," : ""), fixed[i], by[w, fixed[i]]
		for (t in types)
			if (t != "" && !(t in isfixed))
				printf ",\"%s\":%d", t, by[w, t]
		printf "},\"events\":{"
		sep = ""
		for (e in names)
			if ((w, e) in events) {
				printf "%s\"%s\":%d", sep, substr(e, 14), events[w, e]
				sep = ","
			}
		printf "}}"
	}
	BEGIN {
		nfixed = split("iotlb device context-cache iec wait", fixed, " ")
		for (i = 1; i <= nfixed; i++)
			isfixed[fixed[i]] = 1
		window = (from != "" && to != "")
	}
	match($0, /vtd_inv_desc[a-z_]*/) {
		ev = substr($0, RSTART, RLENGTH)
		type = ""
		if (ev == "vtd_inv_desc") {
			if (!match($0, / type [^ ]+/))
				next
			type = substr($0, RSTART + 6, RLENGTH - 6)
		}
		count("run", ev, type)
		if (window && match($0, /^[0-9]+@[0-9.]+:/)) {
			t = substr($0, index($0, "@") + 1) + 0
			if (t >= from + 0 && t <= to + 0)
				count("cmd", ev, type)
		}
	}
	END {
		printf "{\"vtd_inv_desc\":{"
		if (window) {
			emit("cmd")
			printf ","
		}
		emit("run")
		printf "}}\n"
	}' "$trace"
