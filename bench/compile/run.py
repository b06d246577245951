#!/usr/bin/env python3
"""bench/compile: how long `psyncc build` takes, against g++ -O2 on the same
protocol written by hand in C++ (bench/compile/one_third_rule.cpp), both
linked with the same libpsync_runtime.a. Prints medians (wall time, and the
CPU time of the process and its children, which moves less on a shared
machine) and their ratio, with the load average.

usage: bench/compile/run.py [--build BUILD_DIR] [--runs N] [--examples NAME,...]
                            [--compare OTHER_BUILD_DIR]
--compare times OTHER_BUILD_DIR's psyncc (e.g. a build of main) on the same
examples, runs interleaved with this build's, and prints the ratio.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run_once(cmd):
    """(wall seconds, CPU seconds of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed_interleaved(cmds, runs):
    """Runs each command of cmds in turn, runs times; per command: (median,
    min, max) wall and median CPU, in seconds."""
    walls = [[] for _ in cmds]
    cpus = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            w, c = run_once(cmd)
            walls[i].append(w)
            cpus[i].append(c)
    return [(statistics.median(w), min(w), max(w), statistics.median(c)) for w, c in zip(walls, cpus)]


def timed(cmd, runs):
    return timed_interleaved([cmd], runs)[0]


def row(what, t):
    med, lo, hi, cpu = t
    print(f"{what:60} {med * 1e3:8.1f} {lo * 1e3:8.1f} {hi * 1e3:8.1f} {cpu * 1e3:8.1f}")


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
    ap.add_argument("--examples", default="", help="comma-separated example files (default: all)")
    ap.add_argument("--compare", default="", help="another build directory, timed interleaved with this one")
    args = ap.parse_args()
    builds = [args.build] + ([args.compare] if args.compare else [])
    for build in builds:
        for path in (os.path.join(build, "compiler", "psyncc"), os.path.join(build, "runtime", "libpsync_runtime.a")):
            if not os.path.exists(path):
                sys.exit(f"missing {path}: build the project first (scripts/build.sh)")
    psyncc = os.path.join(args.build, "compiler", "psyncc")
    runtime = os.path.join(args.build, "runtime", "libpsync_runtime.a")
    wanted = [e for e in args.examples.split(",") if e]
    tmp = tempfile.mkdtemp(prefix="psync-bench-compile-")
    try:
        print(f"bench/compile: median of {args.runs} runs (ms; CPU: the process and its children); "
              f"machine: {os.cpu_count()} cores; load average {load_average()}")
        print(f"{'what':60} {'median':>8} {'min':>8} {'max':>8} {'CPU':>8}")
        results = {}
        for example in sorted(os.listdir(os.path.join(ROOT, "examples"))):
            if not example.endswith(".psync") or (wanted and example not in wanted):
                continue
            src = os.path.join(ROOT, "examples", example)
            for opt in ("-O2", "-O0"):
                cmds = [[os.path.join(b, "compiler", "psyncc"), "build", src, opt, "-o",
                         os.path.join(tmp, f"{example}{opt}-{i}")] for i, b in enumerate(builds)]
                times = timed_interleaved(cmds, args.runs)
                results[(example, opt)] = times[0][0]
                row(f"psyncc build {example} {opt}", times[0])
                if args.compare:
                    row(f"  {args.compare} (interleaved)", times[1])
                    print(f"  ratio this / {args.compare}: wall {times[0][0] / times[1][0]:.2f}, "
                          f"CPU {times[0][3] / times[1][3]:.2f}")
        # Baseline: the hand-written C++ OneThirdRule, g++ -O2, linked with
        # the same runtime library the way psyncc links (with the lld CMake found).
        here = os.path.dirname(os.path.abspath(__file__))
        hand = [os.path.join(here, "one_third_rule.cpp"), os.path.join(here, "otr_protocol.cpp")]
        lld = configured_lld(args.build)
        link = ["-fuse-ld=lld", "-B" + os.path.dirname(lld)] if lld else []
        cmd = ["g++", "-std=c++20", "-O2", "-I", os.path.join(ROOT, "runtime", "include")] + hand + \
              [runtime, "-lsodium", "-lpthread"] + link + \
              ["-o", os.path.join(tmp, "otr-hand")]
        base = timed(cmd, args.runs)
        row("g++ -O2 hand-written one_third_rule (baseline)", base)
        otr = results.get(("one_third_rule.psync", "-O2"))
        if otr is not None:
            print(f"ratio psyncc build one_third_rule -O2 / g++ -O2 baseline: {otr / base[0]:.2f}"
                  f"  (goal: psyncc median under 100 ms; measured {otr * 1e3:.1f} ms)")
        print(f"load average at the end: {load_average()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
