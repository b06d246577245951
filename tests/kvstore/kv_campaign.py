#!/usr/bin/env python3
"""kv_campaign.py: a seeded fault campaign against psync-kvstore on loopback,
each run a kv_e2e.py `faults` run with faults drawn from its seed: message
loss (0-20%) and delay on every replica, one replica killed with SIGKILL at a
random time (or none), and another paused with SIGSTOP and resumed with
SIGCONT (or none; with a kill and a pause at once, 3 replicas have no
majority until the pause ends, so operations stall and may never complete).
Every history is checked for linearizability; a failing run prints the seed
and the command that reruns it. Not in ctest (it runs for minutes): the
ctest runs are kv_e2e.py's fixed ones.

usage: kv_campaign.py PSYNC_KVSTORE CHECKER [--runs 20] [--seed 1] [--seconds 6]
"""
import argparse
import os
import random
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def draw(seed, seconds):
    rng = random.Random(seed)
    args = ["--seed", str(seed), "--seconds", str(seconds),
            "--drop", str(rng.choice([0, 0.05, 0.1, 0.2])),
            "--delay", rng.choice(["0", "2ms", "10ms"])]
    kill = rng.choice([-1, 0, 1, 2])
    args += ["--kill", str(kill), "--kill-at", f"{rng.uniform(0.5, seconds - 2):.1f}"]
    pause = rng.choice([-1] + [i for i in range(3) if i != kill])
    args += ["--pause", str(pause), "--pause-at", f"{rng.uniform(0.5, seconds - 2):.1f}",
             "--pause-for", f"{rng.uniform(0.3, 2.5):.1f}"]
    # Progress is asserted by the ctest runs; here only what must hold under
    # any faults: linearizability, no error replies, no crash.
    args += ["--min-ops", "1", "--min-after-kill", "0", "--max-pending", "1000"]
    return args, kill, pause


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kvstore")
    ap.add_argument("checker")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=6)
    a = ap.parse_args()
    e2e = os.path.join(HERE, "kv_e2e.py")
    totals = {"runs": 0, "kills": 0, "pauses": 0, "ops": 0, "never_completed": 0, "failed": 0}
    check_ms = []
    t0 = time.monotonic()
    for seed in range(a.seed, a.seed + a.runs):
        args, kill, pause = draw(seed, a.seconds)
        cmd = [sys.executable, e2e, a.kvstore, a.checker, "faults", *args]
        r = subprocess.run(cmd, capture_output=True, text=True)
        totals["runs"] += 1
        totals["kills"] += kill >= 0
        totals["pauses"] += pause >= 0
        m = re.search(r"history: (\d+) ops \((\d+) completed.*?(\d+) never completed", r.stdout)
        if m:
            totals["ops"] += int(m.group(1))
            totals["never_completed"] += int(m.group(3))
        c = re.search(r"checker: (.*?) in (\d+) ms", r.stdout)
        if c:
            check_ms.append(int(c.group(2)))
        first = r.stdout.splitlines()[0] if r.stdout else "(no output)"
        status = "PASS" if r.returncode == 0 else "FAIL"
        print(f"seed {seed}: {status} {first.split(': ', 1)[-1]} | "
              + (f"{m.group(1)} ops, {m.group(3)} never completed" if m else "")
              + (f" | {c.group(1)}" if c else ""), flush=True)
        if r.returncode != 0:
            totals["failed"] += 1
            print("  " + "\n  ".join((r.stdout + r.stderr).strip().splitlines()[-12:]))
            print("  rerun: " + " ".join(cmd[1:]))
    check_ms.sort()
    print(f"campaign: {totals['runs']} runs in {time.monotonic() - t0:.0f} s, {totals['kills']} kills, "
          f"{totals['pauses']} pauses, {totals['ops']} operations ({totals['never_completed']} never completed), "
          f"checker median {check_ms[len(check_ms) // 2] if check_ms else 0} ms; {totals['failed']} failed runs")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
