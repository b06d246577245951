#!/usr/bin/env python3
"""End-to-end: compile a protocol with psyncc and run it on a real loopback
cluster (`psyncc run`), then assert on the decisions the replicas printed.

usage: run_cluster_test.py PSYNCC FILE [--expect all|agreement] [--seeds K] -- RUN-ARGS...

--expect all        every instance decided by every live replica, all agreeing
--expect agreement  whatever was decided agrees (for lossy runs)
--seeds K           repeat with --seed 1..K
"""
import concurrent.futures
import re
import subprocess
import sys


def run_once(psyncc, file, args, expect, seed):
    cmd = [psyncc, "run", file] + args + (["--seed", str(seed)] if seed is not None else [])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)
    out = proc.stdout
    summary = re.search(r"replicas: (\d+) \((\d+) killed\), instances with decisions: (\d+) of (\d+), "
                        r"agreement: (\w+), incomplete: (\d+)", out)
    where = f"{' '.join(cmd)}\n--- stdout\n{out}\n--- stderr\n{proc.stderr}"
    if not summary:
        sys.exit(f"FAIL: no summary line\n{where}")
    if summary.group(5) != "yes" or "DISAGREEMENT" in out:
        sys.exit(f"FAIL: agreement violated\n{where}")
    if "signal" in out:
        sys.exit(f"FAIL: a replica reported as killed by a signal it was not sent\n{where}")
    if expect == "all":
        if proc.returncode != 0 or summary.group(6) != "0":
            sys.exit(f"FAIL: expected every instance decided everywhere (exit {proc.returncode})\n{where}")
        instances = re.search(r"--instances\s+(\d+)", " ".join(args))
        want = int(instances.group(1)) if instances else 1
        if int(summary.group(3)) != want or int(summary.group(4)) != want:
            sys.exit(f"FAIL: {summary.group(3)} of {summary.group(4)} instances decided, expected {want}\n{where}")
    elif proc.returncode not in (0, 1):
        sys.exit(f"FAIL: psyncc run exited {proc.returncode}\n{where}")
    elif int(summary.group(3)) + int(summary.group(6)) < int(summary.group(4)):
        # An instance nobody decided must be counted as incomplete.
        sys.exit(f"FAIL: undecided instances not counted as incomplete\n{where}")
    return int(summary.group(3))


def main():
    argv = sys.argv[1:]
    if "--" not in argv or len(argv) < 3:
        sys.exit(__doc__)
    split = argv.index("--")
    head, run_args = argv[:split], argv[split + 1:]
    psyncc, file = head[0], head[1]
    expect, seeds = "all", None
    i = 2
    while i < len(head):
        if head[i] == "--expect":
            expect = head[i + 1]
            i += 2
        elif head[i] == "--seeds":
            seeds = int(head[i + 1])
            i += 2
        else:
            sys.exit(f"unknown option {head[i]}")
    # Seeds run three at a time: each run uses its own free ports.
    seed_list = list(range(1, seeds + 1)) if seeds else [None]
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        decided = sum(pool.map(lambda s: run_once(psyncc, file, run_args, expect, s), seed_list))
    print(f"PASS: {file} {' '.join(run_args)}: {decided} instance(s) decided, agreement held")


if __name__ == "__main__":
    main()
