#!/usr/bin/env bash
# The main job, from a fresh clone: installs the Debian packages, builds
# psyncc, then type-checks every example protocol.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
echo "== psyncc typecheck examples/*.psync"
./build/compiler/psyncc typecheck examples/*.psync
echo "all examples type-check"
