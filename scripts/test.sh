#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the Debian packages,
# builds, then runs every test (doctest, lit, fuzz smoke, end-to-end) via ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" "$@"
