#!/usr/bin/env python3
"""bench/trust/run.py: the cost of authentication and of durability (issue
12) in decided instances/s, LastVoting n=3 on loopback, --window 1000.

  run.py --node build/tests/runtime/lv-node --psyncc build/compiler/psyncc \
         [--baseline lv-node-built-against-main] [--runs 5] [--instances 20000] [--transport udp]

Modes, interleaved in each round of --runs (so that load changes hit all
alike), each the median over replicas of instances_decided / elapsed:
  baseline   (optional) the same protocol linked against a runtime without
             the session layer (e.g. main before issue 12): no MAC at all
  keyless    this runtime, no keys: every packet still carries a MAC under
             keys anyone can derive (the warning mode)
  keyed      psyncc keygen keys: authenticated channels
  durable    keyed, and --data-dir on the local disk (group commit, one
             fdatasync per event-loop turn)
It prints the medians over runs, the ratios (keyed/keyless, keyed/baseline,
durable/keyed) and the load average before and after.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "runtime"))
from cluster import free_ports, write_cluster  # noqa: E402


def run_once(binary, mode, args, workdir):
    n = 3
    ports = free_ports(n)
    d = tempfile.mkdtemp(prefix=f"psync-trust-{mode}-", dir=workdir)
    try:
        cluster = os.path.join(d, "cluster.toml")
        write_cluster(cluster, ports)
        key_args = lambda i: []  # noqa: E731
        if mode in ("keyed", "durable"):
            keydir = os.path.join(d, "keys")
            subprocess.run([args.psyncc, "keygen", "--dir", keydir, "--cluster", cluster], check=True,
                           capture_output=True)
            cluster = os.path.join(keydir, "cluster.toml")
            key_args = lambda i: ["--key", os.path.join(keydir, f"replica-{i}.key")]  # noqa: E731
        procs = []
        for i in range(n):
            cmd = [binary, "--id", str(i), "--cluster", cluster, "--input", "init=random", "--instances",
                   str(args.instances), "--window", "1000", "--transport", args.transport, "--stats", "--quiet",
                   "--seed", "1", "--time-limit", "120s"] + key_args(i)
            if mode == "durable":
                cmd += ["--data-dir", os.path.join(d, f"data{i}")]
            err = open(os.path.join(d, f"err{i}"), "w+")
            procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err), err))
        rates, commits = [], []
        for p, err in procs:
            p.wait(timeout=180)
            err.seek(0)
            s = next((json.loads(line)["stats"] for line in err if line.startswith('{"stats"')), None)
            if s is None or s["instances_decided"] != args.instances:
                # Counted and left out of the medians: a rate of an
                # unfinished run would flatter or blame the mode wrongly.
                print(f"run.py: {mode}: a replica decided "
                      f"{s['instances_decided'] if s else '?'} of {args.instances} (exit {p.returncode}); run left out")
                for q, _ in procs:
                    if q.poll() is None:
                        q.kill()
                        q.wait()
                return None, []
            rates.append(s["instances_decided"] / (s["elapsed_us"] / 1e6))
            if "log_commits" in s:
                commits.append((s["log_commits"], s["log_commit_us"]))
        return statistics.median(rates), commits
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node", required=True, help="LastVoting built by psyncc against this runtime")
    ap.add_argument("--psyncc", required=True, help="for keygen")
    ap.add_argument("--baseline", help="the same protocol against a runtime without the session layer")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--instances", type=int, default=20000)
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--data-parent", default=None, help="where the durable mode's data dirs go (default: TMPDIR)")
    args = ap.parse_args()
    modes = (["baseline"] if args.baseline else []) + ["keyless", "keyed", "durable"]
    results = {m: [] for m in modes}
    commit_info = []
    incomplete = {}
    load0 = os.getloadavg()
    workdir = tempfile.mkdtemp(prefix="psync-bench-trust-", dir=args.data_parent)
    try:
        for r in range(args.runs):
            for m in modes:
                rate, commits = run_once(args.baseline if m == "baseline" else args.node, m, args, workdir)
                if rate is None:
                    incomplete[m] = incomplete.get(m, 0) + 1
                    continue
                results[m].append(rate)
                commit_info += commits
                print(f"run {r + 1} {m:9} {rate:10.0f} decided/s  (load {os.getloadavg()[0]:.2f})", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load1 = os.getloadavg()
    med = {m: statistics.median(v) if v else float("nan") for m, v in results.items()}
    print(f"\nLastVoting n=3 --window 1000, {args.instances} instances, {args.transport}, medians of {args.runs} "
          f"interleaved runs; load average {load0[0]:.2f} before, {load1[0]:.2f} after")
    for m in modes:
        print(f"  {m:9} {med[m]:10.0f} decided/s   (runs: {', '.join(f'{x:.0f}' for x in results[m])})"
              + (f"; {incomplete[m]} run(s) left out, undecided" if m in incomplete else ""))
    if "baseline" in med:
        print(f"  ratio keyless/baseline {med['keyless'] / med['baseline']:.2f}, "
              f"keyed/baseline {med['keyed'] / med['baseline']:.2f}  (the cost of the session layer and MACs)")
    print(f"  ratio keyed/keyless {med['keyed'] / med['keyless']:.2f}  (real keys against derivable ones)")
    print(f"  ratio durable/keyed {med['durable'] / med['keyed']:.2f}  (the cost of --data-dir)")
    if commit_info:
        commits = sum(c for c, _ in commit_info)
        us = sum(u for _, u in commit_info)
        print(f"  durable: {commits / len(commit_info):.0f} commits per replica per run, "
              f"{us / max(commits, 1):.0f} us per commit (write + fdatasync)")


if __name__ == "__main__":
    main()
