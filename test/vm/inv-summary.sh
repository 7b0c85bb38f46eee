#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# inv-summary.sh TRACE: one JSON line counting the VT-d invalidation
# descriptors in a QEMU trace of the vtd_inv_desc* events.  "by_type" counts
# every descriptor QEMU's intel-iommu processed by its type (iotlb, device,
# context-cache, iec, wait always present); "events" counts each detailed
# vtd_inv_desc_* event (page-selective vs domain-wide IOTLB, wait kinds...).

set -euo pipefail

trace=${1:?usage: inv-summary.sh TRACE}
[ -r "$trace" ] || {
	echo "inv-summary: no trace $trace" >&2
	exit 1
}

awk '
	match($0, /vtd_inv_desc[a-z_]*/) {
		ev = substr($0, RSTART, RLENGTH)
		if (ev == "vtd_inv_desc") {
			if (match($0, / type [^ ]+/)) {
				type = substr($0, RSTART + 6, RLENGTH - 6)
				by[type]++
				total++
			}
		} else {
			events[substr(ev, 14)]++
		}
	}
	END {
		split("iotlb device context-cache iec wait", fixed, " ")
		for (i = 1; i <= 5; i++)
			by[fixed[i]] += 0
		printf "{\"vtd_inv_desc\":{\"total\":%d,\"by_type\":{", total
		sep = ""
		for (i = 1; i <= 5; i++) {
			printf "%s\"%s\":%d", sep, fixed[i], by[fixed[i]]
			sep = ","
			seen[fixed[i]] = 1
		}
		for (t in by)
			if (!(t in seen))
				printf ",\"%s\":%d", t, by[t]
		printf "},\"events\":{"
		sep = ""
		for (e in events) {
			printf "%s\"%s\":%d", sep, e, events[e]
			sep = ","
		}
		printf "}}}\n"
	}' "$trace"
