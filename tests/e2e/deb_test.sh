#!/usr/bin/env bash
# `cpack -G DEB` from the build directory (README, "Using psync from C++")
# makes a .deb holding psyncc, the headers, both runtime archives, the CMake
# package and the stdlib, depending on the -dev packages applications need.
# The package is written to a temporary directory, not the build tree.
# usage: deb_test.sh BUILD_DIR
set -euo pipefail
build=$1
out=$(mktemp -d "${TMPDIR:-/tmp}/psync-deb-XXXXXX")
trap 'rm -rf "$out"' EXIT
if ! (cd "$build" && cpack -G DEB -B "$out" > "$out/cpack.log" 2>&1); then
  cat "$out/cpack.log"
  echo "FAIL: cpack -G DEB"
  exit 1
fi
deb=$(ls "$out"/psync_*.deb)
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/psyncc ./usr/include/psync/abi.h ./usr/include/psync/replica.hpp \
         ./usr/lib/psync/libpsync_runtime.a ./usr/lib/psync/libpsync_replica.a \
         ./usr/lib/cmake/psync/psyncConfig.cmake ./usr/lib/cmake/psync/psyncConfigVersion.cmake \
         ./usr/lib/cmake/psync/psyncTargets.cmake ./usr/lib/cmake/psync/psyncProtocol.cmake \
         ./usr/share/psync/stdlib/quorum.psync; do
  grep -q " $f\$" <<< "$contents" || { echo "FAIL: $f is not in $(basename "$deb")"; exit 1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in libsodium-dev libboost-dev; do
  grep -q "$d" <<< "$depends" || { echo "FAIL: $(basename "$deb") does not depend on $d"; exit 1; }
done
echo "PASS: $(basename "$deb"), depends: $depends"
