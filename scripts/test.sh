#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the Debian packages,
# builds with warnings as errors (PSYNC_WERROR=ON), then runs every test
# (doctest, lit, fuzz smoke, end-to-end) via ctest. Arguments go to ctest.
# A new build directory is a Release build (-O3), so CI proves that Release
# builds warning-free and passes the whole suite; an existing one keeps its
# type, and BUILD_TYPE=... chooses another.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
DEFAULT_BUILD_TYPE=Release bash scripts/build.sh -DPSYNC_WERROR=ON
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" "$@"
