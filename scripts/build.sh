#!/usr/bin/env bash
# Configures and builds psync with CMake and Ninja into ./build (or $BUILD_DIR).
# Arguments go to cmake (e.g. -DPSYNC_WERROR=ON); cmake runs every time, so
# they take effect in an existing build directory too (it is quick when
# nothing changed). BUILD_TYPE=Release|RelWithDebInfo|Debug sets the build
# type; without it a new directory gets DEFAULT_BUILD_TYPE (RelWithDebInfo
# unless set; scripts/test.sh sets Release) and an existing one keeps its type.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
args=(-S . -B "$BUILD_DIR")
# The generator is fixed when a directory is first configured.
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then args+=(-G Ninja); fi
if [ -n "${BUILD_TYPE:-}" ]; then
  args+=(-DCMAKE_BUILD_TYPE="$BUILD_TYPE")
elif [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  args+=(-DCMAKE_BUILD_TYPE="${DEFAULT_BUILD_TYPE:-RelWithDebInfo}")
fi
cmake "${args[@]}" "$@"
cmake --build "$BUILD_DIR" -j "$JOBS"
