#!/usr/bin/env python3
"""bench/compile: how long `psyncc build` takes, against g++ -O2 on the same
protocol written by hand in C++ (bench/compile/one_third_rule.cpp), both
linked with the same libpsync_runtime.a. Prints medians and their ratio.

usage: bench/compile/run.py [--build BUILD_DIR] [--runs N]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def timed(cmd, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def configured_lld(build):
    """The ld.lld that CMake found next to LLVM (PSYNC_LLD), which psyncc links with."""
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("PSYNC_LLD:"):
                    path = line.split("=", 1)[1].strip()
                    return path if os.path.exists(path) else None
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    psyncc = os.path.join(args.build, "compiler", "psyncc")
    runtime = os.path.join(args.build, "runtime", "libpsync_runtime.a")
    for path in (psyncc, runtime):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: build the project first (scripts/build.sh)")
    tmp = tempfile.mkdtemp(prefix="psync-bench-compile-")
    try:
        print(f"bench/compile: median of {args.runs} runs, wall time (ms); machine: {os.cpu_count()} cores")
        print(f"{'what':52} {'median':>8} {'min':>8} {'max':>8}")
        results = {}
        for example in sorted(os.listdir(os.path.join(ROOT, "examples"))):
            if not example.endswith(".psync"):
                continue
            src = os.path.join(ROOT, "examples", example)
            for opt in ("-O2", "-O0"):
                out = os.path.join(tmp, example + opt)
                med, lo, hi = timed([psyncc, "build", src, opt, "-o", out], args.runs)
                results[(example, opt)] = med
                print(f"{'psyncc build ' + example + ' ' + opt:52} {med * 1e3:8.1f} {lo * 1e3:8.1f} {hi * 1e3:8.1f}")
        # Baseline: the hand-written C++ OneThirdRule, g++ -O2, linked with
        # the same runtime library the way psyncc links (with the lld CMake found).
        here = os.path.dirname(os.path.abspath(__file__))
        hand = [os.path.join(here, "one_third_rule.cpp"), os.path.join(here, "otr_protocol.cpp")]
        lld = configured_lld(args.build)
        link = ["-fuse-ld=lld", "-B" + os.path.dirname(lld)] if lld else []
        cmd = ["g++", "-std=c++20", "-O2", "-I", os.path.join(ROOT, "runtime", "include")] + hand + \
              [runtime, "-lsodium", "-lpthread"] + link + \
              ["-o", os.path.join(tmp, "otr-hand")]
        base, lo, hi = timed(cmd, args.runs)
        print(f"{'g++ -O2 hand-written one_third_rule (baseline)':52} {base * 1e3:8.1f} {lo * 1e3:8.1f} {hi * 1e3:8.1f}")
        otr = results[("one_third_rule.psync", "-O2")]
        print(f"ratio psyncc build one_third_rule -O2 / g++ -O2 baseline: {otr / base:.2f}"
              f"  (target: psyncc median under 150 ms; measured {otr * 1e3:.1f} ms)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
