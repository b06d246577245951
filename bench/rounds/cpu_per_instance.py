#!/usr/bin/env python3
"""bench/rounds/cpu_per_instance.py: CPU time per decided instance, for A/B
runs of node binaries (and lv-baseline) on a shared machine.

Throughput on this 2-core VM moves by +-30 % with other people's load; the
CPU the replicas spend per decided instance moves much less, and it is what
a change to the hot path shrinks. This VM exposes no hardware counters
(`perf stat -e instructions` is "not supported"), so CPU time (user + system,
from wait4's rusage, summed over the n replicas) stands in for instructions.

Runs of the programs are interleaved; each figure is the median over runs.
The lowest CPU per instance is printed too: the run least disturbed by other
load (rounds that time out under load add rounds and frames).

usage: cpu_per_instance.py [--runs 5] [-n 3] [--window 1000] [--instances 300000] label=binary ...
  a binary whose name contains "baseline" gets lv-baseline's command line.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import free_ports, write_cluster  # noqa: E402


def run_once(binary, n, window, instances):
    """One cluster run: (median decided/s over replicas, CPU us per decided
    instance summed over replicas, frames sent per instance summed over the
    cluster)."""
    ports = free_ports(n)
    with tempfile.TemporaryDirectory(prefix="psync-cpu-") as d:
        cluster = write_cluster(d, ports)
        baseline = "baseline" in os.path.basename(binary)
        procs = {}
        for i in range(n):
            if baseline:
                cmd = [binary, "--id", str(i), "--ports", ",".join(map(str, ports)), "--instances", str(instances),
                       "--window", str(window), "--seed", "1"]
            else:
                cmd = [binary, "--id", str(i), "--cluster", cluster, "--input", "init=random", "--instances",
                       str(instances), "--window", str(window), "--stats", "--quiet", "--seed", "1",
                       "--time-limit", "120s"]
            with open(os.path.join(d, f"err{i}"), "w") as err:
                p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
            procs[p.pid] = i
        cpu_s = 0.0
        while procs:
            pid, _, usage = os.wait4(-1, 0)
            if procs.pop(pid, None) is not None:
                cpu_s += usage.ru_utime + usage.ru_stime
        rates, frames = [], 0
        for i in range(n):
            with open(os.path.join(d, f"err{i}")) as f:
                for line in f:
                    if line.startswith('{"stats"'):
                        s = json.loads(line)["stats"]
                        rates.append(s["instances_decided"] / (s["elapsed_us"] / 1e6))
                        # The node counts frames_sent (messages and Decided frames); lv-baseline, sent.
                        frames += s.get("frames_sent", s.get("sent", 0))
        if len(rates) != n:
            raise RuntimeError(f"{binary}: {n - len(rates)} replica(s) printed no stats")
        return statistics.median(rates), cpu_s * 1e6 / instances, frames / instances


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--window", type=int, default=1000)
    ap.add_argument("--instances", type=int, default=300000)
    ap.add_argument("programs", nargs="+", help="label=path")
    args = ap.parse_args()
    programs = [p.partition("=")[::2] for p in args.programs]
    results = {label: [] for label, _ in programs}
    load = os.getloadavg()[0]
    for _ in range(args.runs):
        for label, path in programs:
            results[label].append(run_once(path, args.n, args.window, args.instances))
    print(f"n={args.n} --window {args.window}, {args.instances} instances, medians of {args.runs} interleaved runs; "
          f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    for label, _ in programs:
        v = results[label]
        print(f"  {label:<14} CPU us per decided instance (all replicas) {statistics.median(x[1] for x in v):7.2f}"
              f"   decided/s {statistics.median(x[0] for x in v):9.0f}"
              f"   lowest {min(x[1] for x in v):6.2f}"
              f"   frames sent per instance (cluster) {statistics.median(x[2] for x in v):.2f}"
              f"   runs (decided/s, CPU us): {[(round(x[0]), round(x[1], 1)) for x in v]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
