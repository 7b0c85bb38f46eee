#!/usr/bin/env python3
"""Run svio-flushbench on small workloads and check what the flush queue must
show: descriptor counts per unmap for each policy, one wait per IOMMU instance
per batch, devices DMAing to live memory all along without a failure, probes
of just-unmapped addresses that fault under strict and naive, and no stale
use anywhere. Counts, not speed: the speed figures live in the benchmark's
own output.

flushbench_check.py BENCH [--quick]: --quick runs one small two-thread,
two-IOMMU --compare only (for the ThreadSanitizer build)."""
import json
import subprocess
import sys

bench = sys.argv[1]
quick = "--quick" in sys.argv[2:]
EAL = ["--no-huge", "-m", "128", "--no-shconf", "--no-telemetry", "--log-level=*:error"]
failures = []


def run(*args):
    cmd = [bench, *EAL, "--", "--json", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        failures.append(f"{' '.join(args)}: exit {out.returncode}: {out.stderr.strip()}")
        return []
    return {r["policy"]: r for r in json.loads(out.stdout)}


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def clean(res, label):
    for p, r in res.items():
        check(r["stale_uses"] == 0, f"{label} {p}: no stale use ({r['stale_uses']})")
        check(r["dma_errors"] == 0 and r["errors"] == 0,
              f"{label} {p}: no failed DMA or unmap ({r['dma_errors']}, {r['errors']})")
        check(r["unmaps"] > 0, f"{label} {p}: unmaps counted")
        check(r["dma_ops"] > 0, f"{label} {p}: the devices DMAed during the run "
              f"({r['dma_ops']})")
        check(r["probes"] > 0 and r["probe_faults"] <= r["probes"],
              f"{label} {p}: probes after unmap ({r['probe_faults']}/{r['probes']} faulted)")
        if p != "lazy":
            # Lazy may still hit a translation cached until its batch is flushed.
            check(r["probe_faults"] == r["probes"],
                  f"{label} {p}: every probe of an unmapped address faults "
                  f"({r['probe_faults']}/{r['probes']})")


if quick:
    res = run("--devices", "3", "--ats", "2", "--iommus", "2", "--unmaps", "600",
              "--threads", "2", "--probe-every", "16", "--compare")
    if res:
        clean(res, "quick")
    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} problem(s)")
    sys.exit(1 if failures else 0)


# 4 ATS devices behind one IOMMU, one domain, 4 KiB random unmaps.
res = run("--devices", "4", "--ats", "4", "--iommus", "1", "--unmaps", "3000",
          "--compare")
if res:
    clean(res, "1 IOMMU")
    s, n, l = res["strict"]["per_unmap"], res["naive"]["per_unmap"], res["lazy"]["per_unmap"]
    check((s["iotlb"], s["devtlb"], s["wait"]) == (1, 4, 1),
          f"strict: 1 IOTLB + 4 device-TLB + 1 wait per unmap ({s})")
    check((n["iotlb"], n["devtlb"], n["wait"]) == (4, 4, 4),
          f"naive: 4 + 4 + 4 per unmap ({n})")
    check(l["total"] <= 0.05, f"lazy (batch 256): <= 0.05 descriptors per unmap ({l['total']})")

# Two IOMMU instances: one wait per instance per batch.
res = run("--devices", "4", "--ats", "2", "--iommus", "2", "--unmaps", "1000",
          "--policy", "strict", "--threads", "2")
if res:
    clean(res, "2 IOMMUs")
    r = res["strict"]
    check(r["descriptors"]["wait"] == 2 * r["batches"],
          f"2 IOMMUs strict: one wait per instance per batch ({r['descriptors']['wait']} waits, "
          f"{r['batches']} batches)")
    check(r["descriptors"]["iotlb"] >= 2 * r["batches"],
          "2 IOMMUs strict: each batch invalidates both instances' IOTLBs")

# Larger unmaps, sequential, lazy from two threads.
res = run("--devices", "2", "--ats", "1", "--unmaps", "2000", "--size", "65536",
          "--pattern", "sequential", "--policy", "lazy", "--threads", "2")
if res:
    clean(res, "64 KiB sequential lazy")

print(f"{'FAILED' if failures else 'passed'}: {len(failures)} problem(s)")
sys.exit(1 if failures else 0)
