#!/usr/bin/env python3
"""bench/rounds/run.py: rounds per second and decided instances per second on
loopback UDP, for node binaries (protocol object + libpsync_runtime.a) next to
the hand-written Asio lock-step baseline, all in the same run.

  run.py --baseline build-rt/bench/rounds/rounds-baseline \
         --protocol otr=build-rt/runtime/otr-node [--protocol lv=./last_voting ...]

For each protocol and n in {3, 5} it runs two workloads, each --runs times,
and reports the median over runs of the median over replicas:
  - latency:    --window 1, one instance after another: rounds/s is the
                lock-step round rate;
  - throughput: --window 1000: decided instances/s with many in flight.
Then peak RSS (VmHWM of each replica, the largest) with 10,000 instances in
flight at n=3, and the ratio protocol/baseline for each figure. A protocol
named like the baseline's exchange (OneThirdRule) is compared with it; the
ratio of other protocols is printed for reference only.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_ports(count):
    held, ports = [], []
    while len(ports) < count:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        held.append(u)
        ports.append(u.getsockname()[1])
    for s in held:
        s.close()
    return ports


def peak_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_cluster(kind, binary, n, instances, window, timeout_s, extra=()):
    """Starts n replicas; returns a list of per-replica stats dicts (+ peak_kb)."""
    ports = free_ports(n)
    with tempfile.TemporaryDirectory(prefix="psync-bench-") as d:
        cluster = os.path.join(d, "cluster.toml")
        with open(cluster, "w") as f:
            for i, p in enumerate(ports):
                f.write(f'[[process]]\nid = {i}\naddress = "127.0.0.1:{p}"\n')
        procs = []
        for i in range(n):
            if kind == "baseline":
                cmd = [binary, "--id", str(i), "--ports", ",".join(map(str, ports)),
                       "--instances", str(instances), "--window", str(window), "--seed", "1"]
            else:
                cmd = [binary, "--id", str(i), "--cluster", cluster, "--input", "init=random",
                       "--instances", str(instances), "--window", str(window), "--stats", "--quiet",
                       "--seed", "1", "--time-limit", f"{timeout_s}s", *extra]
            err = open(os.path.join(d, f"err{i}"), "w+")
            procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err), err))
        peaks = [0] * n
        deadline = time.monotonic() + timeout_s + 5
        while any(p.poll() is None for p, _ in procs) and time.monotonic() < deadline:
            for i, (p, _) in enumerate(procs):
                if p.poll() is None:
                    peaks[i] = max(peaks[i], peak_rss_kb(p.pid))
            time.sleep(0.02)
        stats = []
        for i, (p, err) in enumerate(procs):
            if p.poll() is None:
                p.kill()
                p.wait()
            err.seek(0)
            s = None
            for line in err:
                if line.startswith('{"stats"'):
                    s = json.loads(line)["stats"]
            err.close()
            if s is None:
                raise RuntimeError(f"{binary} replica {i} printed no stats (exit {p.returncode})")
            s["peak_kb"] = peaks[i]
            stats.append(s)
        return stats


def rates(stats):
    """Median over replicas of rounds/s and decided/s."""
    rps = [s["rounds_completed"] / (s["elapsed_us"] / 1e6) for s in stats]
    dps = [s["instances_decided"] / (s["elapsed_us"] / 1e6) for s in stats]
    return statistics.median(rps), statistics.median(dps)


def measure(kind, binary, n, instances, window, runs, timeout_s):
    per_run = [rates(run_cluster(kind, binary, n, instances, window, timeout_s)) for _ in range(runs)]
    return statistics.median(r[0] for r in per_run), statistics.median(r[1] for r in per_run)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="the rounds-baseline binary")
    ap.add_argument("--protocol", action="append", required=True, help="label=path of a node binary")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency-instances", type=int, default=1000)
    ap.add_argument("--throughput-instances", type=int, default=20000)
    ap.add_argument("--throughput-window", type=int, default=1000)
    ap.add_argument("--memory-instances", type=int, default=10000)
    ap.add_argument("--sizes", default="3,5")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    protocols = []
    for p in args.protocol:
        label, _, path = p.partition("=")
        if not path or not os.access(path, os.X_OK):
            ap.error(f"--protocol {p}: expected label=path to an executable")
        protocols.append((label, path))
    sizes = [int(x) for x in args.sizes.split(",")]
    figures = {}
    print(f"bench/rounds: loopback UDP, medians of {args.runs} run(s); load average {os.getloadavg()[0]:.1f}")
    print(f"{'program':<22}{'n':>3}{'rounds/s (W=1)':>17}{'decided/s (W=1)':>17}"
          f"{'decided/s (W=' + str(args.throughput_window) + ')':>21}")
    rows = [("baseline", "baseline", args.baseline)] + [(label, "node", path) for label, path in protocols]
    for label, kind, path in rows:
        for n in sizes:
            r1, d1 = measure(kind, path, n, args.latency_instances, 1, args.runs, 60)
            _, dw = measure(kind, path, n, args.throughput_instances, args.throughput_window, args.runs, 60)
            figures[(label, n)] = (r1, d1, dw)
            print(f"{label:<22}{n:>3}{r1:>17.0f}{d1:>17.0f}{dw:>21.0f}", flush=True)
    print()
    for label, _, _ in rows[1:]:
        for n in sizes:
            b, p = figures[("baseline", n)], figures[(label, n)]
            print(f"ratio {label}/baseline n={n}: rounds/s {p[0] / b[0]:.2f}, decided/s W=1 {p[1] / b[1]:.2f}, "
                  f"decided/s W={args.throughput_window} {p[2] / b[2]:.2f}")
    print()
    mem = {}
    for label, kind, path in rows:
        extra = ("--timeout", "500ms")
        stats = run_cluster(kind, path, 3, args.memory_instances, args.memory_instances, 60, extra)
        mem[label] = max(s["peak_kb"] for s in stats)
        decided = min(s["instances_decided"] for s in stats)
        print(f"peak RSS, {args.memory_instances} instances in flight, n=3: {label}: "
              f"{mem[label] / 1024:.1f} MiB per replica ({decided} decided)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rates": {f"{k[0]}/n={k[1]}": v for k, v in figures.items()}, "peak_kb": mem}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
