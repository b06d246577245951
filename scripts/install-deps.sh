#!/usr/bin/env bash
# Installs every Debian package psync needs to build, test and benchmark.
# Safe to run twice; never asks a question (works with CI=true and no stdin).
set -euo pipefail

PACKAGES=(
  antlr4 libantlr4-runtime-dev uuid-dev
  llvm-19-dev llvm-19-tools clang-19 lld-19 libclang-rt-19-dev libzstd-dev
  # lld's library: psyncc build links protocols in-process (compiler/codegen/link_lld.cpp).
  liblld-19-dev
  libboost-dev doctest-dev libfmt-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  cmake ninja-build g++ python3 libxml2-utils
  # Authenticated channels; the fault campaign (ip netns, tc netem).
  libsodium-dev iproute2
  # Tests of portable and cross-compiled code: an old CPU model, aarch64.
  qemu-user crossbuild-essential-arm64
  # `cpack -G DEB` (dpkg-shlibdeps finds the .deb's shared-library dependencies).
  dpkg-dev
  # The browser test of `psyncc explore` (tests/explore): headless Chromium.
  chromium
)
# npm (with Node.js) installs the pinned TextMate grammar test tools of
# editors/vscode. A machine whose Node.js already ships npm keeps it.
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
