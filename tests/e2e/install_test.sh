#!/usr/bin/env bash
# After `cmake --install`, the installed psyncc finds the runtime library and
# the stdlib next to itself, builds a protocol and runs a local cluster; and
# downstream CMake projects of both kinds (psync::node, psync::replica) build
# against the installed package and run.
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

# The CMake package (README, "Using psync from C++"): downstream projects
# find it with find_package(psync CONFIG REQUIRED) and compile protocols with
# psync_add_protocol, outside the source tree.
test -f "$prefix/lib/cmake/psync/psyncConfig.cmake"
test -f "$prefix/lib/cmake/psync/psyncConfigVersion.cmake"
test -f "$prefix/include/psync/replica.hpp"
test -f "$prefix/lib/psync/libpsync_replica.a"

# Three free loopback ports, for one cluster at a time (the e2e tests hold
# the loopback_cluster lock).
free_ports() {
  python3 -c '
import socket
socks = []
for _ in range(3):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
ports = [s.getsockname()[1] for s in socks]
for s in socks:
    s.close()  # before printing: the reader binds them as soon as it reads
print(" ".join(map(str, ports)))'
}

# KIND PROTOCOL: configures and builds tests/e2e/downstream/KIND against the
# installed prefix only.
downstream() {
  local log="$prefix/downstream-$1.log"
  if ! cmake -S "$src/tests/e2e/downstream/$1" -B "$prefix/downstream-$1" -G Ninja -DCMAKE_BUILD_TYPE=Release \
         -DCMAKE_PREFIX_PATH="$prefix" -DPROTOCOL="$2" > "$log" 2>&1 ||
     ! cmake --build "$prefix/downstream-$1" >> "$log" 2>&1; then
    cat "$log"
    echo "FAIL: the downstream $1 project does not build"
    exit 1
  fi
}

# psync::node: the standard replica main(); a 3-replica loopback cluster
# decides 5 instances of OneThirdRule (random inputs), each the same value at
# every replica.
downstream node "$src/examples/one_third_rule.psync"
# One cluster run; returns 3 when a port was taken between free_ports and
# the bind (other processes share loopback), so that it is retried.
run_node_cluster() {
  local p0 p1 p2 pids=() failed=0
  read -r p0 p1 p2 < <(free_ports)
  printf '[[process]]\nid = %d\naddress = "127.0.0.1:%d"\n' 0 "$p0" 1 "$p1" 2 "$p2" > "$prefix/cluster.toml"
  for i in 0 1 2; do
    "$prefix/downstream-node/otr_node" --id $i --cluster "$prefix/cluster.toml" --input init=random \
      --seed $((i + 7)) --instances 5 --time-limit 30s --quiet > "$prefix/node$i.out" 2> "$prefix/node$i.err" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  if [ $failed -ne 0 ]; then
    if grep -q "cannot bind" "$prefix"/node*.err; then return 3; fi
    cat "$prefix"/node*.err
    echo "FAIL: a downstream node exited with an error"
    exit 1
  fi
}
retry_on_port_clash() {  # COMMAND...: up to 3 attempts while it returns 3
  local attempt status
  for attempt in 1 2 3; do
    status=0
    "$@" || status=$?
    if [ $status -ne 3 ]; then return $status; fi
    echo "a port was taken meanwhile; retrying with others"
  done
  echo "FAIL: no free ports after 3 attempts"
  exit 1
}
retry_on_port_clash run_node_cluster
python3 -c '
import json, sys
decided = {}
for path in sys.argv[1:]:
    for line in open(path):
        d = json.loads(line)
        if "value" in d:
            decided.setdefault(d["instance"], {})[d["id"]] = d["value"]
assert sorted(decided) == [0, 1, 2, 3, 4], decided
for inst, by_replica in sorted(decided.items()):
    assert sorted(by_replica) == [0, 1, 2], (inst, by_replica)
    assert len(set(by_replica.values())) == 1, (inst, by_replica)
print("decisions:", {i: v[0] for i, v in sorted(decided.items())})
' "$prefix"/node0.out "$prefix"/node1.out "$prefix"/node2.out
echo "PASS: a downstream psync::node project runs a 3-replica cluster that agrees"

# psync_add_protocol tracks what the protocol imports (psyncc build
# --depfile): a protocol importing a module of its own directory is not
# rebuilt when nothing changed, and is when the module changes.
dep="$prefix/depcheck"
mkdir -p "$dep"
printf 'module threshold\n\nfn big(k: int): bool = k > 2\n' > "$dep/threshold.psync"
sed 's|^import consensus.*|&\nimport threshold|' "$src/examples/one_third_rule.psync" > "$dep/otr.psync"
deplog="$prefix/downstream-dep.log"
if ! cmake -S "$src/tests/e2e/downstream/node" -B "$prefix/downstream-dep" -G Ninja -DCMAKE_BUILD_TYPE=Release \
       -DCMAKE_PREFIX_PATH="$prefix" -DPROTOCOL="$dep/otr.psync" "-DPROTOCOL_ARGS=-I;$dep" > "$deplog" 2>&1 ||
   ! cmake --build "$prefix/downstream-dep" >> "$deplog" 2>&1; then
  cat "$deplog"
  echo "FAIL: the downstream project with an imported module does not build"
  exit 1
fi
cmake --build "$prefix/downstream-dep" > "$deplog" 2>&1
if grep -q "psyncc: compiling" "$deplog"; then
  cat "$deplog"
  echo "FAIL: the protocol was compiled again although nothing changed"
  exit 1
fi
printf 'module threshold\n\nfn big(k: int): bool = k > 3\n' > "$dep/threshold.psync"
cmake --build "$prefix/downstream-dep" > "$deplog" 2>&1
if ! grep -q "psyncc: compiling" "$deplog"; then
  cat "$deplog"
  echo "FAIL: editing an imported module did not rebuild the protocol"
  exit 1
fi
echo "PASS: psync_add_protocol rebuilds the protocol when a module it imports changes, and only then"

# psync::replica: an application that embeds three replicas in its own
# io_context; every decision callback sees the same log of 300 proposals.
downstream replica "$src/examples/log_last_voting.psync"
run_embedded() {
  local p0 p1 p2
  read -r p0 p1 p2 < <(free_ports)
  "$prefix/downstream-replica/embedded_log" "$p0" "$p1" "$p2" 300
}
retry_on_port_clash run_embedded
