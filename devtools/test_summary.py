#!/usr/bin/env python3
"""Sum meson's test logs of several builds into one closing line:
'N passed, N failed' (', N skipped' when any were skipped)."""
import argparse
import json
import os
import sys

PASS = {"OK", "EXPECTEDFAIL"}
SKIP = {"SKIP"}

ap = argparse.ArgumentParser()
ap.add_argument("builds", nargs="+")
ap.add_argument("--failures", help="file listing steps that failed before testing")
args = ap.parse_args()

passed = failed = skipped = 0
logs = []
for b in args.builds:
    for name in ("testlog.json", "vmlog.json"):
        log = os.path.join(b, "meson-logs", name)
        if os.path.exists(log):
            logs.append((b, log))
for b, log in logs:
    with open(log) as f:
        for line in f:
            r = json.loads(line)
            res = r.get("result")
            if res in PASS:
                passed += 1
            elif res in SKIP:
                skipped += 1
            else:
                failed += 1
                print(f"FAILED: {b}: {r.get('name')} ({res})")
if args.failures and os.path.exists(args.failures):
    with open(args.failures) as f:
        for line in f:
            if line.strip():
                failed += 1
                print(f"FAILED: {line.strip()}")

# The closing line keeps the exact form "N passed, N failed"; skips are said just before it.
if skipped:
    print(f"{skipped} skipped (not counted as passed)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
