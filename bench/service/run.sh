#!/usr/bin/env bash
# run.sh: figures of the replicated-log service (docs/service.md): three and
# five replicas in service mode on loopback agree on a log of PROPOSALS
# client proposals from 10 concurrent clients (checked: each decided exactly
# once, identical logs), with proposals per second and the median and p99
# latency from proposal to reply, saturated (200 proposals outstanding per
# client; in memory and with every replica on a --data-dir, interleaved) and
# then lightly loaded (1 outstanding per client, 1,000 proposals).
# Runs alternate n=3 and n=5, RUNS each; the medians are printed with the
# load average.
#   usage: bench/service/run.sh BUILD_DIR [PROPOSALS=100000] [RUNS=3]
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [PROPOSALS] [RUNS]}
total=${2:-100000}
runs=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
per_client=$((total / 10))
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# Saturated, interleaved: in memory, then every replica on a --data-dir (the
# cost of durability: docs/service.md, "Durability").
durable=$(mktemp)
trap 'rm -f "$out" "$durable"' EXIT
for ((i = 0; i < runs; i++)); do
  for n in 3 5; do
    python3 "$src/tests/e2e/service_test.py" "$build/compiler/psyncc" "$src/examples/log_last_voting.psync" \
      log -n "$n" --clients 10 --proposals "$per_client" --window 200 --timeout 120 --json | tee -a "$out"
    python3 "$src/tests/e2e/service_test.py" "$build/compiler/psyncc" "$src/examples/log_last_voting.psync" \
      log -n "$n" --clients 10 --proposals "$per_client" --window 200 --timeout 120 --json --durable |
      tee -a "$durable"
  done
done
# Light load, for the latency of one proposal rather than of a queue: the
# same 10 clients with one proposal outstanding each, 100 proposals apiece.
light=$(mktemp)
trap 'rm -f "$out" "$durable" "$light"' EXIT
for ((i = 0; i < runs; i++)); do
  for n in 3 5; do
    python3 "$src/tests/e2e/service_test.py" "$build/compiler/psyncc" "$src/examples/log_last_voting.psync" \
      log -n "$n" --clients 10 --proposals 100 --window 1 --timeout 120 --json | tee -a "$light"
  done
done
summary() {
  python3 - "$1" "$2" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for n in (3, 5):
    r = [x for x in rows if x["n"] == n]
    if not r:
        continue
    med = lambda k: statistics.median(x[k] for x in r)
    print(f"{sys.argv[2]} n={n}: {r[0]['proposals']} proposals, 10 clients, {len(r)} runs: median "
          f"{med('proposals_per_s'):.0f} proposals/s, latency median {med('latency_median_ms'):.1f} ms, "
          f"p99 {med('latency_p99_ms'):.1f} ms")
PY
}
summary "$out" "saturated (200 outstanding per client)"
summary "$durable" "saturated, --data-dir"
summary "$light" "light (1 outstanding per client)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
