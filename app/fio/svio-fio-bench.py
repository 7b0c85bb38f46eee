#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""fio with svio's engine against svio-perf on the same built-in NVMe controller.

    app/fio/svio-fio-bench.py [--build DIR] [--seconds S] [--rounds N] [--cpu C]
                              [--no-callgrind] [--callgrind-ios N]

Both sides run the same workload (4 KiB random reads at random offsets, QD32,
one job, DMA=sva, an inline sim_nvme0 of 1 GiB) on the same CPU, one after the
other, in N rounds whose order alternates, so that a change in the machine's
load hits both sides of a round alike. fio runs three times a round, with the
same I/O stream each time and only its bookkeeping changed:
  default  the options a user types (README's example);
  matched  fio doing what svio-perf does (the goal's figure): a fresh random
           block each I/O (no random map), one latency per I/O, submission to
           completion, kept in a histogram (fio's clat; svio-perf keeps the
           same), every free slot filled before the doorbells are polled and
           every ready completion reaped at once (svio-perf's loop);
  peak     matched without any latency or bandwidth sampling (gtod_reduce=1),
           as peak-IOPS runs of userspace engines set it; it does less than
           svio-perf, so it is shown, not judged.
The goal (issue 10) is the matched ratio fio/svio-perf >= 0.8 (median of the
rounds). The JSON records every command line exactly as run.

With valgrind, each side also runs under callgrind twice, at two lengths, and
the difference of the instruction counts over the difference of the I/Os is
the instructions per I/O (start-up and teardown cancel out), split by object
(fio, libsvio, libc, the engine) and by function: load-independent, unlike IOPS.

Prints one JSON object. Exit status 0 when every run completed, 1 otherwise;
a missed goal is reported in the JSON ("goal_met"), it is not an error.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

GOAL = 0.8
BS, IODEPTH, SIZE = "4k", 32, "1G"
# svio-perf's options and the engine's (after --ioengine) spell these alike.
WORKLOAD = ["--rw=randread", f"--bs={BS}", f"--iodepth={IODEPTH}", "--dma=sva"]
# fio's accounting made like svio-perf's: svio-perf draws every block at random
# (no map of blocks already read), keeps one latency per I/O (submission to
# completion, fio's clat), fills every free slot before it polls (fio's
# iodepth_batch_submit: the engine's commit() gets them together) and reaps
# every completion that is there.
MATCHED = ["--norandommap", "--disable_slat=1", "--disable_lat=1",
           f"--iodepth_batch_submit={IODEPTH}", f"--iodepth_batch_complete_max={IODEPTH}"]
# No time read at all: fewer instructions than svio-perf spends, not the goal.
PEAK = ["--norandommap", "--gtod_reduce=1", f"--iodepth_batch_submit={IODEPTH}",
        f"--iodepth_batch_complete_max={IODEPTH}"]
FIO_SIDES = {"fio_matched": MATCHED, "fio_default": [], "fio_peak": PEAK}


def eal_args(cpu):
    return ["--no-huge", "-m", "512", "--no-shconf", "--no-telemetry", "-l", str(cpu),
            "--vdev", f"sim_nvme0,size={SIZE}"]


def perf_cmd(a, seconds):
    return ([a.perf] + eal_args(a.cpu) + ["--log-level=*:warning", "--"] + WORKLOAD +
            [f"--runtime={seconds}", "--status-interval=0", "--output-format=json"])


def fio_cmd(a, extra, length):
    return (["fio", "--name=bench", "--thread=1", f"--ioengine=external:{a.engine}",
             "--svio_eal=" + " ".join(eal_args(a.cpu)), "--filename=sim_nvme0/ns1",
             f"--cpus_allowed={a.cpu}", "--output-format=json"] + WORKLOAD + extra + length)


def run_json(cmd, what, prefix=()):
    p = subprocess.run(list(prefix) + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    out = p.stdout
    if p.returncode != 0 or "{" not in out:
        sys.stderr.write(f"svio-fio-bench: {what} failed ({p.returncode}): {' '.join(cmd)}\n"
                         f"{p.stderr[-2000:]}")
        return None
    return json.loads(out[out.index("{"):])


def read_stats(doc):
    r = doc["jobs"][0]["read"]
    return {"iops": round(r["iops"], 1), "total_ios": r["total_ios"],
            "lat_mean_ns": round(r["lat_ns"]["mean"]) if r["lat_ns"]["N"] else None}


def fio_read_stats(doc):
    j = doc["jobs"][0]
    r = j["read"]
    out = {"iops": round(r["iops"], 1), "total_ios": r["total_ios"],
           "clat_mean_ns": round(r["clat_ns"]["mean"]), "error": j["error"]}
    return out


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def round_cmds(a):
    cmds = {"svio_perf": perf_cmd(a, a.seconds)}
    for side, extra in FIO_SIDES.items():
        cmds[side] = fio_cmd(a, extra, ["--time_based", f"--runtime={a.seconds}"])
    return cmds


def rounds(a, cmds):
    res, ok = [], True
    for i in range(a.rounds):
        # Every side takes every place in turn: svio-perf first, then last, ...
        sides = list(cmds)
        k = i % len(sides)
        sides = sides[k:] + sides[:k]
        r = {}
        for s in sides:
            doc = run_json(cmds[s], s)
            r[s] = None if doc is None else (read_stats(doc) if s == "svio_perf"
                                             else fio_read_stats(doc))
        if any(v is None or v["iops"] <= 0 or v.get("error", 0) != 0 for v in r.values()):
            ok = False
        else:
            base = r["svio_perf"]["iops"]
            for side in FIO_SIDES:
                r["ratio_" + side[4:]] = round(r[side]["iops"] / base, 3)
        r["order"] = sides
        res.append(r)
    return res, ok


# callgrind_annotate's lines: "  1,234 (12.3%)  file:function [object]"
LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(?!=>)(.*?)\s*\[([^\]]+)\]\s*$")


def callgrind_run(cmd, tmp, tag):
    out = os.path.join(tmp, f"{tag}.cg")
    doc = run_json(cmd, f"callgrind {tag}",
                   ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
    if doc is None:
        return None
    ann = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", out],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    by_obj, by_fn = {}, {}
    for line in ann.splitlines():
        m = LINE.match(line)
        if m:
            obj = os.path.basename(m.group(3))
            n = int(m.group(1).replace(",", ""))
            by_obj[obj] = by_obj.get(obj, 0) + n
            fn = f"{obj}:{m.group(2).rsplit(':', 1)[-1]}"
            by_fn[fn] = by_fn.get(fn, 0) + n
    total = None
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    return {"ios": doc["jobs"][0]["read"]["total_ios"], "instr": total, "by_obj": by_obj,
            "by_fn": by_fn}


def per_io(short, long):
    dios = long["ios"] - short["ios"]
    if dios <= 0:
        return None
    def split(key, least):
        d = {k: round((long[key].get(k, 0) - short[key].get(k, 0)) / dios)
             for k in set(short[key]) | set(long[key])}
        return {k: v for k, v in sorted(d.items(), key=lambda kv: -kv[1]) if v >= least}

    # Functions of 20 instructions an I/O or more: where the difference between the sides is.
    return {"instr_per_io": round((long["instr"] - short["instr"]) / dios),
            "by_object": split("by_obj", 6), "by_function": split("by_fn", 20),
            "ios": [short["ios"], long["ios"]]}


def callgrind(a):
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        return {"skipped": "valgrind not installed (Debian package valgrind)"}
    n = a.callgrind_ios
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        # svio-perf runs for a time: two lengths, whatever I/Os they make.
        runs = {"svio_perf": [perf_cmd(a, 2), perf_cmd(a, 4)]}
        for side, extra in FIO_SIDES.items():
            runs[side] = [fio_cmd(a, extra, [f"--number_ios={k}"]) for k in (n, 2 * n)]
        for side, cmds in runs.items():
            got = [callgrind_run(c, tmp, f"{side}{i}") for i, c in enumerate(cmds)]
            if None in got:
                return None
            res[side] = per_io(*got)
            if res[side] is None:
                return None
            res[side]["commands"] = [" ".join(c) for c in cmds]
    base = res["svio_perf"]["instr_per_io"]
    # svio-perf's instructions over fio's: the IOPS ratio an idle CPU would give.
    for side in FIO_SIDES:
        res["ratio_" + side[4:]] = round(base / res[side]["instr_per_io"], 3)
    res["goal_met"] = res["ratio_matched"] >= GOAL
    return res


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(here, "..", "..", "build"))
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)),
                    help="the CPU both sides run on (default: the last one allowed)")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--callgrind-ios", type=int, default=50000,
                    help="fio's shorter callgrind run (the longer one does twice as many)")
    a = ap.parse_args()
    a.perf = os.path.join(a.build, "app", "perf", "svio-perf")
    a.engine = os.path.abspath(os.path.join(a.build, "app", "fio", "libsvio_fio.so"))
    for path in (a.perf, a.engine):
        if not os.path.exists(path):
            sys.exit(f"svio-fio-bench: no {path}: build first (meson setup build && ninja -C build)")
    if shutil.which("fio") is None:
        sys.exit("svio-fio-bench: fio is not installed (devtools/setup.sh installs it)")

    cmds = round_cmds(a)
    rs, ok = rounds(a, cmds)
    good = [r for r in rs if "ratio_matched" in r]
    res = {
        "workload": {"rw": "randread", "bs": BS, "iodepth": IODEPTH, "numjobs": 1,
                     "device": f"sim_nvme0,size={SIZE} (inline)", "dma": "sva", "cpu": a.cpu,
                     "seconds": a.seconds},
        "commands": {side: " ".join(c) for side, c in cmds.items()},
        "fio_options": FIO_SIDES,
        "rounds": rs,
        "goal": GOAL,
        "goal_side": "fio_matched",
    }
    if good:
        for side in FIO_SIDES:
            key = "ratio_" + side[4:]
            res[key + "_median"] = round(median([r[key] for r in good]), 3)
        res["iops_median"] = {side: median([r[side]["iops"] for r in good]) for side in cmds}
        res["goal_met"] = res["ratio_matched_median"] >= GOAL
    if not a.no_callgrind:
        cg = callgrind(a)
        ok = ok and cg is not None
        res["callgrind"] = cg
    print(json.dumps({"svio_fio_bench": res}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
