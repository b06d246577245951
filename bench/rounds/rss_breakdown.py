#!/usr/bin/env python3
"""bench/rounds/rss_breakdown.py: what a node replica's peak RSS is made of.

Runs an n=3 cluster of a node binary with every instance in flight (as
run.py's memory row does: --window = --instances, --timeout 500ms), samples
replica 0's /proc/PID/smaps every 20 ms, and prints, for the sample with the
largest RSS, the resident KiB by kind of mapping: the binary's text and data,
shared libraries, [heap] (the main malloc arena), other anonymous maps (malloc's
mmap'ed blocks and the other threads' arenas), [stack], and the rest.

usage: rss_breakdown.py [--instances 10000] [--env NAME=VALUE ...] binary
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import free_ports, write_cluster  # noqa: E402


def classify(path, binary):
    if path == "[heap]":
        return "heap"
    if path.startswith("[stack"):
        return "stack"
    if path == "":
        return "anon"
    if os.path.realpath(path) == os.path.realpath(binary):
        return "binary"
    if path.startswith("/"):
        return "libraries"
    return "other " + path


def sample(pid, binary):
    """{kind: resident KiB} from /proc/pid/smaps, plus the biggest anon maps."""
    kinds, anon, path = {}, [], None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                head = line.split()
                if not head:
                    continue
                if "-" in head[0] and not head[0].endswith(":"):
                    path = head[5] if len(head) > 5 else ""
                    size = None
                elif head[0] == "Size:":
                    size = int(head[1])
                elif head[0] == "Rss:":
                    k = classify(path, binary)
                    kinds[k] = kinds.get(k, 0) + int(head[1])
                    if k == "anon":
                        anon.append((int(head[1]), size))
    except OSError:
        return None, None
    return kinds, sorted(anon, reverse=True)[:6]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=10000)
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the replicas (e.g. MALLOC_ARENA_MAX=1)")
    ap.add_argument("binary")
    args = ap.parse_args()
    env = dict(os.environ, **dict(e.split("=", 1) for e in args.env))
    ports = free_ports(3)
    with tempfile.TemporaryDirectory(prefix="psync-rss-") as d:
        cluster = write_cluster(d, ports)
        procs = [subprocess.Popen([args.binary, "--id", str(i), "--cluster", cluster, "--input", "init=random",
                                   "--instances", str(args.instances), "--window", str(args.instances), "--quiet",
                                   "--seed", "1", "--timeout", "500ms", "--time-limit", "60s"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) for i in range(3)]
        best, best_anon = {}, []
        while procs[0].poll() is None:
            kinds, anon = sample(procs[0].pid, args.binary)
            if kinds and sum(kinds.values()) > sum(best.values()):
                best, best_anon = kinds, anon
            time.sleep(0.02)
        for p in procs:
            p.wait()
    total = sum(best.values())
    print(f"{os.path.basename(args.binary)}: peak sampled RSS of replica 0 {total / 1024:.1f} MiB "
          f"({args.instances} instances in flight, n=3{', ' + ' '.join(args.env) if args.env else ''})")
    for k, v in sorted(best.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<12} {v:7d} KiB")
    print("  largest anonymous maps (resident KiB, size KiB):", best_anon)
    return 0


if __name__ == "__main__":
    sys.exit(main())
