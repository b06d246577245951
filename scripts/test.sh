#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the Debian packages,
# builds with warnings as errors (PSYNC_WERROR=ON), then runs every test
# (doctest, lit, fuzz smoke, end-to-end) via ctest. Arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DPSYNC_WERROR=ON
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" "$@"
