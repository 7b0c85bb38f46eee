#!/usr/bin/env python3
"""Sum meson's test logs of several builds into one closing line:
'N passed, N failed' (', N skipped' when any were skipped).

With CI set in the environment (as .ci/run does), a skipped test is a
failure: a CI machine is set up by devtools/setup.sh to run everything, so a
skip there means the set-up missed something. Each skip is named with the
reason the test gave ("SKIP: ...")."""
import argparse
import json
import os
import re
import sys

PASS = {"OK", "EXPECTEDFAIL"}
SKIP = {"SKIP"}

ap = argparse.ArgumentParser()
ap.add_argument("builds", nargs="+")
ap.add_argument("--failures", help="file listing steps that failed before testing")
args = ap.parse_args()

# CI=true/1/yes (what CI services and .ci/run set); unset, empty, 0 or false: a developer's run.
ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
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
                why = re.search(r"^SKIP:? *(.*)$", r.get("stdout") or "", re.M)
                reason = why.group(1).strip() if why else "no reason given"
                print(f"{'FAILED' if ci else 'SKIPPED'}: {b}: {r.get('name')} skipped ({reason})")
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
if skipped and ci:
    print(f"{skipped} skipped: CI is set, so each counts as a failure of the set-up")
    failed += skipped
elif skipped:
    print(f"{skipped} skipped (not counted as passed)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
