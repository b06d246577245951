#!/usr/bin/env python3
"""bench/rounds/net_cost.py: what the transport costs, for A/B runs of node
binaries over UDP or TCP on loopback.

Like cpu_per_instance.py (CPU time from wait4's rusage, summed over the n
replicas, per decided instance; runs interleaved; medians), but it splits
user from system time, takes `--transport`, and prints what the transport
did per decided instance, summed over the cluster (--stats): frames sent,
packets sent (UDP datagrams, or TCP packets), frames per packet, and frames
per receive batch (one drain of the UDP socket; one read of every TCP
connection). Flags after `--` go to every replica.

usage: net_cost.py [--runs 5] [-n 3] [--window 1000] [--instances 300000]
                   [--transport udp|tcp] label=binary ... [-- node flags]
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


def run_once(binary, args, extra):
    ports = free_ports(args.n)
    with tempfile.TemporaryDirectory(prefix="psync-net-") as d:
        cluster = write_cluster(d, ports)
        procs = {}
        for i in range(args.n):
            cmd = [binary, "--id", str(i), "--cluster", cluster, "--input", "init=random", "--instances",
                   str(args.instances), "--window", str(args.window), "--transport", args.transport, "--stats",
                   "--quiet", "--seed", "1", "--time-limit", "120s"] + extra
            with open(os.path.join(d, f"err{i}"), "w") as err:
                p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
            procs[p.pid] = i
        user = system = 0.0
        while procs:
            pid, _, usage = os.wait4(-1, 0)
            if procs.pop(pid, None) is not None:
                user += usage.ru_utime
                system += usage.ru_stime
        total, rates = {}, []
        for i in range(args.n):
            with open(os.path.join(d, f"err{i}")) as f:
                for line in f:
                    if line.startswith('{"stats"'):
                        s = json.loads(line)["stats"]
                        rates.append(s["instances_decided"] / (s["elapsed_us"] / 1e6))
                        for k, v in s.items():
                            if isinstance(v, (int, float)) and not isinstance(v, bool):
                                total[k] = total.get(k, 0) + v
        if len(rates) != args.n:
            raise RuntimeError(f"{binary}: {args.n - len(rates)} replica(s) printed no stats")
        per = args.instances
        packets = total.get("tcp_packets_sent" if args.transport == "tcp" else "datagrams_sent", 0)
        return {
            "rate": statistics.median(rates),
            "user": user * 1e6 / per,
            "sys": system * 1e6 / per,
            "cpu": (user + system) * 1e6 / per,
            "frames": total.get("frames_sent", 0) / per,
            "packets": packets / per,
            "frames_per_packet": total.get("frames_sent", 0) / max(packets, 1),
            "frames_per_batch": total.get("frames_received", 0) / max(total.get("receive_batches", 0), 1),
        }


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--window", type=int, default=1000)
    ap.add_argument("--instances", type=int, default=300000)
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("programs", nargs="+", help="label=path")
    args = ap.parse_args(argv)
    programs = [p.partition("=")[::2] for p in args.programs]
    results = {label: [] for label, _ in programs}
    load = os.getloadavg()[0]
    for _ in range(args.runs):
        for label, path in programs:
            results[label].append(run_once(path, args, extra))
    print(f"{args.transport}, n={args.n} --window {args.window}, {args.instances} instances, medians of {args.runs} "
          f"interleaved runs; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"  {'':<10} {'CPU us/inst':>11} {'user':>7} {'sys':>7} {'decided/s':>10} {'frames/inst':>11} "
          f"{'packets/inst':>12} {'frames/packet':>13} {'frames/batch':>12}")
    for label, _ in programs:
        v = results[label]

        def med(k):
            return statistics.median(x[k] for x in v)
        print(f"  {label:<10} {med('cpu'):11.2f} {med('user'):7.2f} {med('sys'):7.2f} {med('rate'):10.0f} "
              f"{med('frames'):11.2f} {med('packets'):12.3f} {med('frames_per_packet'):13.1f} "
              f"{med('frames_per_batch'):12.1f}   CPU per run: {[round(x['cpu'], 1) for x in v]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
