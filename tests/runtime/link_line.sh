#!/usr/bin/env bash
# link_line.sh: checks the link line runtime/README.md promises: the object
# psyncc emits for examples/one_third_rule.psync, linked with exactly that
# line, runs as a replica.
# Usage: link_line.sh CXX PSYNCC SOURCE_DIR LIBPSYNC_RUNTIME_A WORK_DIR
set -euo pipefail
cxx=$1 psyncc=$2 src=$3 lib=$4 work=$5
mkdir -p "$work"
cd "$work"
PSYNC_STDLIB="$src/stdlib" "$psyncc" build "$src/examples/one_third_rule.psync" --emit obj -o proto.o
# The documented line, and without its optional static flags:
"$cxx" proto.o "$lib" -lsodium -lpthread -static-libstdc++ -static-libgcc -o proto
"$cxx" proto.o "$lib" -lsodium -lpthread -o proto-shared
./proto --describe | grep -q '"name":"OneThirdRule"'
./proto-shared --describe | grep -q '"name":"OneThirdRule"'
# And a one-process cluster decides on its own.
printf '[[process]]\nid = 0\naddress = "127.0.0.1:0"\n' > c.toml || true
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[[process]]\nid = 0\naddress = "127.0.0.1:%s"\n' "$port" > c.toml
out=$(./proto --id 0 --cluster c.toml --input init=7 --quiet)
echo "$out"
echo "$out" | grep -q '"value":7'
echo "link line OK"
