#!/usr/bin/env python3
"""kv_e2e.py: end-to-end runs of psync-kvstore (examples/kvstore) as real
processes on loopback, driven by concurrent TCP clients that record every
operation's invocation and completion; the history is then judged by
examples/kvstore/linearizability.py.

  faults: 3 replicas with --drop (message loss on every replica), one killed
          with SIGKILL mid-run (and optionally one paused with SIGSTOP and
          resumed, and --delay on every replica); the history must be
          linearizable and enough operations must complete.
  stale:  the deliberately broken build (--stale-reads: gets read the local
          map) with one replica lagging (--delay on its incoming messages);
          the checker must find the history NOT linearizable.

usage: kv_e2e.py KVSTORE CHECKER {faults,stale} [--clients 5] [--seconds 8] [--drop 0.1]
                 [--kill 0 --kill-at 3] [--pause 1 --pause-at 2 --pause-for 1] [--delay 5ms]
                 [--min-ops 100] [--seed 1] [--keep DIR]   (kv_campaign.py draws these)
"""
import argparse
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"FAIL: replica exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"FAIL: port {port} never listened")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kvstore")
    ap.add_argument("checker")
    ap.add_argument("mode", choices=["faults", "stale"])
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--drop", type=float, default=0.1)
    ap.add_argument("--kill-at", type=float, default=3.0, help="faults: seconds into the run")
    ap.add_argument("--kill", type=int, default=0, help="faults: the replica killed (-1: none, for figures)")
    ap.add_argument("--restart-after", type=float, default=-1,
                    help="faults: restart the killed replica on its --data-dir this long after the kill "
                         "(every replica then runs with --data-dir); at the end every replica is read")
    ap.add_argument("--pause", type=int, default=-1, help="faults: a replica paused (SIGSTOP) ...")
    ap.add_argument("--pause-at", type=float, default=2.0, help="... this many seconds into the run ...")
    ap.add_argument("--pause-for", type=float, default=1.0, help="... and resumed (SIGCONT) this much later")
    ap.add_argument("--delay", default="0", help="faults: --delay of every replica (e.g. 5ms)")
    ap.add_argument("--max-pending", type=int, default=-1,
                    help="faults: operations that may never complete (default: 2 per client)")
    ap.add_argument("--lag", default="300ms", help="stale: --delay of the lagging replica")
    ap.add_argument("--min-ops", type=int, default=100, help="operations that must complete")
    ap.add_argument("--min-after-kill", type=int, default=20,
                    help="faults: operations called after the kill that must complete")
    ap.add_argument("--drop-only", type=int, default=-1,
                    help="faults: --drop applies to this replica's incoming messages only (a lagging replica)")
    ap.add_argument("--expect-learned", action="store_true",
                    help="faults: some replica must have learned a decision from a peer (decisions_learned)")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("KV_SEED", "1")))
    ap.add_argument("--keep", help="write the history and replica logs here")
    a = ap.parse_args()

    lin = load(a.checker, "linearizability")
    # The recording clients, shared with scripts/chaos.py --kvstore.
    kvc = load(os.path.join(os.path.dirname(os.path.abspath(a.checker)), "kv_clients.py"), "kv_clients")

    work = a.keep or tempfile.mkdtemp(prefix="kv-e2e-")
    os.makedirs(work, exist_ok=True)
    client_ports = [free_port(socket.SOCK_STREAM) for _ in range(a.n)]
    peer_ports = [free_port(socket.SOCK_DGRAM) for _ in range(a.n)]
    cluster = ",".join(f"127.0.0.1:{p}" for p in peer_ports)
    lagging = a.n - 1
    procs, logs, cmds = [], [], []
    restarted = None  # the killed replica's second incarnation
    try:
        for i in range(a.n):
            cmd = [a.kvstore, "--id", str(i), "--cluster", cluster, "--listen", f"127.0.0.1:{client_ports[i]}",
                   "--drop", str(a.drop if a.drop_only in (-1, i) else 0), "--seed", str(a.seed * 100 + i),
                   "--stats"]
            if a.mode == "faults" and a.delay != "0":
                cmd += ["--delay", a.delay]
            if a.mode == "stale":
                cmd.append("--stale-reads")
                if i == lagging:
                    cmd += ["--delay", a.lag]
            if a.mode == "faults" and a.restart_after >= 0:
                cmd += ["--data-dir", os.path.join(work, f"data{i}")]
            cmds.append(cmd)
            log = open(os.path.join(work, f"replica{i}.log"), "w")
            logs.append(log)
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
        for i in range(a.n):
            wait_listening(client_ports[i], procs[i])

        history, lock = [], threading.Lock()
        start = time.monotonic()
        deadline = start + a.seconds
        addrs = [("127.0.0.1", p) for p in client_ports]
        read_addr = addrs[lagging] if a.mode == "stale" else None
        write_addrs = addrs[:lagging] if a.mode == "stale" else addrs
        clients = [kvc.Client(c, write_addrs, deadline, a.seed * 1000 + c, history, lock, read_addr)
                   for c in range(a.clients)]
        for c in clients:
            c.start()
        killed_at = None
        faults = []  # (seconds into the run, signal, replica)
        if a.mode == "faults" and a.kill >= 0:
            faults.append((a.kill_at, signal.SIGKILL, a.kill))
            if a.restart_after >= 0:
                faults.append((a.kill_at + a.restart_after, None, a.kill))
        if a.mode == "faults" and a.pause >= 0:
            faults += [(a.pause_at, signal.SIGSTOP, a.pause), (a.pause_at + a.pause_for, signal.SIGCONT, a.pause)]
        for at, sig, i in sorted(faults, key=lambda f: f[0]):
            time.sleep(max(0.0, start + at - time.monotonic()))
            if sig is None:  # the restart, on the same data dir
                procs[i].wait()
                log = open(os.path.join(work, f"replica{i}.restarted.log"), "w")
                logs.append(log)
                restarted = subprocess.Popen(cmds[i], stdout=log, stderr=subprocess.STDOUT)
                continue
            if procs[i].poll() is None:
                procs[i].send_signal(sig)
            if sig == signal.SIGKILL:
                killed_at = time.monotonic() - start
        for c in clients:
            c.join(a.seconds + kvc.GIVE_UP_AFTER + 10)
            if c.is_alive():
                raise SystemExit(f"FAIL: client {c.cid} hung")
        final_reads = []
        if restarted is not None:
            # Every key read at every replica, the restarted one included:
            # part of the history, so each must see the latest write.
            final_reads = kvc.final_reads(addrs, history, lock)
        elapsed = time.monotonic() - start
    finally:
        if restarted is not None:
            procs.append(restarted)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)  # a paused replica must run to take its SIGTERM
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in logs:
            log.close()

    path = os.path.join(work, "history.jsonl")
    with open(path, "w") as f:
        for rec in history:
            f.write(json.dumps(rec) + "\n")
    completed = sum(r["return"] is not None for r in history)
    pending = len(history) - completed
    errors = [e for c in clients for e in c.errors]
    ops = lin.parse_history(open(path))
    t0 = time.monotonic()
    verdict, report, stats = lin.check_history(ops)
    check_ms = (time.monotonic() - t0) * 1000
    by_kind = {k: sum(r["op"] == k and r["return"] is not None for r in history) for k in ("put", "get", "cas")}
    cas_ok = sum(r["op"] == "cas" and r.get("ok") is True for r in history)
    print(f"{a.mode}: n={a.n}, {a.clients} clients, {elapsed:.1f} s, drop {a.drop}, seed {a.seed}"
          + (f", delay {a.delay}" if a.mode == "faults" and a.delay != "0" else "")
          + (f", replica {a.kill} killed at {killed_at:.1f} s" if killed_at is not None else "")
          + (f", replica {a.pause} paused at {a.pause_at:.1f} s for {a.pause_for:.1f} s"
             if a.mode == "faults" and a.pause >= 0 else "")
          + (f", replica {lagging} lagging ({a.lag}), stale reads on" if a.mode == "stale" else ""))
    print(f"history: {len(history)} ops ({completed} completed: {by_kind['put']} put, {by_kind['get']} get, "
          f"{by_kind['cas']} cas of which {cas_ok} succeeded; {pending} never completed), "
          f"{sum(c.retries for c in clients)} retries, {len(errors)} error replies; "
          f"{completed / elapsed:.0f} ops/s")
    print(f"checker: {'linearizable' if verdict else 'NOT linearizable' if verdict is False else 'unknown'} "
          f"in {check_ms:.0f} ms, {stats['steps']} search steps")
    for line in report[:20]:
        print("  " + line)
    learned = 0
    for i in range(a.n):
        for line in open(os.path.join(work, f"replica{i}.log")):
            if line.startswith('{"stats"'):
                s = json.loads(line)["stats"]
                learned += s.get("decisions_learned", 0)
                print(f"replica {i}: {s.get('log_entries')} log entries, {s.get('kv_commands_applied')} applied, "
                      f"{s.get('injected_drops')} messages dropped, {s.get('kv_stale_reads')} stale reads, "
                      f"{s.get('decisions_learned')} decisions learned from peers")
    failed = []
    if errors:
        failed.append(f"error replies: {errors[:3]}")
    if a.mode == "faults":
        if verdict is not True:
            failed.append("the history is not linearizable" if verdict is False else "the checker gave up")
        if completed < a.min_ops:
            failed.append(f"only {completed} operations completed (want >= {a.min_ops})")
        if killed_at is not None:
            kill_us = killed_at * 1e6 + (start * 1e9 - kvc.T0) / 1000
            after = sum(r["return"] is not None and r["call"] > kill_us for r in history)
            print(f"after the kill: {after} operations called and completed")
            if after < a.min_after_kill:
                failed.append(f"only {after} operations completed after the kill (want >= {a.min_after_kill})")
        if pending > (a.clients * 2 if a.max_pending < 0 else a.max_pending):
            failed.append(f"{pending} operations never completed")
        if a.expect_learned and learned == 0:
            failed.append("no replica learned a decision from a peer (decisions_learned is 0)")
        if killed_at is not None and sum(c.retries for c in clients) == 0:
            failed.append(f"no client was cut off by the kill of replica {a.kill}")
        if a.kill >= 0 and procs[a.kill].returncode != -signal.SIGKILL:
            failed.append(f"replica {a.kill} was not killed ({procs[a.kill].returncode})")
        if a.restart_after >= 0:
            stats = [json.loads(line)["stats"] for line in open(os.path.join(work, f"replica{a.kill}.restarted.log"))
                     if line.startswith('{"stats"')]
            recovered = stats[0].get("decisions_recovered", 0) if stats else 0
            unread = [f"{rec['key']} at replica {rec['client'] - 1000}" for rec in final_reads if rec["return"] is None]
            print(f"restart: replica {a.kill} restarted {a.restart_after:g} s after the kill, recovered {recovered} "
                  f"decided batches from its data dir; final reads {len(final_reads) - len(unread)}/{len(final_reads)}")
            if recovered == 0:
                failed.append(f"the restarted replica {a.kill} recovered nothing from its data dir")
            if unread:
                failed.append(f"final reads that failed: {unread}")
        for i, p in enumerate(procs):
            if i != a.kill and p.returncode != 0:
                failed.append(f"replica {i} exited with {p.returncode}")
    else:
        if verdict is not False:
            failed.append("the broken --stale-reads variant was not caught")
        if completed < a.min_ops:
            failed.append(f"only {completed} operations completed (want >= {a.min_ops})")
    if failed:
        print(f"FAIL: {'; '.join(failed)} (history and logs in {work})")
        if not a.keep:
            a.keep = work  # keep the evidence
        return 1
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
