#!/usr/bin/env bash
# After `cmake --install`, the installed psyncc finds the runtime library and
# the stdlib next to itself, builds a protocol and runs a local cluster.
# usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d "${TMPDIR:-/tmp}/psync-install-XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" > /dev/null
test -x "$prefix/bin/psyncc"
test -f "$prefix/lib/psync/libpsync_runtime.a"
# The ABI header, usable from C as installed.
test -f "$prefix/include/psync/abi.h"
cc -std=c99 -pedantic -Wall -Wextra -Werror -I "$prefix/include" "$src/tests/runtime/abi_c99.c" -o "$prefix/abi_c99"
"$prefix/abi_c99"
cd "$prefix"
# Outside the source tree, with no environment hints.
env -u PSYNC_STDLIB -u PSYNC_RUNTIME_LIB "$prefix/bin/psyncc" build "$src/examples/one_third_rule.psync" -o "$prefix/otr"
test -x "$prefix/otr"
out=$(env -u PSYNC_STDLIB "$prefix/bin/psyncc" run "$src/examples/one_third_rule.psync" -n 3 --input init=4)
echo "$out"
grep -q "instance 0: 3/3 decided, value 4" <<< "$out"
grep -q "agreement: yes" <<< "$out"
if ls "$src"/stdlib/*.psync > /dev/null 2>&1; then
  for m in "$src"/stdlib/*.psync; do test -f "$prefix/share/psync/stdlib/$(basename "$m")"; done
fi
echo "PASS: installed psyncc builds and runs"
