#!/usr/bin/env python3
"""check_formatted.py: `psyncc fmt --check` passes on every .psync file of
examples/, stdlib/ and tests/ (the test protocols of tests/check,
tests/runtime, tests/differential and tests/lit), except tests/fuzz, whose
corpus is malformed on purpose. A lit input may be left unformatted only
when it is deliberately malformed: its RUN line expects psyncc to fail and
fmt reports that it does not parse. Everything else must already be in the
style of docs/tools.md (run `psyncc fmt -i FILE` to fix it).

usage: check_formatted.py PSYNCC ROOT
"""
import glob
import os
import re
import subprocess
import sys

psyncc, root = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(os.path.join(root, "examples", "*.psync")) +
               glob.glob(os.path.join(root, "stdlib", "*.psync")) +
               glob.glob(os.path.join(root, "tests", "**", "*.psync"), recursive=True))
# lit writes its scratch files under Output/ next to the tests (when run
# from the source tree): not inputs. The fuzz corpus and its modules are
# fuzzer seeds, many malformed on purpose.
files = [f for f in files if os.sep + "Output" + os.sep not in f
         and not f.startswith(os.path.join(root, "tests", "fuzz") + os.sep)]
bad, malformed, ok = [], [], 0
for f in files:
    p = subprocess.run([psyncc, "fmt", "--check", f], capture_output=True, text=True, timeout=60)
    rel = os.path.relpath(f, root)
    if p.returncode == 0:
        ok += 1
        continue
    text = open(f, encoding="utf-8", errors="replace").read()
    expects_failure = re.search(r"RUN:\s*not\s+%psyncc", text) is not None
    if "has errors" in p.stderr and expects_failure and os.sep + "lit" + os.sep in f:
        malformed.append(rel)
        continue
    bad.append((rel, p.stderr.strip()))
print("%d files formatted, %d deliberately malformed lit inputs skipped:" % (ok, len(malformed)))
for m in malformed:
    print("  skipped", m)
for rel, why in bad:
    print("NOT FORMATTED:", rel, "\n   ", why.replace("\n", "\n    "))
if not files or ok < 100:
    print("too few files found under", root)
    sys.exit(1)
print("%d passed, %d failed" % (ok + len(malformed), len(bad)))
sys.exit(1 if bad else 0)
