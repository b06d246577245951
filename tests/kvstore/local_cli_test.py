#!/usr/bin/env python3
"""local_cli_test.py: the README's three commands as a user runs them:
`psync-kvstore --local 3` starts three replicas, `psync-kv put` / `get` / `cas`
talk to them; a request retried under the same id is applied once; bad
client input gets an error line and leaves the replica serving; with one
replica killed (SIGKILL) the client moves on to the next and still succeeds.

usage: local_cli_test.py PSYNC_KVSTORE PSYNC_KV
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time


def free_base_port(n):
    # 2n consecutive free ports (clients, then the replicas' UDP ports).
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1]
        s.close()
        if base + 2 * n > 65000:
            continue
        ok = True
        for p in range(base, base + 2 * n):
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                t = socket.socket(socket.AF_INET, kind)
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                finally:
                    t.close()
        if ok:
            return base
    raise SystemExit("FAIL: no free port range")


def children_of(parent):
    """(pid, argv) of the processes whose parent is `parent`, from /proc
    (no procps needed)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                found.append((int(entry), [a.decode() for a in f.read().split(b"\0") if a]))
        except (OSError, ValueError, IndexError):
            continue
    return found


def main():
    kvstore, kv = sys.argv[1], sys.argv[2]
    base = free_base_port(3)
    env = dict(os.environ, PSYNC_KV_REPLICAS=",".join(f"127.0.0.1:{base + i}" for i in range(3)))
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    def run_kv(*args):
        r = subprocess.run([kv, *args], capture_output=True, text=True, env=env, timeout=30)
        return r.returncode, r.stdout.strip(), r.stderr.strip()

    local = subprocess.Popen([kvstore, "--local", "3", "--port", str(base)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        banner = local.stdout.readline()
        check(f"clients on ports {base}..{base + 2}" in banner, f"--local 3 announces its ports: {banner.strip()}")
        for i in range(3):
            end = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", base + i), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > end:
                        raise SystemExit(f"FAIL: replica {i} never listened")
                    time.sleep(0.05)

        check(run_kv("put", "x", "hello") == (0, "ok", ""), "put x hello")
        check(run_kv("get", "x") == (0, "hello", ""), "get x -> hello")
        check(run_kv("get", "nothing")[:2] == (1, "(absent)"), "get of an absent key: (absent), status 1")
        check(run_kv("cas", "x", "hello", "world")[:2] == (0, "ok"), "cas x hello world succeeds")
        check(run_kv("cas", "x", "hello", "again")[:2] == (1, 'failed: the value is "world"'),
              "cas with a stale old value fails and names the value")
        check(run_kv("cas", "--absent", "y", "first")[:2] == (0, "ok"), "cas --absent on a new key")

        # The same id twice: the second is the first's reply, not a new write.
        rc1, out1, _ = run_kv("--json", "--id", "retry-1", "put", "z", "1")
        rc2, out2, _ = run_kv("--json", "--id", "retry-1", "put", "z", "2")
        check(rc1 == 0 and out1 == out2, f"a retried id gets its first reply ({out1} / {out2})")
        check(run_kv("get", "z")[1] == "1", "... and is applied once: z is still 1")
        # --replicas on the command line, as the README writes it (a comma
        # list before the operation; it once swallowed the operation).
        listed = ",".join(f"127.0.0.1:{base + i}" for i in (2, 0))
        check(run_kv("--replicas", listed, "get", "z")[:2] == (0, "1"), f"--replicas {listed} get z")

        # Bad input on a raw connection: one error line each, and the same
        # connection keeps working.
        s = socket.create_connection(("127.0.0.1", base + 1), timeout=5)
        f = s.makefile("rwb")
        bad = [b"not json", b"[1]", b'{"id":"b1","op":"drop","key":"x"}', b'{"id":"b2","op":"put","key":"x"}',
               b'{"id":"b3","op":"get","key":"x","bogus":1}', b"x" * 70000,
               b'{"id":"b4","op":"put","key":"x","value":"' + b"v" * 5000 + b'"}']
        for line in bad:
            f.write(line + b"\n")
        f.write(b'{"id":"good","op":"get","key":"x"}\n')
        f.flush()
        replies = [json.loads(f.readline()) for _ in range(len(bad) + 1)]
        check(all("error" in r for r in replies[:-1]), "every bad request gets an error line: " +
              "; ".join(r.get("error", "?") for r in replies[:-1]))
        check(replies[-1].get("value") == "world", f"the connection still works: {replies[-1]}")
        # A client stalled in the middle of a line holds only its own buffer.
        stalled = socket.create_connection(("127.0.0.1", base + 1), timeout=5)
        stalled.sendall(b'{"id":"half", "op": "pu')
        check(run_kv("get", "x") == (0, "world", ""), "a client stalled mid-line does not hold up the others")
        stalled.close()
        s.close()

        # Replica 0 dies: the client tries it, then the next one, same id.
        victim = [pid for pid, args in children_of(local.pid) if args[1:3] == ["--id", "0"]]
        check(len(victim) == 1, "found replica 0's process")
        os.kill(victim[0], signal.SIGKILL)
        rc, out, err = run_kv("--timeout", "1s", "put", "x", "after-kill")
        check(rc == 0 and out == "ok" and "no answer from 127.0.0.1:%d" % base in err,
              f"with replica 0 killed, put goes to the next replica ({err.splitlines()[:1]})")
        check(run_kv("--timeout", "1s", "get", "x")[1] == "after-kill", "get x -> after-kill")
    finally:
        local.send_signal(signal.SIGTERM)
        try:
            local.wait(10)
        except subprocess.TimeoutExpired:
            local.kill()
            failures.append("--local did not stop on SIGTERM")
    check(local.returncode == 0, f"--local stops its replicas on SIGTERM and exits 0 ({local.returncode})")
    print("PASS" if not failures else f"FAIL: {len(failures)} checks")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
