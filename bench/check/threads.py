#!/usr/bin/env python3
"""bench/check/threads.py: the parallel explorer's speed-up (docs/checker.md,
"Threads"). For each case it runs `psyncc check --threads 1` and `--threads T`
alternately, --runs times each, and prints the states and transitions (which
must agree), the median exploration time of each (--stats-json "seconds":
the search, not the JIT), the speed-up 1-thread / T-thread of the medians,
the CPU time each used (user + sys: what parallelism costs in work), and
the load average before and after. A speed-up needs T idle cores: on a
loaded machine the figure says how loaded it was, not how fast the checker is.

Usage: bench/check/threads.py [--psyncc PATH] [--runs 3] [--threads 2] [--case "LABEL|ARGS"]...
e.g.   bench/check/threads.py --runs 3 --case "otr n=8|examples/one_third_rule.psync -n 8 --values 0..2"
"""
import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# OneThirdRule at n = 12 with inputs 0..2 is the case (150k states,
# 702M transitions, 152 s on one core); n = 10 is the same shape, smaller.
DEFAULT_CASES = [
    ("otr n=10 values 0..2", "examples/one_third_rule.psync -n 10 --values 0..2"),
    ("otr n=12 values 0..2", "examples/one_third_rule.psync -n 12 --values 0..2"),
]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(psyncc, args, threads):
    with tempfile.TemporaryDirectory() as tmp:
        stats = os.path.join(tmp, "stats.json")
        cmd = [psyncc, "check"] + shlex.split(args) + ["--threads", str(threads), "--stats-json", stats]
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode not in (0, 1, 4):
            sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
        with open(stats) as f:
            s = json.load(f)
        s["cpu"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psyncc", default=os.path.join(ROOT, "build", "compiler", "psyncc"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--case", action="append", default=[], help="LABEL|ARGS (ARGS: after `psyncc check`)")
    a = ap.parse_args()
    cases = [tuple(c.split("|", 1)) for c in a.case] if a.case else DEFAULT_CASES
    T = a.threads
    print(f"psyncc check, --threads 1 vs --threads {T}, {a.runs} interleaved runs each, median exploration time; "
          f"{os.cpu_count()} cores")
    for label, args in cases:
        before = loadavg()
        one, many, figures, cpu1, cpuT = [], [], set(), [], []
        for _ in range(a.runs):
            for threads, out, cpu in ((1, one, cpu1), (T, many, cpuT)):
                s = run(a.psyncc, args, threads)
                out.append(s["seconds"])
                cpu.append(s["cpu"])
                figures.add((s["states"], s["transitions"], s["depth"]))
        if len(figures) != 1:
            sys.exit(f"{label}: the figures differ between thread counts: {sorted(figures)}")
        states, transitions, depth = figures.pop()
        m1, mT = statistics.median(one), statistics.median(many)
        print(f"{label}: {states} states, {transitions} transitions, depth {depth}; "
              f"1 thread {m1:.2f} s, {T} threads {mT:.2f} s, speed-up {m1 / mT:.2f}x "
              f"(runs 1: {', '.join(f'{x:.2f}' for x in one)}; {T}: {', '.join(f'{x:.2f}' for x in many)}); "
              f"CPU (user+sys, JIT included) 1 thread {statistics.median(cpu1):.2f} s, {T} threads "
              f"{statistics.median(cpuT):.2f} s; "
              f"load average {before} before, {loadavg()} after")


if __name__ == "__main__":
    main()
