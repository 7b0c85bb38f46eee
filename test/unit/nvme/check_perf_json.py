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
                      svio-perf must exit 1 with verify_errors > 0
                      (a device model corrupting data on purpose)
  --expect-verify-errors=all
                      the same, and every read checked failed (a model that
                      drops every write: no block may pass on older data)
  --first-run-without=STR
                      first run the same command with STR cut out of every
                      argument (e.g. ",drop_writes=1"); that run must pass.
                      With a file= namespace, the checked run then starts on
                      the first run's data (and must not take it for its own)
  --scratch-file=PATH remove PATH before the runs and after
  --interrupt-readback
                      send SIGINT once svio-perf says the read-back started
                      (needs --status-interval > 0); it must exit 2 with
                      svio.verify_interrupted and no error
  --expect-namespaces=N
                      svio.namespaces lists N namespaces, each of which had
                      timed I/O, and their I/O adds up to the jobs'
  --expect-xfer=BYTES every namespace moved BYTES a command (svio.namespaces
                      xfer_bytes: --bs plus extended metadata)
  --expect-refusal=REGEX
                      svio-perf must exit 1 before any I/O, its stderr
                      matching REGEX (a setup the driver or svio-perf refuses)
  --expect-stale-uses svio-perf must exit non-zero with svio.iommu.stale_uses > 0
                      (an IOMMU model dropping invalidations on purpose; the
                      stale uses may also show as I/O or verify errors)
Always: fio's fields (jobs[].read/write) and svio's own are there and
consistent (with --dma=map-per-io: at least one map per timed I/O in
svio.iommu and per block read back in svio.verify_iommu), and (without --expect-stale-uses) the IOMMU counted no stale use
(timed phase, svio.iommu, plus read-back, svio.verify_iommu).
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile


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


def remove(path):
    if path is not None and os.path.exists(path):
        os.unlink(path)


def run_interrupted(cmd):
    """Run cmd, SIGINT it once its read-back started; return (rc, stdout)."""
    # The report goes to a file: a full stdout pipe must not stall stderr's reader.
    with tempfile.TemporaryFile() as out, \
            subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE) as p:
        sent = False
        for line in p.stderr:
            sys.stderr.buffer.write(line)
            if not sent and b"verify: reading back" in line:
                p.send_signal(signal.SIGINT)
                sent = True
        p.wait()
        out.seek(0)
        stdout = out.read()
    if not sent:
        fail("svio-perf never said the read-back started")
    return p.returncode, stdout


want_readback = False
readback_all = None
expect_errors = False
expect_all_errors = False
expect_stale = False
expect_interrupt = False
first_without = None
scratch = None
expect_namespaces = None
expect_xfer = None
expect_refusal = None
args = sys.argv[1:]
while args and args[0].startswith("--"):
    opt = args.pop(0)
    if opt == "--readback":
        want_readback = True
    elif opt == "--expect-verify-errors=all":
        expect_errors = expect_all_errors = True
    elif opt.startswith("--first-run-without="):
        first_without = opt.split("=", 1)[1]
    elif opt.startswith("--scratch-file="):
        scratch = opt.split("=", 1)[1]
    elif opt == "--interrupt-readback":
        expect_interrupt = True
    elif opt.startswith("--readback-all="):
        readback_all = int(opt.split("=", 1)[1])
    elif opt == "--expect-verify-errors":
        expect_errors = True
    elif opt == "--expect-stale-uses":
        expect_stale = True
    elif opt.startswith("--expect-namespaces="):
        expect_namespaces = int(opt.split("=", 1)[1])
    elif opt.startswith("--expect-xfer="):
        expect_xfer = int(opt.split("=", 1)[1])
    elif opt.startswith("--expect-refusal="):
        expect_refusal = opt.split("=", 1)[1]
    else:
        fail(f"unknown check {opt}")
if not args:
    fail("no program to run")

if expect_refusal is not None:
    out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    err = out.stderr.decode(errors="replace")
    sys.stderr.write(err)
    if out.returncode != 1:
        fail(f"svio-perf exited with {out.returncode}, not 1, on a setup it must refuse")
    if not re.search(expect_refusal, err):
        fail(f"no message matching {expect_refusal!r} on stderr")
    print(f"check_perf_json: refused as expected ({expect_refusal!r}): ok")
    sys.exit(0)

remove(scratch)
first_nonce = None
if first_without is not None:
    first_args = [a.replace(first_without, "") for a in args]
    if first_args == args:
        fail(f"--first-run-without={first_without}: no argument holds it")
    first = subprocess.run(first_args, stdout=subprocess.PIPE, check=False)
    if first.returncode != 0:
        remove(scratch)
        fail(f"first run (without {first_without}) exited with {first.returncode}")
    first_nonce = json.loads(first.stdout)["svio"]["verify_nonce"]
if expect_interrupt:
    returncode, stdout = run_interrupted(args)
else:
    out = subprocess.run(args, stdout=subprocess.PIPE, check=False)
    returncode, stdout = out.returncode, out.stdout
remove(scratch)
if (expect_errors or expect_stale) and returncode != 1:
    fail(f"svio-perf exited with {returncode}, not 1, although its device or IOMMU "
         "failed on purpose")
if expect_interrupt and returncode != 2:
    fail(f"svio-perf exited with {returncode}, not 2, after an interrupted read-back")
if not (expect_errors or expect_stale or expect_interrupt) and returncode != 0:
    fail(f"svio-perf exited with {returncode}")
try:
    REPORT = json.loads(stdout)
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
    if job["verify_interrupted"] and not expect_interrupt:
        fail(f"jobs[{i}]: read-back interrupted")
    if not (expect_errors or expect_stale) and job["verify_errors"] != 0:
        fail(f"jobs[{i}]: verify_errors {job['verify_errors']}")
svio = REPORT.get("svio", {})
if "iommu" not in svio or "maps" not in svio["iommu"] or "stale_uses" not in svio["iommu"]:
    fail("svio.iommu missing or incomplete")
verify_on = REPORT["global options"]["verify"] != "none"
if "verify_iommu" not in svio:
    fail("no svio.verify_iommu")
if verify_on != (svio["verify_iommu"] is not None):
    fail("svio.verify_iommu must be an object exactly when --verify is on")
if verify_on and "stale_uses" not in svio["verify_iommu"]:
    fail("svio.verify_iommu incomplete")
if verify_on != (svio.get("verify_nonce") is not None):
    fail("svio.verify_nonce must be given exactly when --verify is on")
if verify_on and not re.fullmatch(r"0x[0-9a-f]{16}", svio["verify_nonce"]):
    fail(f"svio.verify_nonce {svio['verify_nonce']!r} is not 0x and 16 hex digits")
if first_nonce is not None and first_nonce == svio["verify_nonce"]:
    fail("both runs used the same verify nonce")
if svio.get("verify_interrupted") != any(j["verify_interrupted"] for j in jobs):
    fail("svio.verify_interrupted does not match the jobs'")
if expect_interrupt and not svio["verify_interrupted"]:
    fail("svio-perf exited with 2, but no read-back says it was interrupted")
stale = svio["iommu"]["stale_uses"] + (svio["verify_iommu"] or {}).get("stale_uses", 0)
if expect_stale:
    if stale == 0:
        fail("svio-perf failed, but the IOMMU counted no stale use")
elif stale != 0:
    fail(f"the IOMMU counted {stale} stale uses (timed phase and read-back)")
for key, value in sums.items():
    if svio.get(key) != value:
        fail(f"svio.{key} {svio.get(key)} is not the jobs' sum {value}")
if expect_errors:
    if svio["verify_errors"] == 0:
        fail("svio-perf failed, but not with verify errors")
    if expect_all_errors and svio["verify_errors"] != svio["verify_checked"]:
        fail(f"{svio['verify_checked'] - svio['verify_errors']} of {svio['verify_checked']} "
             "reads passed although no write was stored (older data taken for this run's)")
elif not expect_stale and (svio["verify_errors"] != 0 or svio["io_errors"] != 0):
    fail(f"svio.verify_errors {svio['verify_errors']}, io_errors {svio['io_errors']}")
if total == 0:
    fail("no I/O at all")
if svio["read"]["total_ios"] + svio["write"]["total_ios"] != total:
    fail("svio totals do not add up to the jobs")
if REPORT["global options"]["dma"] == "map-per-io" and returncode == 0:
    # One map an I/O: the timed phase's in svio.iommu, the read-back's apart.
    if svio["iommu"]["maps"] < total:
        fail(f"svio.iommu.maps {svio['iommu']['maps']} < {total} timed I/Os")
    if verify_on and svio["verify_iommu"]["maps"] < svio["verify_reads"]:
        fail(f"svio.verify_iommu.maps {svio['verify_iommu']['maps']} < "
             f"{svio['verify_reads']} blocks read back")
if want_readback and svio["verify_reads"] == 0:
    fail("the verify read-back read nothing")
if readback_all is not None:
    for i, job in enumerate(jobs):
        # Sequential writes, no write error: every distinct block written is read back.
        slots = readback_all * len(svio.get("namespaces", svio["devices"]))
        expect = min(slots, job["write"]["total_ios"])
        if job["verify_reads"] != expect:
            fail(f"jobs[{i}]: read back {job['verify_reads']} blocks, wrote {expect} distinct")
spaces = svio.get("namespaces")
if spaces is None:
    fail("no svio.namespaces")
if sum(n["total_ios"] for n in spaces) != total:
    fail("svio.namespaces' total_ios do not add up to the jobs'")
if expect_namespaces is not None:
    if len(spaces) != expect_namespaces:
        fail(f"{len(spaces)} namespaces driven, not {expect_namespaces}")
    for n in spaces:
        if n["total_ios"] == 0:
            fail(f"{n['device']} namespace {n['nsid']} had no I/O")
if expect_xfer is not None:
    for n in spaces:
        if n["xfer_bytes"] != expect_xfer:
            fail(f"{n['device']} namespace {n['nsid']} moved {n['xfer_bytes']} bytes a "
                 f"command, not {expect_xfer}")
print(f"check_perf_json: {len(jobs)} job(s), {total} I/Os, {svio['verify_reads']} read back, "
      f"{svio['verify_checked']} checked, {svio['verify_errors']} verify errors, "
      f"{stale} stale uses: ok")
