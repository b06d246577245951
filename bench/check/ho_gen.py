#!/usr/bin/env python3
"""bench/check/ho_gen.py: liveness and `assume` with heard-of vectors generated
from the predicates' shape (runtime/check/ho_gen.cpp) against filtering all
2^(n*n) of them (--ho-brute-force, the checker before ABI 6).

For each case it runs the generated check and the brute-force baseline
alternately (--runs times each, in one sitting), and prints the median wall
and user CPU seconds of both, their ratio, the verdict line and the load
average. A baseline run that exceeds --timeout is stopped (its time is then
reported as "> timeout"); one that skips liveness says so ("partial").

Usage: bench/check/ho_gen.py [--psyncc PATH] [--runs 3] [--timeout 300]
                             [--case LABEL=ARGS]...
"""
import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# label, arguments of `psyncc check` (relative to the source tree).
DEFAULT_CASES = [
    ("OneThirdRule n=4 (liveness)", "examples/one_third_rule.psync -n 4"),
    ("OneThirdRule n=5 (liveness)", "examples/one_third_rule.psync -n 5"),
    ("UniformVoting n=5 (assume no_split, liveness uniform)", "examples/uniform_voting.psync -n 5"),
    ("FloodSet n=4 (assume crash_faults)", "examples/flood_set.psync -n 4"),
    ("LastVoting n=4 12 rounds (liveness)", "examples/last_voting.psync -n 4 --rounds 12 --no-phase-abstraction"),
    ("LastVoting n=5 12 rounds (liveness)", "examples/last_voting.psync -n 5 --rounds 12 --no-phase-abstraction"),
]


def run_once(cmd, timeout):
    """(wall s, user s, exit status or None on timeout, verdict line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        status, out = p.returncode, p.stdout
    except subprocess.TimeoutExpired:
        status, out = None, ""
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    verdict = next((l for l in out.splitlines() if l.startswith(("ok", "counterexample"))), "")
    return wall, after.ru_utime - before.ru_utime, status, verdict


def fmt(samples, timeout):
    if any(s is None for s in samples):
        return f"> {timeout:.0f} s"
    return f"{statistics.median(samples):.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--psyncc", default=os.path.join(ROOT, "build", "compiler", "psyncc"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=300.0, help="per baseline run, seconds")
    ap.add_argument("--case", action="append", default=[], help="LABEL=ARGS of psyncc check")
    ap.add_argument("--no-baseline", action="store_true", help="only the generated runs")
    a = ap.parse_args()
    cases = [tuple(c.split("=", 1)) for c in a.case] if a.case else DEFAULT_CASES
    print(f"load average at start: {os.getloadavg()[0]:.2f}, {os.getloadavg()[1]:.2f}, {os.getloadavg()[2]:.2f}")
    for label, args in cases:
        base = [a.psyncc, "check", "--threads", "1"] + shlex.split(args)  # the goals are on one core
        gen_w, gen_u, base_w, base_u = [], [], [], []
        gen_v = base_v = ""
        for _ in range(a.runs):
            w, u, st, gen_v = run_once(base, None)
            gen_w.append(w)
            gen_u.append(u)
            if a.no_baseline:
                continue
            w, u, st, base_v = run_once(base + ["--ho-brute-force", "--max-ho-bits", "30"], a.timeout)
            base_w.append(w if st is not None else None)
            base_u.append(u if st is not None else None)
        load = os.getloadavg()[0]
        print(f"\n{label}: psyncc check {args}   (load {load:.2f})")
        print(f"  generated:   wall {fmt(gen_w, 0)}, user {fmt(gen_u, 0)}   {gen_v[:110]}")
        if a.no_baseline:
            continue
        print(f"  brute force: wall {fmt(base_w, a.timeout)}, user {fmt(base_u, a.timeout)}   {base_v[:110]}")
        if all(s is not None for s in base_u) and statistics.median(gen_u) > 0:
            print(f"  ratio (user): {statistics.median(base_u) / statistics.median(gen_u):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
