#!/usr/bin/env python3
"""threads.py: `psyncc check --threads N` must give the same result for every
N (docs/checker.md, "Threads"): the exit status, the printed report (timings
aside), the --stats-json figures (states, transitions, depth, liveness checks)
and the --trace-json counterexample byte for byte, for 1, 2 and 4 threads, on
safe and broken protocols: symmetric and not, the phase abstraction, a
Byzantine one, assumptions, coins, a liveness failure, a decide conflict and
the state limit (also after a liveness failure). Usage: threads.py PSYNCC SOURCE_DIR"""
import json
import os
import re
import subprocess
import sys
import tempfile

CASES = [
    # (file, arguments, expected exit status)
    ("examples/one_third_rule.psync", ["-n", "5"], 0),
    ("tests/check/psync/otr_half_threshold.psync", ["-n", "5"], 1),
    ("tests/check/psync/otr_half_threshold.psync", ["-n", "4", "--no-symmetry"], 0),
    ("tests/check/psync/otr_no_termination.psync", ["-n", "4"], 1),  # liveness
    ("examples/ben_or.psync", ["-n", "3"], 0),  # coins
    ("examples/uniform_voting.psync", ["-n", "4", "--max-states", "1000"], 3),  # assume; cut inside a level
    ("tests/check/psync/decides_twice.psync", ["-n", "4"], 1),  # decide conflict
    ("tests/check/psync/lv_coord_max_x.psync", ["-n", "3"], 1),  # phase abstraction
    ("tests/check/psync/phase_king_byzantine_two_thirds.psync", ["-n", "4"], 1),  # byzantine
    ("tests/check/psync/arrival_order_go.psync", ["-n", "3"], 0),  # `go when`: arrival orders
    ("examples/chandra_toueg.psync", ["-n", "3"], 0),  # dead state words with the phase abstraction
    ("tests/check/psync/paxos_half_quorum.psync", ["-n", "3", "--rounds", "4"], 1),  # dead state words, broken
    # a liveness violation, then the state limit before a shorter one is ruled out
    ("tests/check/psync/otr_long_window.psync", ["-n", "6", "--values", "0..2", "--max-states", "300"], 1),
]

TIMING = re.compile(r", [0-9.]+[kMG]? states/s, [0-9.]+[kMG]? transitions/s|\(?[0-9.]+ s\)?")
VOLATILE = ("seconds", "peak_rss_bytes", "store_bytes", "states_per_second", "transitions_per_second")


def run(psyncc, src, tmp, case, threads):
    path, args, want = case
    trace = os.path.join(tmp, f"trace{threads}.json")
    stats = os.path.join(tmp, f"stats{threads}.json")
    cmd = [psyncc, "check", "-O0", os.path.join(src, path)] + args + [
        "--threads", str(threads), "--trace-json", trace, "--stats-json", stats]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != want:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}, expected {want}\n{p.stdout}{p.stderr}")
    report = TIMING.sub("", p.stdout.replace(trace, "TRACE"))
    with open(stats) as f:
        figures = {k: v for k, v in json.load(f).items() if k not in VOLATILE}
    text = None
    if os.path.exists(trace):
        with open(trace, "rb") as f:
            text = f.read()
        os.remove(trace)
    return report, figures, text


def main():
    psyncc, src = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            base = run(psyncc, src, tmp, case, 1)
            if case[2] == 1 and base[2] is None:
                sys.exit(f"{case[0]}: a violation without a --trace-json file")
            for threads in (2, 4):
                got = run(psyncc, src, tmp, case, threads)
                for what, a, b in zip(("report", "figures", "trace"), base, got):
                    if a != b:
                        sys.exit(f"{case[0]} {' '.join(case[1])}: --threads {threads} changes the {what}:\n"
                                 f"--threads 1: {a!r}\n--threads {threads}: {b!r}")
            print(f"same for 1, 2, 4 threads: {case[0]} {' '.join(case[1])}: {base[1].get('states')} states")


if __name__ == "__main__":
    main()
