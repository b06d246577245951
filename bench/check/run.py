#!/usr/bin/env python3
"""bench/check/run.py: throughput and memory of the exhaustive checker.

For each case it runs the checker --runs times, reads the figures it writes
with --stats-json (or, failing that, its `ok:` line), and prints the median
states/s, transitions/s and total time, and the memory per million states
(the visited-state store, and the peak RSS of the process).

A case is `label=COMMAND...`: the checker command line without
--stats-json. The default cases use the hand-written descriptors through
psync-check-fixtures; compiled protocols plug in the same way, e.g.

    bench/check/run.py --case "otr4=build/compiler/psyncc check examples/one_third_rule.psync -n 4 --rounds 8"

With --phases it runs PHASE_CASES instead: the examples that read `phase`,
bounded without the phase abstraction next to unbounded with it.

The runs of all cases are interleaved (run 1 of every case, then run 2...),
so that baseline and subject share the machine's load; `cpu s` is the
checker's user+system CPU time, which load inflates less than wall time.
--only SUBSTR keeps the cases whose label contains SUBSTR (repeatable).

Usage: bench/check/run.py [--tool PATH] [--runs 5] [--case LABEL=CMD]... [--phases [--psyncc PATH]] [--only SUBSTR]...
"""
import argparse
import json
import os
import resource
import re
import shlex
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# label, arguments after the tool: OneThirdRule n = 4 and n = 5 with enough
# input values and rounds to take a second or more; LastVoting n = 3 over
# four phases; the n = 4 run with its liveness spec (2^16 HO vectors per
# window round) shows what liveness costs.
DEFAULT_CASES = [
    ("otr n=4 values 0..3 rounds 10 (safety)", "check otr -n 4 --values 0..3 --rounds 10 --no-liveness"),
    ("otr n=4 values 0..1 rounds 8 (+liveness)", "check otr -n 4 --values 0..1 --rounds 8"),
    ("otr n=5 values 0..2 rounds 10", "check otr -n 5 --values 0..2 --rounds 10"),
    ("otr n=5 values 0..3 rounds 8", "check otr -n 5 --values 0..3 --rounds 8"),
    ("otr n=5 values 0..3 rounds 8 symmetry", "check otr -n 5 --values 0..3 --rounds 8 --symmetry"),
    ("last-voting n=3 values 0..2 rounds 16", "check last-voting -n 3 --values 0..2 --rounds 16"),
]

# The phase abstraction (docs/checker.md, "Unbounded verdicts for protocols
# that read phase"), with `--phases`: compiled examples through psyncc, each
# bounded run without the abstraction (the old figure) next to the unbounded
# one, n = 3, inputs 0..1, liveness on; and each unbounded run with
# --no-dead-state (docs/checker.md, "Dead state words") next to the default.
# Paxos closes with its stale promises folded (docs/checker.md, "Stale phase
# values") after about 35 s of CPU: its 60 s case shows how far a loaded
# machine gets, the 10-minute one the verdict for any length.
PHASE_CASES = [
    ("last-voting bounded 32 rounds", "check examples/last_voting.psync -n 3 --rounds 32 --no-phase-abstraction"),
    ("last-voting any length, dead kept", "check examples/last_voting.psync -n 3 --no-dead-state"),
    ("last-voting any length", "check examples/last_voting.psync -n 3"),
    ("short-last-voting bounded 24 rounds", "check examples/short_last_voting.psync -n 3 --rounds 24 --no-phase-abstraction"),
    ("short-last-voting any length, dead kept", "check examples/short_last_voting.psync -n 3 --no-dead-state"),
    ("short-last-voting any length", "check examples/short_last_voting.psync -n 3"),
    ("paxos bounded 8 rounds", "check examples/paxos.psync -n 3 --rounds 8 --no-phase-abstraction"),
    ("paxos unbounded (60 s), dead kept", "check examples/paxos.psync -n 3 --time-limit 60s --no-dead-state"),
    ("paxos unbounded (60 s limit)", "check examples/paxos.psync -n 3 --time-limit 60s"),
    ("paxos any length (stale promises folded)", "check examples/paxos.psync -n 3 --time-limit 10m"),
    ("chandra-toueg bounded 16 rounds", "check examples/chandra_toueg.psync -n 3 --rounds 16 --no-phase-abstraction"),
    ("chandra-toueg (60 s), dead kept", "check examples/chandra_toueg.psync -n 3 --time-limit 60s --no-dead-state"),
    ("chandra-toueg any length", "check examples/chandra_toueg.psync -n 3 --time-limit 60s"),
]

OK_LINE = re.compile(r"(\d+) states, (\d+) transitions.*\(([\d.]+) s\)")


def find_tool():
    for build in ("build-check", "build"):
        p = os.path.join(ROOT, build, "tests", "check", "psync-check-fixtures")
        if os.path.exists(p):
            return p
    return None


def run_once(cmd):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        stats_path = f.name
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(cmd + ["--stats-json", stats_path], capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if p.returncode not in (0, 1, 3):  # 3: a --time-limit case, reported as incomplete
            sys.exit(f"{shlex.join(cmd)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
        try:
            with open(stats_path) as f:
                figures = json.load(f)
                figures["cpu"] = cpu
                return figures
        except (OSError, ValueError):
            m = OK_LINE.search(p.stdout)  # a checker without --stats-json
            if not m:
                sys.exit(f"{shlex.join(cmd)}: no figures in its output\n{p.stdout}")
            return {"states": int(m.group(1)), "transitions": int(m.group(2)),
                    "seconds": float(m.group(3)), "store_bytes": 0, "peak_rss_bytes": 0,
                    "verdict": "ok" if p.returncode == 0 else "violation", "cpu": cpu}
    finally:
        os.unlink(stats_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", help="psync-check-fixtures (default: build-check/ or build/)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--case", action="append", default=[], metavar="LABEL=CMD")
    ap.add_argument("--phases", action="store_true",
                    help="the phase abstraction's cases (PHASE_CASES) through --psyncc, instead of the fixtures")
    ap.add_argument("--psyncc", default=os.path.join(ROOT, "build", "compiler", "psyncc"))
    ap.add_argument("--only", action="append", default=[], metavar="SUBSTR")
    args = ap.parse_args()

    cases = []
    for c in args.case:
        label, _, cmd = c.partition("=")
        cases.append((label, shlex.split(cmd)))
    if args.phases and not cases:
        os.chdir(ROOT)
        cases = [(label, [args.psyncc] + shlex.split(a) + ["--threads", "1"]) for label, a in PHASE_CASES]  # one core
    if not cases:
        tool = args.tool or find_tool()
        if not tool:
            sys.exit("psync-check-fixtures not found: build it (ninja -C build-check psync-check-fixtures) or pass --tool")
        cases = [(label, [tool] + shlex.split(a)) for label, a in DEFAULT_CASES]

    if args.only:
        cases = [(label, cmd) for label, cmd in cases if any(s in label for s in args.only)]
    print(f"checker benchmark: median of {args.runs} runs, one thread")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    hdr = (f"{'case':42} {'states':>10} {'trans':>11} {'time s':>8} {'cpu s':>8} {'states/s':>10} {'trans/s':>10} "
           f"{'store MB/Mst':>13} {'RSS MB/Mst':>11}  covers")
    print(hdr)
    print("-" * len(hdr))
    all_runs = [[] for _ in cases]
    for _ in range(args.runs):  # interleaved: run k of every case, then run k+1
        for i, (label, cmd) in enumerate(cases):
            all_runs[i].append(run_once(cmd))
    for (label, cmd), runs in zip(cases, all_runs):
        cpu = statistics.median(r["cpu"] for r in runs)
        secs = statistics.median(r["seconds"] for r in runs)
        st, tr = runs[0]["states"], runs[0]["transitions"]
        store = statistics.median(r["store_bytes"] for r in runs)
        rss = statistics.median(r["peak_rss_bytes"] for r in runs)
        per_m = lambda b: f"{b / st:.0f}" if b and st else "-"  # bytes/state == MB per million states
        r0 = runs[0]
        covers = ("any length" if r0.get("exhausted")
                  else f"{r0.get('depth', '?')} rounds" + (" (incomplete)" if r0.get("verdict") == "incomplete" else ""))
        if r0.get("verdict") == "violation":
            covers = "violation"
        print(f"{label:42} {st:>10} {tr:>11} {secs:>8.3f} {cpu:>8.2f} {st / secs:>10.0f} {tr / secs:>10.0f} "
              f"{per_m(store):>13} {per_m(rss):>11}  {covers}")


if __name__ == "__main__":
    main()
