#!/usr/bin/env python3
"""Reads LLVM IR text and fails unless every alloca sits in its function's
entry block (the first block), where it runs once per call. Prints one line
per function checked, so that FileCheck can see the functions exist."""
import re
import sys

bad = 0
fn = None
first_block = True
counts = {}
for line in open(sys.argv[1]):
    m = re.match(r"define .*@([\w.\"]+)\(", line)
    if m:
        fn, first_block = m.group(1), True
        counts[fn] = 0
        continue
    if fn is None:
        continue
    if line.startswith("}"):
        fn = None
        continue
    if re.match(r"^[\w.\"-]+:", line) and not line.startswith("entry:"):
        first_block = False
    if re.search(r"= alloca ", line):
        counts[fn] += 1
        if not first_block:
            print(f"error: alloca outside the entry block of {fn}: {line.strip()}")
            bad += 1
for name, k in counts.items():
    print(f"{name}: {k} allocas")
sys.exit(1 if bad else 0)
