#!/usr/bin/env bash
# link_line.sh: checks the link line runtime/README.md promises to psyncc.
# Builds the hand-written OneThirdRule into one relocatable object, as the
# compiler emits one, links it with exactly that line, and runs the result.
# Usage: link_line.sh CXX RUNTIME_SRC_DIR LIBPSYNC_RUNTIME_A WORK_DIR
set -euo pipefail
cxx=$1 src=$2 lib=$3 work=$4
mkdir -p "$work"
cd "$work"
"$cxx" -std=c++20 -O2 -I"$src" -I"$src/include" -c "$src/testing/otr_protocol.cpp" -o desc.o
"$cxx" -std=c++20 -O2 -I"$src" -I"$src/include" -c "$src/testing/one_third_rule.cpp" -o otr.o
ld -r desc.o otr.o -o proto.o
# The documented line:
"$cxx" proto.o "$lib" -lpthread -o proto
./proto --describe | grep -q '"name":"OneThirdRule"'
# And a one-process cluster decides on its own.
printf '[[process]]\nid = 0\naddress = "127.0.0.1:0"\n' > c.toml || true
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[[process]]\nid = 0\naddress = "127.0.0.1:%s"\n' "$port" > c.toml
out=$(./proto --id 0 --cluster c.toml --input init=7 --quiet)
echo "$out"
echo "$out" | grep -q '"value":7'
echo "link line OK"
