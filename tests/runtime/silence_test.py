#!/usr/bin/env python3
"""silence_test.py: a replica that hears no peer says so, and says so again
when it hears one. Real processes on loopback UDP.

Replica 0 of a 3-replica cluster starts alone; its peers start 3 s later.
After 2 s without a packet from any peer it must print one warning on
stderr and count it (`silent_periods` in --stats); once the peers run it
must print that it hears them again, and every replica must decide every
instance with one value. The peers, which hear replica 0 from their start,
must count no silent period.

usage: silence_test.py NODE_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import free_ports  # noqa: E402

INSTANCES = 5


def main():
    node = sys.argv[1]
    ports = free_ports(3)
    with tempfile.TemporaryDirectory(prefix="psync-silence-") as d:
        cluster = os.path.join(d, "cluster.toml")
        with open(cluster, "w") as f:
            for i, p in enumerate(ports):
                f.write(f'[[process]]\nid = {i}\naddress = "127.0.0.1:{p}"\n')

        def start(i):
            out = open(os.path.join(d, f"out{i}"), "w+")
            err = open(os.path.join(d, f"err{i}"), "w+")
            cmd = [node, "--id", str(i), "--cluster", cluster, "--input", "init=random", "--seed", "7",
                   "--instances", str(INSTANCES), "--stats", "--time-limit", "20s"]
            return subprocess.Popen(cmd, stdout=out, stderr=err), out, err

        first = start(0)
        time.sleep(3.0)
        peers = [start(1), start(2)]
        failures = []
        results = {}
        for i, (p, out, err) in enumerate([first] + peers):
            try:
                code = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                code = "killed after 30 s"
            out.seek(0)
            err.seek(0)
            text = err.read()
            decisions = [json.loads(line) for line in out if line.strip()]
            stats = [json.loads(line)["stats"] for line in text.splitlines() if line.startswith('{"stats"')]
            results[i] = (code, text, decisions, stats[0] if stats else {})

        code, text, decisions, stats = results[0]
        warn = "psync: id=0 warning: no packet from any peer for"
        if text.count(warn) != 1:
            failures.append(f"replica 0 printed the silence warning {text.count(warn)} times, want 1:\n{text}")
        if "psync: id=0 hearing from peers again" not in text:
            failures.append(f"replica 0 did not say it hears its peers again:\n{text}")
        elif text.index(warn) > text.index("psync: id=0 hearing from peers again"):
            failures.append("replica 0 said it hears its peers again before it warned")
        if stats.get("silent_periods") != 1:
            failures.append(f"replica 0: silent_periods {stats.get('silent_periods')}, want 1")
        for i in (1, 2):
            if results[i][3].get("silent_periods") != 0:
                failures.append(f"replica {i}: silent_periods {results[i][3].get('silent_periods')}, want 0")
            if "no packet from any peer" in results[i][1]:
                failures.append(f"replica {i} warned of silence although replica 0 was running")
        values = {}
        for i, (code, _, decisions, _) in results.items():
            if code != 0:
                failures.append(f"replica {i} exited with {code}, want 0")
            if sorted(d["instance"] for d in decisions) != list(range(INSTANCES)):
                failures.append(f"replica {i} decided instances {sorted(d['instance'] for d in decisions)}")
            for dd in decisions:
                values.setdefault(dd["instance"], set()).add(json.dumps(dd["value"]))
        for inst, vs in sorted(values.items()):
            if len(vs) != 1:
                failures.append(f"AGREEMENT VIOLATED in instance {inst}: {sorted(vs)}")
        if failures:
            print("\n".join(failures))
            return 1
        print(f"OK: replica 0 warned once after 2 s alone, heard its peers again; "
              f"{INSTANCES} instances decided by all 3 with one value each")
        return 0


if __name__ == "__main__":
    sys.exit(main())
