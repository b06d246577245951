#!/usr/bin/env bash
# The main job, from a fresh clone: installs the Debian packages, builds
# psyncc and the runtime, type-checks the examples, then compiles
# examples/one_third_rule.psync and runs it on a local cluster of 5 replica
# processes over loopback UDP, and model-checks it for n = 4.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
PSYNCC=./build/compiler/psyncc
echo "== psyncc typecheck examples/*.psync"
$PSYNCC typecheck examples/*.psync
echo "== psyncc run examples/one_third_rule.psync -n 5 --input init=random --instances 10"
$PSYNCC run examples/one_third_rule.psync -n 5 --input init=random --instances 10
echo "== psyncc check examples/one_third_rule.psync -n 4"
$PSYNCC check examples/one_third_rule.psync -n 4
