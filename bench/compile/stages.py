#!/usr/bin/env python3
"""bench/compile/stages.py: where `psyncc build` spends its time, stage by
stage (PSYNC_TIME_BUILD: start-up, front end, lowering, optimisation, code
generation, link), for one or more psyncc binaries run interleaved, with the
medians of each stage's wall and CPU time and the load average.

usage: bench/compile/stages.py [--runs 9] [--example examples/one_third_rule.psync]
                               [-O LEVEL] [label=]PSYNCC ...
e.g.   bench/compile/stages.py branch=build/compiler/psyncc main=MAIN_BUILD/compiler/psyncc
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STAGE = re.compile(r"psyncc: time: (.+?)\s+([\d.]+) ms wall\s+([\d.]+) ms CPU")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--example", default=os.path.join(ROOT, "examples", "one_third_rule.psync"))
    ap.add_argument("-O", dest="opt", default="2", choices=["0", "1", "2", "3"])
    ap.add_argument("psyncc", nargs="+", help="[label=]path of a psyncc binary")
    args = ap.parse_args()
    binaries = [p.split("=", 1) if "=" in p else (p, p) for p in args.psyncc]
    for _, path in binaries:
        if not os.access(path, os.X_OK):
            sys.exit(f"not an executable: {path}")
    # stages[label][stage] = ([wall ms], [CPU ms]), in the order psyncc prints them
    stages = {label: {} for label, _ in binaries}
    tmp = tempfile.mkdtemp(prefix="psync-bench-stages-")
    env = dict(os.environ, PSYNC_TIME_BUILD="1")
    try:
        print(f"bench/compile/stages: {os.path.basename(args.example)} -O{args.opt}, medians of {args.runs} "
              f"interleaved runs (ms); load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for _ in range(args.runs):
            for i, (label, path) in enumerate(binaries):
                out = subprocess.run([path, "build", args.example, "-O" + args.opt, "-o", os.path.join(tmp, str(i))],
                                     env=env, capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit(f"{label}: psyncc build failed:\n{out.stderr}")
                for m in STAGE.finditer(out.stderr):
                    walls, cpus = stages[label].setdefault(m.group(1).strip(), ([], []))
                    walls.append(float(m.group(2)))
                    cpus.append(float(m.group(3)))
        for label, by_stage in stages.items():
            print(f"{label}:")
            for stage, (walls, cpus) in by_stage.items():
                print(f"  {stage:26} wall {statistics.median(walls):7.1f}   CPU {statistics.median(cpus):7.1f}")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
