#!/usr/bin/python3
"""Counts test cases from meson's testlog.json for run-tests.sh's last line.

A TAP test counts each of its `ok`/`not ok` lines (skips apart); any other
test counts as one. A test that failed without a failing TAP line (crash,
timeout, bad plan) adds one failure, so nothing is hidden.
Prints "PASSED FAILED SKIPPED".
"""
import json
import re
import sys

line_re = re.compile(r"^(not ok|ok)\b(.*)$")
passed = failed = skipped = 0
with open(sys.argv[1]) as log:
    for raw in log:
        test = json.loads(raw)
        result = test["result"]
        p = f = s = 0
        for line in (test.get("stdout") or "").splitlines():
            m = line_re.match(line)
            if not m:
                continue
            if "# SKIP" in m.group(2) or "# skip" in m.group(2):
                s += 1
            elif m.group(1) == "ok":
                p += 1
            else:
                f += 1
        if p + f + s == 0:
            if result == "OK":
                p = 1
            elif result in ("SKIP", "EXPECTEDFAIL"):
                s = 1
            else:
                f = 1
        elif result not in ("OK", "SKIP", "EXPECTEDFAIL") and f == 0:
            f = 1
        passed += p
        failed += f
        skipped += s
print(passed, failed, skipped)
