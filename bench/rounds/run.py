#!/usr/bin/env python3
"""bench/rounds/run.py: rounds per second and decided instances per second on
loopback UDP, for node binaries (protocol object + libpsync_runtime.a) next to
the hand-written Asio lock-step baseline, all in the same run.

  run.py --baseline build/bench/rounds/rounds-baseline \
         --protocol otr-hand=build/bench/compile/otr-hand \
         --psyncc build/compiler/psyncc [--protocol label=path ...]

With --psyncc it first compiles examples/one_third_rule.psync and
examples/last_voting.psync (`psyncc build`) into a temporary directory and
measures them as `otr-psyncc` and `lv-psyncc`.

For each program and n in {3, 5} it runs two workloads, each --runs times
(default 5), and reports the median over runs of the median over replicas:
  - latency:    --window 1, one instance after another: rounds/s is the
                round rate of one replica (the instance count is cut so a run
                takes about --latency-seconds, for timeout-bound protocols);
  - throughput: --window 1000: decided instances/s with many in flight.
Then LastVoting: with --lv-baseline (bench/rounds/lv_baseline.cpp, a
hand-written LastVoting replica that coalesces messages per peer and
event-loop turn), lv-baseline and every lv* program at each n and each of
--lv-windows (default 1, 100, 1000, 4000), runs interleaved (baseline, then
program, --runs times), with the ratio program/lv-baseline; peak RSS
(VmHWM of each replica at its exit, --stats peak_rss_kib, the largest) with 10,000 instances in flight at n=3,
and the ratios generated/hand-written: each program against the baseline,
and otr-psyncc against otr-hand (the same protocol written by hand in C++
against the ABI, bench/compile/one_third_rule.cpp, linked with the same
runtime).
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


def write_cluster(directory, ports):
    """Writes the cluster file of replicas on 127.0.0.1 at `ports` into
    `directory`; returns its path."""
    cluster = os.path.join(directory, "cluster.toml")
    with open(cluster, "w") as f:
        for i, p in enumerate(ports):
            f.write(f'[[process]]\nid = {i}\naddress = "127.0.0.1:{p}"\n')
    return cluster


def run_cluster(kind, binary, n, instances, window, timeout_s, extra=(), preload=None):
    """Starts n replicas; returns a list of per-replica stats dicts (+ peak_kb,
    and with `preload` (the counting allocator) alloc_count)."""
    ports = free_ports(n)
    with tempfile.TemporaryDirectory(prefix="psync-bench-") as d:
        cluster = write_cluster(d, ports)
        procs = []
        for i in range(n):
            if kind != "node":
                cmd = [binary, "--id", str(i), "--ports", ",".join(map(str, ports)),
                       "--instances", str(instances), "--window", str(window), "--seed", "1"]
            else:
                cmd = [binary, "--id", str(i), "--cluster", cluster, "--input", "init=random",
                       "--instances", str(instances), "--window", str(window), "--stats", "--quiet",
                       "--seed", "1", "--time-limit", f"{timeout_s}s", *extra]
            err = open(os.path.join(d, f"err{i}"), "w+")
            env = dict(os.environ, LD_PRELOAD=preload) if preload else None
            procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env), err))
        deadline = time.monotonic() + timeout_s + 5
        while any(p.poll() is None for p, _ in procs) and time.monotonic() < deadline:
            time.sleep(0.02)
        stats = []
        for i, (p, err) in enumerate(procs):
            if p.poll() is None:
                p.kill()
                p.wait()
            err.seek(0)
            s, allocs = None, None
            for line in err:
                if line.startswith('{"stats"'):
                    s = json.loads(line)["stats"]
                elif line.startswith('{"alloc_count"'):
                    allocs = json.loads(line)["alloc_count"]
            err.close()
            if s is None:
                raise RuntimeError(f"{binary} replica {i} printed no stats (exit {p.returncode})")
            # The replica's own peak (VmHWM at its exit, --stats peak_rss_kib;
            # every node binary and both baselines print it): sampling VmHWM
            # from here missed the peak of a replica that finishes between two
            # samples (10,000 instances take ~10 ms). 0 if a program lacks it.
            s["peak_kb"] = s.get("peak_rss_kib", 0)
            if allocs is not None:
                s["alloc_count"] = allocs
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


def latency_instances(kind, binary, n, cap, seconds):
    """Instances for a --window 1 run of about `seconds` of steady state (at
    most `cap`). The rate comes from two probes, 20 and 220 instances: their
    difference leaves out what every run pays once (start-up, the hellos,
    the last instance's lingering), which dominates a short probe. A rate
    taken from the 20-instance probe alone made a node's runs a few hundred
    instances long, mostly start-up, and understated its rate by half."""
    def elapsed_s(k):
        return statistics.median(s["elapsed_us"] for s in run_cluster(kind, binary, n, k, 1, 60)) / 1e6
    short, long = elapsed_s(20), elapsed_s(220)
    rate = 200 / max(long - short, 1e-3)
    return max(20, min(cap, int(rate * seconds)))


def compare_last_voting(args, lv, sizes, figures):
    """LastVoting decided instances/s per replica: lv-baseline against each lv*
    program, same n, same window, runs interleaved; prints the ratios."""
    windows = [int(x) for x in args.lv_windows.split(",")]
    print()
    print(f"LastVoting, decided instances/s per replica (runs interleaved with lv-baseline; "
          f"load average {os.getloadavg()[0]:.1f}):")
    for label, path in lv:
        for n in sizes:
            for w in windows:
                progs = [("node", path)]
                if args.lv_baseline:
                    progs.insert(0, ("lv-baseline", args.lv_baseline))
                counts = {}
                for kind, binary in progs:
                    if w == 1:
                        counts[kind] = latency_instances(kind, binary, n, args.latency_instances, args.latency_seconds)
                    else:
                        counts[kind] = max(20000, args.lv_instances * w // 1000)
                per = {kind: [] for kind, _ in progs}
                timeouts = []  # the node's, summed over its replicas, per run
                for _ in range(args.runs):
                    for kind, binary in progs:
                        stats = run_cluster(kind, binary, n, counts[kind], w, 60)
                        per[kind].append(rates(stats)[1])
                        if kind == "node":
                            timeouts.append(sum(s.get("timeouts", 0) for s in stats))
                got = {kind: statistics.median(v) for kind, v in per.items()}
                figures[(label, n, f"W={w}")] = got["node"]
                line = f"  n={n} --window {w:<5} {label} {got['node']:>10.0f}"
                if args.lv_baseline:
                    base = got["lv-baseline"]
                    figures[("lv-baseline", n, f"W={w}")] = base
                    line += f"   lv-baseline {base:>10.0f}   ratio {got['node'] / base:.2f}"
                # Round timeouts show a run that stalled (a replica descheduled
                # for longer than the timeout on this 2-core VM, or loss).
                line += f"   (timeouts per run: {' '.join(str(t) for t in timeouts)})"
                print(line, flush=True)


def count_allocations(args, rows):
    """Heap allocations in the steady state: each node program at n=3,
    --window 1000, with the counting allocator preloaded, run with two
    instance counts; (allocations(K2) - allocations(K1)) / (K2 - K1) is what
    one more instance costs, and 0 means none per instance or per round."""
    k1, k2 = args.alloc_instances
    print()
    print(f"heap allocations (counting allocator), n=3, --window {args.throughput_window}, "
          f"{k1} and {k2} instances; load average {os.getloadavg()[0]:.1f}:")
    for label, kind, path in rows:
        if kind != "node":
            continue
        got = {}
        for k in (k1, k2):
            stats = run_cluster(kind, path, 3, k, args.throughput_window, 60, preload=args.alloc_count)
            got[k] = [s.get("alloc_count", {}).get("allocations") for s in stats]
            if None in got[k]:
                raise RuntimeError(f"{path}: the counting allocator printed nothing (is {args.alloc_count} a "
                                   f"psync-alloc-count.so?)")
        per = [(b - a) / (k2 - k1) for a, b in zip(got[k1], got[k2])]
        print(f"  {label}: allocations per replica {got[k1]} at {k1}, {got[k2]} at {k2}; "
              f"per extra instance {max(per):.4f} (largest over replicas)", flush=True)


def compile_examples(psyncc, examples, outdir):
    out = []
    for label, name in (("otr-psyncc", "one_third_rule"), ("lv-psyncc", "last_voting")):
        src = os.path.join(examples, name + ".psync")
        exe = os.path.join(outdir, name)
        r = subprocess.run([psyncc, "build", src, "-o", exe], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"run.py: psyncc build {src} failed:\n{r.stderr}")
        out.append((label, exe))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="the rounds-baseline binary")
    ap.add_argument("--protocol", action="append", default=[], help="label=path of a node binary")
    ap.add_argument("--psyncc", help="compile examples/one_third_rule and last_voting with this psyncc")
    ap.add_argument("--examples", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                       "examples"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--latency-seconds", type=float, default=1.5)
    ap.add_argument("--lv-baseline", help="the lv-baseline binary (hand-written LastVoting), run next to lv-psyncc")
    ap.add_argument("--lv-windows", default="1,100,1000,4000", help="LastVoting decided/s at these windows")
    ap.add_argument("--lv-instances", type=int, default=300000,
                    help="LastVoting instances at --window 1000 (scaled with the window, at least 20,000)")
    ap.add_argument("--latency-instances", type=int, default=100000,
                    help="at most this many instances in a --window 1 run (sized to --latency-seconds)")
    ap.add_argument("--throughput-instances", type=int, default=20000)
    ap.add_argument("--throughput-window", type=int, default=1000)
    ap.add_argument("--memory-instances", type=int, default=10000)
    ap.add_argument("--sizes", default="3,5")
    ap.add_argument("--alloc-count", help="psync-alloc-count.so: count heap allocations of the node programs")
    ap.add_argument("--alloc-instances", default="20000,200000",
                    type=lambda v: tuple(int(x) for x in v.split(",")), help="K1,K2 for --alloc-count")
    ap.add_argument("--only", action="append", choices=["rows", "lv", "alloc", "memory"],
                    help="run only this section (repeatable: --only rows --only lv); rows is the main table")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    protocols = []
    for p in args.protocol:
        label, _, path = p.partition("=")
        if not path or not os.access(path, os.X_OK):
            ap.error(f"--protocol {p}: expected label=path to an executable")
        protocols.append((label, path))
    tmp = tempfile.TemporaryDirectory(prefix="psync-bench-bin-")
    if args.psyncc:
        protocols += compile_examples(args.psyncc, args.examples, tmp.name)
    if not protocols:
        ap.error("give --protocol or --psyncc")
    sizes = [int(x) for x in args.sizes.split(",")]
    only = set(args.only or [])

    def wanted(section):
        return not only or section in only

    figures = {}
    print(f"bench/rounds: loopback UDP, medians of {args.runs} run(s); load average {os.getloadavg()[0]:.1f}")
    print(f"{'program':<22}{'n':>3}{'rounds/s (W=1)':>17}{'decided/s (W=1)':>17}"
          f"{'decided/s (W=' + str(args.throughput_window) + ')':>21}")
    rows = [("baseline", "baseline", args.baseline)] + [(label, "node", path) for label, path in protocols]
    for label, kind, path in rows if wanted("rows") else []:
        for n in sizes:
            k = latency_instances(kind, path, n, args.latency_instances, args.latency_seconds)
            r1, d1 = measure(kind, path, n, k, 1, args.runs, 60)
            _, dw = measure(kind, path, n, args.throughput_instances, args.throughput_window, args.runs, 60)
            figures[(label, n)] = (r1, d1, dw)
            print(f"{label:<22}{n:>3}{r1:>17.0f}{d1:>17.0f}{dw:>21.0f}", flush=True)
    print()
    print("ratios generated/hand-written (>= 0.9 is the target):")
    pairs = [(label, "baseline") for label, _, _ in rows[1:]] if wanted("rows") else []
    labels = [label for label, _, _ in rows]
    if "otr-psyncc" in labels and "otr-hand" in labels and wanted("rows"):
        pairs.append(("otr-psyncc", "otr-hand"))
    for a, b in pairs:
        for n in sizes:
            fa, fb = figures[(a, n)], figures[(b, n)]
            note = "" if a.startswith("otr") or b != "baseline" else "  (another protocol: for reference)"
            print(f"  {a}/{b} n={n}: rounds/s {fa[0] / fb[0]:.2f}, decided/s W=1 {fa[1] / fb[1]:.2f}, "
                  f"decided/s W={args.throughput_window} {fa[2] / fb[2]:.2f}{note}")
    lv = [(label, path) for label, kind, path in rows if label.startswith("lv")]
    if lv and wanted("lv"):
        compare_last_voting(args, lv, sizes, figures)
    if args.alloc_count and wanted("alloc"):
        count_allocations(args, rows)
    print()
    mem = {}
    if args.lv_baseline:
        rows.append(("lv-baseline", "lv-baseline", args.lv_baseline))
    for label, kind, path in rows if wanted("memory") else []:
        extra = ("--timeout", "500ms")
        stats = run_cluster(kind, path, 3, args.memory_instances, args.memory_instances, 60, extra)
        mem[label] = max(s["peak_kb"] for s in stats)
        decided = min(s["instances_decided"] for s in stats)
        print(f"peak RSS, {args.memory_instances} instances in flight, n=3: {label}: "
              f"{mem[label] / 1024:.1f} MiB per replica ({decided} decided)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rates": {"/".join(map(str, k)): v for k, v in figures.items()}, "peak_kb": mem}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
