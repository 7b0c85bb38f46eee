#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run svio-perf with --output-format=json and check the report.

Usage: check_perf_json.py [checks...] SVIO_PERF [svio-perf arguments...]
Checks (before the program):
  --readback          the verify read-back phase read blocks (verify_reads > 0)
  --readback-all=N    sequential writes: the read-back read every block written,
                      N per controller and job slice at most (so exactly
                      min(N * controllers, writes) when the run did not wrap)
  --expect-verify-errors
                      svio-perf must exit non-zero with verify_errors > 0
                      (a device model corrupting data on purpose)
  --expect-stale-uses svio-perf must exit non-zero with svio.iommu.stale_uses > 0
                      (an IOMMU model dropping invalidations on purpose; the
                      stale uses may also show as I/O or verify errors)
Always: fio's fields (jobs[].read/write) and svio's own are there and
consistent, and (without --expect-stale-uses) the IOMMU counted no stale use.
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


want_readback = False
readback_all = None
expect_errors = False
expect_stale = False
args = sys.argv[1:]
while args and args[0].startswith("--"):
    opt = args.pop(0)
    if opt == "--readback":
        want_readback = True
    elif opt.startswith("--readback-all="):
        readback_all = int(opt.split("=", 1)[1])
    elif opt == "--expect-verify-errors":
        expect_errors = True
    elif opt == "--expect-stale-uses":
        expect_stale = True
    else:
        fail(f"unknown check {opt}")
if not args:
    fail("no program to run")

out = subprocess.run(args, stdout=subprocess.PIPE, check=False)
if expect_errors and out.returncode == 0:
    fail("svio-perf exited with 0 although its device corrupted data")
if expect_stale and out.returncode == 0:
    fail("svio-perf exited with 0 although its IOMMU dropped invalidations")
if not (expect_errors or expect_stale) and out.returncode != 0:
    fail(f"svio-perf exited with {out.returncode}")
try:
    REPORT = json.loads(out.stdout)
except json.JSONDecodeError as e:
    fail(f"not JSON: {e}")
jobs = REPORT.get("jobs")
if not jobs:
    fail("no jobs[]")
total = 0
sums = {"verify_errors": 0, "verify_reads": 0, "verify_checked": 0, "io_errors": 0}
for i, job in enumerate(jobs):
    for d in ("read", "write"):
        if d not in job:
            fail(f"jobs[{i}]: no '{d}'")
        check_dir(f"jobs[{i}].{d}", job[d])
        total += job[d]["total_ios"]
    for key in sums:
        if key not in job:
            fail(f"jobs[{i}]: no '{key}'")
        sums[key] += job[key]
    if job["verify_checked"] < job["verify_reads"]:
        fail(f"jobs[{i}]: fewer reads checked than read back")
    if job["verify_interrupted"]:
        fail(f"jobs[{i}]: read-back interrupted")
    if not (expect_errors or expect_stale) and job["verify_errors"] != 0:
        fail(f"jobs[{i}]: verify_errors {job['verify_errors']}")
svio = REPORT.get("svio", {})
if "iommu" not in svio or "maps" not in svio["iommu"] or "stale_uses" not in svio["iommu"]:
    fail("svio.iommu missing or incomplete")
if expect_stale:
    if svio["iommu"]["stale_uses"] == 0:
        fail("svio-perf failed, but the IOMMU counted no stale use")
elif svio["iommu"]["stale_uses"] != 0:
    fail(f"svio.iommu reports {svio['iommu']['stale_uses']} stale uses")
for key, value in sums.items():
    if svio.get(key) != value:
        fail(f"svio.{key} {svio.get(key)} is not the jobs' sum {value}")
if expect_errors:
    if svio["verify_errors"] == 0:
        fail("svio-perf failed, but not with verify errors")
elif not expect_stale and (svio["verify_errors"] != 0 or svio["io_errors"] != 0):
    fail(f"svio.verify_errors {svio['verify_errors']}, io_errors {svio['io_errors']}")
if total == 0:
    fail("no I/O at all")
if svio["read"]["total_ios"] + svio["write"]["total_ios"] != total:
    fail("svio totals do not add up to the jobs")
if want_readback and svio["verify_reads"] == 0:
    fail("the verify read-back read nothing")
if readback_all is not None:
    for i, job in enumerate(jobs):
        # Sequential writes, no write error: every distinct block written is read back.
        slots = readback_all * len(svio["devices"])
        expect = min(slots, job["write"]["total_ios"])
        if job["verify_reads"] != expect:
            fail(f"jobs[{i}]: read back {job['verify_reads']} blocks, wrote {expect} distinct")
print(f"check_perf_json: {len(jobs)} job(s), {total} I/Os, {svio['verify_reads']} read back, "
      f"{svio['verify_checked']} checked, {svio['verify_errors']} verify errors, "
      f"{svio['iommu']['stale_uses']} stale uses: ok")
