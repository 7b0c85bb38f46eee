#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Instructions per I/O of svio-perf on the built-in NVMe controller, under callgrind.

    app/perf/svio-perf-callgrind.py [--build DIR] [--seconds S] [-- SVIO-PERF-OPTIONS...]

svio-perf runs for a time, so it runs twice, for S and 2*S seconds; the
difference of the instruction counts over the difference of the I/Os is the
instructions per I/O, with start-up and teardown cancelled out. The driver's
submission and completion functions are also given per I/O (their own
instructions, callees excluded). Load-independent, unlike IOPS: the figure to
compare two builds with (same command, one build each).

Prints one JSON object; exit status 0 when both runs completed, 1 otherwise.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

EAL = ["--no-huge", "-m", "256", "--no-shconf", "--no-telemetry", "--log-level=*:warning",
       "--vdev", "sim_nvme0,size=64M"]
WORKLOAD = ["--rw=randrw", "--bs=4k", "--iodepth=8"]
# The driver's per-I/O entry points and what they call in nvme_qpair.c.
FUNCTIONS = re.compile(r"^(svio_nvme_(read|write)(_iova)?|svio_nvme_qpair_poll|rw|rw_\w+|submit)$")
# callgrind_annotate's lines: "  1,234 (12.3%)  file:function [object]"
LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(?!=>)(.*?)\s*\[([^\]]+)\]\s*$")


def run(perf, seconds, extra, tmp):
    out = os.path.join(tmp, f"{seconds}.cg")
    cmd = (["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", perf] + EAL +
           ["--"] + WORKLOAD + extra +
           [f"--runtime={seconds}", "--status-interval=0", "--output-format=json"])
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if p.returncode != 0:
        print(f"svio-perf-callgrind: {' '.join(cmd)}: exit {p.returncode}", file=sys.stderr)
        return None
    doc = json.loads(p.stdout)
    ios = sum(j[d]["total_ios"] for j in doc["jobs"] for d in ("read", "write"))
    total, fns = None, {}
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    ann = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", out],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    for line in ann.splitlines():
        m = LINE.match(line)
        if m:
            fn = m.group(2).rsplit(":", 1)[-1]
            if FUNCTIONS.match(fn):
                fns[fn] = fns.get(fn, 0) + int(m.group(1).replace(",", ""))
    return {"command": " ".join(cmd[3:]), "ios": ios, "instr": total, "functions": fns}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=2)
    ap.add_argument("extra", nargs="*", help="more svio-perf options (after --)")
    a = ap.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        print("svio-perf-callgrind: valgrind not installed (Debian package valgrind)",
              file=sys.stderr)
        return 1
    perf = os.path.join(a.build, "app/perf/svio-perf")
    with tempfile.TemporaryDirectory() as tmp:
        short, long = (run(perf, s, a.extra, tmp) for s in (a.seconds, 2 * a.seconds))
    if short is None or long is None or long["ios"] <= short["ios"]:
        return 1
    dios = long["ios"] - short["ios"]
    per_fn = {k: round((long["functions"].get(k, 0) - short["functions"].get(k, 0)) / dios, 2)
              for k in sorted(set(short["functions"]) | set(long["functions"]))}
    print(json.dumps({"instr_per_io": round((long["instr"] - short["instr"]) / dios, 1),
                      "functions_per_io": per_fn, "ios": [short["ios"], long["ios"]],
                      "commands": [short["command"], long["command"]]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
