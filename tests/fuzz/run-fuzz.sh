#!/usr/bin/env bash
# run-fuzz.sh BUILD_DIR SECONDS [LIBFUZZER_FLAG...]
#
# Builds the libFuzzer target psync_fuzz_frontend in its own clang-19 build
# tree BUILD_DIR (configured on the first run, reused later), then fuzzes the
# front end for SECONDS seconds. Exits non-zero on any crash, sanitizer
# report, leak, timeout (> 10 s on one input) or out-of-memory (> 2 GB).
#
# The seeds (tests/fuzz/corpus and examples/*.psync) are copied into
# BUILD_DIR/corpus, which the fuzzer grows; the repository is never written.
# Crash files go to BUILD_DIR/artifacts/run-*/. Extra arguments go to the
# fuzzer, e.g. -jobs=2 -workers=2 for a longer campaign (see README.md).
#
# Environment: PSYNC_FUZZ_FRESH=1 starts from the seeds only (drops the
# corpus grown by earlier runs); PSYNC_FUZZ_JOBS sets the build parallelism;
# PSYNC_FUZZ_TARGET picks the target: frontend (the default), or one of the
# network layer's net_packet, net_tcp_framing, net_handshake (seeded from
# tests/fuzz/net/corpus-<target> when it exists, with no dictionary).
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [LIBFUZZER_FLAG...]" >&2
  exit 2
fi
BUILD_DIR=$1
SECONDS_TO_RUN=$2
shift 2
case "$SECONDS_TO_RUN" in
  ''|*[!0-9]*) echo "run-fuzz: SECONDS must be a whole number, got '$SECONDS_TO_RUN'" >&2; exit 2 ;;
esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
mkdir -p "$BUILD_DIR"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)

find_tool() {
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
  done
  return 1
}
# ctest passes the compilers CMake found (PSYNC_FUZZ_CXX, PSYNC_FUZZ_CC);
# by hand, clang-19 from PATH or from llvm-config-19's bin directory.
LLVM_BIN=$(llvm-config-19 --bindir 2>/dev/null || true)
CXX=$(find_tool ${PSYNC_FUZZ_CXX:-} clang++-19 ${LLVM_BIN:+$LLVM_BIN/clang++}) || {
  echo "run-fuzz: clang++-19 not found (apt-get install clang-19 libclang-rt-19-dev)" >&2; exit 2; }
CC=$(find_tool ${PSYNC_FUZZ_CC:-} clang-19 ${LLVM_BIN:+$LLVM_BIN/clang}) || {
  echo "run-fuzz: clang-19 not found" >&2; exit 2; }
GENERATOR=()
if command -v ninja >/dev/null 2>&1; then GENERATOR=(-G Ninja); fi
JOBS=${PSYNC_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

t0=$(date +%s)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  echo "run-fuzz: configuring $BUILD_DIR with $CXX"
  # -O1 -g without NDEBUG: asserts stay on, and the instrumented ANTLR parser
  # compiles in reasonable time.
  cmake -S "$ROOT" -B "$BUILD_DIR" "${GENERATOR[@]}" \
    -DCMAKE_BUILD_TYPE=Fuzz \
    -DCMAKE_CXX_FLAGS_FUZZ="-O1 -g" -DCMAKE_C_FLAGS_FUZZ="-O1 -g" \
    -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_C_COMPILER="$CC" \
    -DPSYNC_FUZZ=ON -DPSYNC_TESTS=OFF -DPSYNC_WERROR=ON </dev/null
fi
TARGET=${PSYNC_FUZZ_TARGET:-frontend}
case "$TARGET" in
  frontend|net_packet|net_tcp_framing|net_handshake) ;;
  *) echo "run-fuzz: unknown PSYNC_FUZZ_TARGET '$TARGET'" >&2; exit 2 ;;
esac
cmake --build "$BUILD_DIR" --target "psync_fuzz_$TARGET" -j "$JOBS" </dev/null
t1=$(date +%s)
echo "run-fuzz: build took $((t1 - t0)) s"

# Working corpus: the seeds plus whatever earlier runs found.
CORPUS="$BUILD_DIR/corpus"
DICT=(-dict="$HERE/psync.dict")
if [ "$TARGET" != frontend ]; then CORPUS="$BUILD_DIR/corpus-$TARGET"; DICT=(); fi
if [ "${PSYNC_FUZZ_FRESH:-0}" = 1 ]; then rm -rf "$CORPUS"; fi
mkdir -p "$CORPUS"
if [ "$TARGET" = frontend ]; then
  cp -f "$HERE"/corpus/* "$CORPUS"/
  for f in "$ROOT"/examples/*.psync; do
    [ -e "$f" ] && cp -f "$f" "$CORPUS/example-$(basename "$f")"
  done
elif [ -d "$HERE/net/corpus-$TARGET" ]; then
  cp -f "$HERE/net/corpus-$TARGET"/* "$CORPUS"/
fi

ARTIFACTS="$BUILD_DIR/artifacts/run-$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$ARTIFACTS"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

echo "run-fuzz: fuzzing for $SECONDS_TO_RUN s (corpus $CORPUS, artifacts $ARTIFACTS)"
status=0
# cd: with -jobs, libFuzzer writes fuzz-N.log into the current directory.
(cd "$BUILD_DIR" && "$BUILD_DIR/tests/fuzz/psync_fuzz_$TARGET" \
  -max_total_time="$SECONDS_TO_RUN" \
  -max_len=4096 \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -malloc_limit_mb=2048 \
  "${DICT[@]}" \
  -artifact_prefix="$ARTIFACTS/" \
  -print_final_stats=1 \
  "$@" \
  "$CORPUS" </dev/null) || status=$?

found=$(find "$ARTIFACTS" -type f | wc -l)
t2=$(date +%s)
echo "run-fuzz: fuzzing took $((t2 - t1)) s, total $((t2 - t0)) s; corpus now $(find "$CORPUS" -type f | wc -l) files"
if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
  echo "run-fuzz: FAILED (fuzzer exit status $status, $found artifact(s) in $ARTIFACTS)" >&2
  find "$ARTIFACTS" -type f -exec ls -l {} + >&2 || true
  echo "run-fuzz: reproduce one with: $BUILD_DIR/tests/fuzz/psync_fuzz_$TARGET <file>" >&2
  exit 1
fi
rmdir "$ARTIFACTS" 2>/dev/null || true
echo "run-fuzz: no crash, leak or timeout found"
