#!/usr/bin/env python3
"""bench/rounds/drop_agreement.py: node binaries under injected loss
(--drop), runs alternated: how many instances each replica decided, and
whether any two decision lines for one instance disagree.

usage: drop_agreement.py [--runs 2] [-n 3] [--window 1000] [--instances 20000] [--drop 0.2] label=binary ...
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import free_ports, write_cluster  # noqa: E402


def run_once(binary, n, window, instances, drop, time_limit):
    ports = free_ports(n)
    with tempfile.TemporaryDirectory(prefix="psync-drop-") as d:
        cluster = write_cluster(d, ports)
        procs = []
        start = time.monotonic()
        for i in range(n):
            cmd = [binary, "--id", str(i), "--cluster", cluster, "--input", "init=random", "--instances",
                   str(instances), "--window", str(window), "--drop", str(drop), "--stats", "--quiet", "--seed", "1",
                   "--time-limit", f"{time_limit}s"]
            out = open(os.path.join(d, f"out{i}"), "w")
            err = open(os.path.join(d, f"err{i}"), "w")
            procs.append(subprocess.Popen(cmd, stdout=out, stderr=err))
        for p in procs:
            p.wait()
        wall = time.monotonic() - start
        values = {}  # instance -> set of values
        decided, learned = [], []
        for i in range(n):
            seen = set()
            with open(os.path.join(d, f"out{i}")) as f:
                for line in f:
                    rec = json.loads(line)
                    if "instance" not in rec or "value" not in rec:
                        continue
                    seen.add(rec["instance"])
                    values.setdefault(rec["instance"], set()).add(json.dumps(rec["value"]))
            decided.append(len(seen))
            with open(os.path.join(d, f"err{i}")) as f:
                for line in f:
                    if line.startswith('{"stats"'):
                        s = json.loads(line)["stats"]
                        learned.append(s.get("decisions_learned", 0))
        disagreements = sum(1 for v in values.values() if len(v) > 1)
        return decided, disagreements, learned, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--window", type=int, default=1000)
    ap.add_argument("--instances", type=int, default=20000)
    ap.add_argument("--drop", type=float, default=0.2)
    ap.add_argument("--time-limit", type=int, default=120)
    ap.add_argument("programs", nargs="+", help="label=path")
    args = ap.parse_args()
    programs = [p.partition("=")[::2] for p in args.programs]
    print(f"n={args.n} --window {args.window}, {args.instances} instances, --drop {args.drop}; "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    for r in range(args.runs):
        for label, path in programs:
            decided, dis, learned, wall = run_once(path, args.n, args.window, args.instances, args.drop,
                                                   args.time_limit)
            undecided = sum(args.instances - x for x in decided)
            print(f"  run {r + 1} {label:<10} decided per replica {decided}, undecided (sum) {undecided}, "
                  f"disagreeing instances {dis}, learned per replica {learned}, {wall:.1f} s", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
