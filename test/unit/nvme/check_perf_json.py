#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run svio-perf with --output-format=json and check the report's layout.

Usage: check_perf_json.py SVIO_PERF [svio-perf arguments...]
The fields checked are the ones fio has (jobs[].read/write) plus svio's own.
"""
import json
import subprocess
import sys


def fail(msg):
    print("check_perf_json: " + msg, file=sys.stderr)
    sys.exit(1)


def check_dir(where, d):
    for key in ("io_bytes", "io_kbytes", "bw", "bw_bytes", "iops", "runtime", "total_ios",
                "lat_ns"):
        if key not in d:
            fail(f"{where}: no '{key}'")
    lat = d["lat_ns"]
    for key in ("min", "max", "mean", "stddev", "N", "percentile"):
        if key not in lat:
            fail(f"{where}.lat_ns: no '{key}'")
    if d["total_ios"] > 0:
        if not lat["min"] <= lat["mean"] <= lat["max"]:
            fail(f"{where}.lat_ns: min/mean/max out of order")
        pct = [lat["percentile"][k] for k in sorted(lat["percentile"], key=float)]
        if pct != sorted(pct):
            fail(f"{where}.lat_ns.percentile: not monotonic")
        if d["io_bytes"] != d["total_ios"] * int(REPORT["global options"]["bs"]):
            fail(f"{where}: io_bytes is not total_ios * bs")


out = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=False)
if out.returncode != 0:
    fail(f"svio-perf exited with {out.returncode}")
try:
    REPORT = json.loads(out.stdout)
except json.JSONDecodeError as e:
    fail(f"not JSON: {e}")
jobs = REPORT.get("jobs")
if not jobs:
    fail("no jobs[]")
total = 0
for i, job in enumerate(jobs):
    for d in ("read", "write"):
        if d not in job:
            fail(f"jobs[{i}]: no '{d}'")
        check_dir(f"jobs[{i}].{d}", job[d])
        total += job[d]["total_ios"]
    if job.get("verify_errors") != 0:
        fail(f"jobs[{i}]: verify_errors {job.get('verify_errors')}")
svio = REPORT.get("svio", {})
if "iommu" not in svio or "maps" not in svio["iommu"] or svio["iommu"].get("stale_uses") != 0:
    fail("svio.iommu missing, incomplete, or reports stale uses")
if svio.get("verify_errors") != 0:
    fail("svio.verify_errors is not 0")
if total == 0:
    fail("no I/O at all")
if svio["read"]["total_ios"] + svio["write"]["total_ios"] != total:
    fail("svio totals do not add up to the jobs")
print(f"check_perf_json: {len(jobs)} job(s), {total} I/Os, layout ok")
