#!/usr/bin/env python3
"""A default `psyncc build` runs on an old x86-64 CPU: the replicas of a
cluster, each under `qemu-x86_64 -cpu Nehalem` (2008: SSE4.2 and POPCNT, no
AVX), decide one value. The control shows the test can fail: the same
protocol built with `--mcpu x86-64-v3 -O3` (AVX2) dies with SIGILL under that
model, and decides under `-cpu max`, so it is the CPU model that kills it.

usage: old_cpu_test.py PSYNCC QEMU_X86_64 PROTOCOL.psync
"""
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile

OLD_CPU = "Nehalem"
INPUTS = [3, 5, 7]


def free_udp_ports(count):
    held, ports = [], []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        held.append(s)
        ports.append(s.getsockname()[1])
    for s in held:
        s.close()
    return ports


def no_core_dumps():
    # qemu reports a guest SIGILL as "core dumped"; keep the cores out of the tree.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def build(psyncc, protocol, out, *flags):
    cmd = [psyncc, "build", protocol, "-o", out, *flags]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {proc.returncode}\n{proc.stderr}")


def run_cluster(qemu, cpu, binary, workdir, replicas):
    """Starts `replicas` of the n = len(INPUTS) processes under qemu; returns
    [(returncode, stdout, stderr)] in id order."""
    ports = free_udp_ports(len(INPUTS))
    cluster = os.path.join(workdir, "cluster.toml")
    with open(cluster, "w") as f:
        for i, p in enumerate(ports):
            f.write(f'[[process]]\nid = {i}\naddress = "127.0.0.1:{p}"\n\n')
    procs = []
    try:
        for i in range(replicas):
            # Emulation is slow: a generous round timeout, and a time limit
            # that ends the run if something hangs.
            cmd = [qemu, "-cpu", cpu, binary, "--id", str(i), "--cluster", cluster, "--input",
                   f"init={INPUTS[i]}", "--timeout", "100ms", "--time-limit", "30s"]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          stdin=subprocess.DEVNULL, preexec_fn=no_core_dumps))
        results = []
        for p in procs:
            out, err = p.communicate(timeout=90)
            results.append((p.returncode, out, err))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def expect_agreement(label, results):
    decisions = []
    for i, (code, out, err) in enumerate(results):
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        if code != 0 or len(lines) != 1:
            sys.exit(f"FAIL: {label}: replica {i} exited {code} with {len(lines)} decision(s)\n"
                     f"--- stdout\n{out}--- stderr\n{err}")
        decisions.append(lines[0]["value"])
    if len(set(decisions)) != 1 or decisions[0] not in INPUTS:
        sys.exit(f"FAIL: {label}: decisions {decisions} (inputs {INPUTS})")
    print(f"{label}: {len(decisions)} replicas decided {decisions[0]}")


def expect_sigill(label, results):
    for i, (code, out, err) in enumerate(results):
        # qemu re-raises the guest's fatal signal on itself.
        if code != -signal.SIGILL:
            sys.exit(f"FAIL: {label}: replica {i} exited {code}, expected SIGILL\n"
                     f"--- stdout\n{out}--- stderr\n{err}")
    print(f"{label}: SIGILL, as expected")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    psyncc, qemu, protocol = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="psync-old-cpu-") as workdir:
        portable = os.path.join(workdir, "portable")
        build(psyncc, protocol, portable)
        expect_agreement(f"default build under -cpu {OLD_CPU}",
                         run_cluster(qemu, OLD_CPU, portable, workdir, len(INPUTS)))

        newer = os.path.join(workdir, "x86-64-v3")
        # -O3: the full code generator, whose code for x86-64-v3 uses VEX
        # instructions from the start; up to -O2 psyncc uses the fast one
        # (compiler/codegen/backend.cpp), which may not.
        build(psyncc, protocol, newer, "--mcpu", "x86-64-v3", "-O3")
        # One replica is enough: it executes AVX code before it needs a peer.
        expect_sigill(f"control: --mcpu x86-64-v3 under -cpu {OLD_CPU}",
                      run_cluster(qemu, OLD_CPU, newer, workdir, 1))
        expect_agreement("control: --mcpu x86-64-v3 under -cpu max",
                         run_cluster(qemu, "max", newer, workdir, len(INPUTS)))
    print("OK")


if __name__ == "__main__":
    main()
