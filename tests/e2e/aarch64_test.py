#!/usr/bin/env python3
"""Cross compilation end to end: `psyncc build --target aarch64-linux-gnu
--emit obj`, linked with a small C lock-step driver (lockstep_harness.c)
by the aarch64 cross compiler, runs under qemu-aarch64 and decides.

usage: aarch64_test.py PSYNCC CROSS_GCC QEMU_AARCH64 ABI_INCLUDE_DIR PROTOCOL.psync INPUT...
"""
import os
import subprocess
import sys
import tempfile


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, **kw)
    if proc.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}"
                 f"--- stderr\n{proc.stderr}")
    return proc.stdout


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    psyncc, gcc, qemu, include, protocol = sys.argv[1:6]
    inputs = sys.argv[6:]
    harness = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lockstep_harness.c")
    # The target's libraries, for qemu's -L: <sysroot>/lib/libc.so.6.
    libc = os.path.realpath(run([gcc, "-print-file-name=libc.so.6"]).strip())
    sysroot = os.path.dirname(os.path.dirname(libc))
    with tempfile.TemporaryDirectory(prefix="psync-aarch64-") as tmp:
        obj = os.path.join(tmp, "protocol.o")
        exe = os.path.join(tmp, "harness")
        run([psyncc, "build", protocol, "--target", "aarch64-linux-gnu", "--emit", "obj", "-o", obj])
        run([gcc, "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-I", include, harness, obj, "-o", exe])
        out = run([qemu, "-L", sysroot, exe, *inputs])
    print(out, end="")
    if "all decided the same value" not in out:
        sys.exit("FAIL: the processes did not all decide the same value")
    print("OK")


if __name__ == "__main__":
    main()
