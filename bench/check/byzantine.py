#!/usr/bin/env python3
"""bench/check/byzantine.py: what `byzantine f` costs the checker.

Each pair is a subject (with liars) and its baseline (the same check
without them, `--const f=0`, or with all faulty sets instead of one),
run interleaved --runs times; it prints the medians (states, seconds), the
ratio of the medians from the same sitting, and the load average before and
after (the VM is shared).

Usage: bench/check/byzantine.py [--psyncc build/compiler/psyncc] [--runs 3]
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from run import run_once  # noqa: E402  (the same --stats-json reader as run.py)

KING = os.path.join(ROOT, "examples", "phase_king_byzantine.psync")
MUTANT = os.path.join(ROOT, "tests", "check", "psync", "phase_king_byzantine_two_thirds.psync")
OTR = os.path.join(ROOT, "tests", "check", "psync", "otr_byzantine.psync")

# (label, subject args, baseline label, baseline args)
PAIRS = [
    ("phase king n=4 f=1, 6 rounds (ok)", [KING, "-n", "4", "--rounds", "6"],
     "same, f=0 (no liar)", [KING, "-n", "4", "--rounds", "6", "--const", "f=0"]),
    ("mutant 2n/3, 6 rounds (violation)", [MUTANT, "-n", "4", "--rounds", "6"],
     "same, f=0 (no liar)", [MUTANT, "-n", "4", "--rounds", "6", "--const", "f=0"]),
    ("otr byzantine n=4, symmetry: one set", [OTR, "-n", "4"],
     "same, --no-symmetry: four sets", [OTR, "-n", "4", "--no-symmetry"]),
]


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--psyncc", default=os.path.join(ROOT, "build", "compiler", "psyncc"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"byzantine checker benchmark: median of {args.runs} interleaved runs, one thread, load average {loadavg()}")
    print(f"{'case':40} {'verdict':>9} {'states':>8} {'time s':>8}   ratio to baseline")
    for label, subj, blabel, base in PAIRS:
        s_runs, b_runs = [], []
        for _ in range(args.runs):
            s_runs.append(run_once([args.psyncc, "check", "--threads", "1"] + subj))  # one core, as before --threads
            b_runs.append(run_once([args.psyncc, "check", "--threads", "1"] + base))
        s = statistics.median(r["seconds"] for r in s_runs)
        b = statistics.median(r["seconds"] for r in b_runs)
        print(f"{label:40} {s_runs[0].get('verdict', '?'):>9} {s_runs[0]['states']:>8} {s:>8.3f}   "
              f"{s / b if b else float('inf'):.1f}x")
        print(f"  {blabel:38} {b_runs[0].get('verdict', '?'):>9} {b_runs[0]['states']:>8} {b:>8.3f}")
    print(f"load average after: {loadavg()}")


if __name__ == "__main__":
    main()
