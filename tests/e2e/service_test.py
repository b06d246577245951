#!/usr/bin/env python3
"""End-to-end test and benchmark of the replicated-log service (docs/service.md).

Compiles a protocol with a bytes<K> input and output, starts N replicas with
`--serve` on loopback, and drives them with real TCP clients speaking the
line-delimited JSON protocol.

usage: service_test.py PSYNCC FILE log   [-n N] [--clients C] [--proposals P] [--window W]
                                          [--drop D] [--json]
       service_test.py PSYNCC FILE abuse [-n N]
       service_test.py PSYNCC FILE restart [-n N] [--clients C] [--proposals P]

log    C clients (client i talks to replica i mod N) each propose P values,
       at most W outstanding per client. Checks: every proposal gets exactly
       one reply, every proposal is in the log exactly once, and the logs
       that subscribers read from every replica are identical, gap-free and
       hold nothing else. Prints proposals/s and the median and p99 latency
       from sending a proposal to its reply (with --json, one JSON line).
restart  every replica on a --data-dir; replica 0 killed (SIGKILL) after a
       first batch of proposals, restarted on its data dir after a second;
       a third goes through it; then the log checks of `log` at every replica.
abuse  malformed JSON, unknown keys, wrong types, an oversized value, an
       over-long line, a client that floods without reading and one that
       stalls mid-line each get their error line or are bounded, and the
       replicas keep deciding for a well-behaved client throughout.
"""
import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime"))
from cluster import free_ports  # noqa: E402  (ports free for both UDP and TCP)


class Cluster:
    def __init__(self, psyncc, file, n, drop, workdir, extra=(), durable=False):
        self.n = n
        self.workdir = workdir
        self.binary = os.path.join(workdir, "replica")
        subprocess.run([psyncc, "build", file, "-o", self.binary], check=True)
        ports = free_ports(2 * n)
        self.peer_ports, self.serve_ports = ports[:n], ports[n:]
        cluster = os.path.join(workdir, "cluster.toml")
        with open(cluster, "w") as f:
            for i, p in enumerate(self.peer_ports):
                f.write(f'[[process]]\nid = {i}\naddress = "127.0.0.1:{p}"\n')
        self.procs = []
        self.errs = []
        self.cmds = []
        for i in range(n):
            cmd = [self.binary, "--id", str(i), "--cluster", cluster, "--serve",
                   f"127.0.0.1:{self.serve_ports[i]}", "--window", "8", "--time-limit", "600s", "--stats",
                   "--seed", str(i + 1)] + (["--drop", str(drop)] if drop > 0 else []) + list(extra)
            if durable:
                cmd += ["--data-dir", os.path.join(workdir, f"data{i}")]
            self.cmds.append(cmd)
            self.start(i)

    def start(self, i):
        """Starts replica i (again, after kill(i): on the same data dir)."""
        k = sum(1 for e in self.errs if os.path.basename(e.name).startswith(f"replica{i}."))
        err = open(os.path.join(self.workdir, f"replica{i}.{k}.err"), "w+")
        proc = subprocess.Popen(self.cmds[i], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        if i < len(self.procs):
            self.procs[i] = proc
        else:
            self.procs.append(proc)
        self.errs.append(err)

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()

    async def wait_ready(self):
        deadline = time.monotonic() + 30
        for port in self.serve_ports:
            while True:
                try:
                    r, w = await asyncio.open_connection("127.0.0.1", port)
                    w.close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.fail(f"replica on port {port} never listened")
                    await asyncio.sleep(0.05)

    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stderr_text(self):
        out = []
        for e in self.errs:
            e.seek(0)
            out.append(f"--- {os.path.basename(e.name)}\n" + e.read()[-4000:])
        return "\n".join(out)

    def fail(self, why):
        self.stop()
        sys.exit(f"FAIL: {why}\n{self.stderr_text()}")


async def read_json(reader, timeout):
    line = await asyncio.wait_for(reader.readline(), timeout)
    if not line:
        raise EOFError("connection closed")
    return json.loads(line)


async def subscriber(port, total, timeout):
    """The log as one replica streams it, until `total` entries."""
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    w.write(b'{"subscribe": true}\n')
    await w.drain()
    log = []
    while len(log) < total:
        log.append(await read_json(r, timeout))
    w.close()
    return log


async def client(cid, port, count, window, value_size, latencies, replies, timeout):
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    sent_at = {}
    slots = asyncio.Semaphore(window)

    async def send_all():
        for k in range(count):
            await slots.acquire()
            rid = f"c{cid}-{k}"
            value = f"{rid}:".ljust(value_size, "x")
            sent_at[rid] = time.monotonic()
            w.write((json.dumps({"id": rid, "propose": value}) + "\n").encode())
            if k % 16 == 15:
                await w.drain()
        await w.drain()

    sender = asyncio.create_task(send_all())
    got = 0
    while got < count:
        msg = await read_json(r, timeout)
        if "error" in msg:
            raise RuntimeError(f"client {cid}: error reply {msg}")
        rid = msg["id"]
        latencies.append(time.monotonic() - sent_at[rid])
        replies.setdefault(rid, []).append(msg)
        got += 1
        slots.release()
    await sender
    w.close()


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


async def run_log(cluster, args):
    await cluster.wait_ready()
    total = args.clients * args.proposals
    timeout = args.timeout
    subs = [asyncio.create_task(subscriber(p, total, timeout)) for p in cluster.serve_ports]
    latencies, replies = [], {}
    start = time.monotonic()
    try:
        await asyncio.gather(*[client(c, cluster.serve_ports[c % cluster.n], args.proposals, args.window,
                                      args.value_size, latencies, replies, timeout)
                               for c in range(args.clients)])
        elapsed = time.monotonic() - start
        logs = await asyncio.gather(*subs)
    except (asyncio.TimeoutError, EOFError, RuntimeError) as e:
        cluster.fail(f"{type(e).__name__}: {e} ({len(replies)} of {total} proposals answered)")
    check_logs(cluster, logs, replies, total)
    if not cluster.alive():
        cluster.fail("a replica exited during the run")
    figures = {
        "n": cluster.n, "clients": args.clients, "proposals": total, "seconds": round(elapsed, 3),
        "proposals_per_s": round(total / elapsed, 1),
        "latency_median_ms": round(1000 * percentile(latencies, 0.5), 2),
        "latency_p99_ms": round(1000 * percentile(latencies, 0.99), 2),
        "instances": logs[0][-1]["instance"] + 1 if logs[0] else 0,
        "durable": args.durable,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"ok: n={cluster.n}, {total} proposals from {args.clients} clients decided exactly once, "
              f"{cluster.n} identical logs of {len(logs[0])} entries in {figures['instances']} instances; "
              f"{figures['proposals_per_s']} proposals/s, latency median {figures['latency_median_ms']} ms, "
              f"p99 {figures['latency_p99_ms']} ms")


def check_logs(cluster, logs, replies, total):
    """Every proposal answered exactly once with its value, and every
    replica streaming the same gap-free log of exactly those proposals."""
    if len(replies) != total:
        cluster.fail(f"{len(replies)} distinct replies for {total} proposals")
    for rid, rs in replies.items():
        if len(rs) != 1:
            cluster.fail(f"proposal {rid} answered {len(rs)} times: {rs}")
        if not rs[0]["value"].startswith(rid + ":"):
            cluster.fail(f"proposal {rid} answered with another value: {rs[0]}")
    # Every replica streams the same log: positions 0.. without gaps, each
    # proposal exactly once, nothing else, and the replies' positions match.
    reference = logs[0]
    for i, log in enumerate(logs):
        for seq, e in enumerate(log):
            if e["seq"] != seq:
                cluster.fail(f"replica {i}: entry {seq} has seq {e['seq']} (a gap or a duplicate)")
        if [(e["id"], e["value"], e["instance"]) for e in log] != \
           [(e["id"], e["value"], e["instance"]) for e in reference]:
            cluster.fail(f"replica {i} holds a different log than replica 0")
    ids = [e["id"] for e in reference]
    if len(set(ids)) != len(ids) or set(ids) != set(replies):
        cluster.fail("the log does not hold every proposal exactly once")
    for rid, rs in replies.items():
        e = reference[rs[0]["seq"]]
        if e["id"] != rid or e["instance"] != rs[0]["instance"]:
            cluster.fail(f"reply for {rid} names position {rs[0]['seq']}, which holds {e}")


async def run_restart(cluster, args):
    """Crash recovery (docs/service.md, "Durability"): every replica on a
    --data-dir; replica 0 is killed with SIGKILL after a first batch of
    proposals, the others take a second batch, replica 0 restarts on its
    data dir and takes a third; then every replica, the restarted one
    included, must stream the same gap-free log of all of them."""
    await cluster.wait_ready()
    timeout = args.timeout
    latencies, replies = [], {}
    per_phase = args.proposals
    ports = cluster.serve_ports

    async def phase(first_cid, targets):
        await asyncio.gather(*[client(first_cid + c, targets[c % len(targets)], per_phase, args.window,
                                      args.value_size, latencies, replies, timeout)
                               for c in range(args.clients)])
    try:
        await phase(0, ports)
        cluster.kill(0)
        await phase(args.clients, ports[1:])
        cluster.start(0)
        await cluster.wait_ready()
        await phase(2 * args.clients, ports[:1])
        total = 3 * args.clients * per_phase
        logs = await asyncio.gather(*[subscriber(p, total, timeout) for p in ports])
    except (asyncio.TimeoutError, EOFError, RuntimeError, OSError) as e:
        cluster.fail(f"{type(e).__name__}: {e} ({len(replies)} proposals answered)")
    check_logs(cluster, logs, replies, total)
    if not cluster.alive():
        cluster.fail("a replica exited during the run")
    cluster.stop()
    restarted = cluster.errs[-1]
    restarted.seek(0)
    stats = [json.loads(line)["stats"] for line in restarted if line.startswith('{"stats"')]
    recovered = stats[0].get("decisions_recovered", 0) if stats else 0
    if recovered == 0:
        cluster.fail("the restarted replica recovered no decided batch from its data dir")
    print(f"ok: n={cluster.n}, replica 0 killed and restarted on its data dir (recovered {recovered} decided "
          f"batches); {total} proposals decided exactly once, {cluster.n} identical logs of {len(logs[0])} entries")


async def expect_error(port, payload, must_contain, timeout=30):
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    w.write(payload)
    await w.drain()
    msg = await read_json(r, timeout)
    w.close()
    if "error" not in msg or must_contain not in msg["error"]:
        raise RuntimeError(f"sent {payload[:80]!r}: expected an error containing {must_contain!r}, got {msg}")
    return msg


async def one_proposal(port, rid, value, timeout=30):
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    w.write((json.dumps({"id": rid, "propose": value}) + "\n").encode())
    await w.drain()
    msg = await read_json(r, timeout)
    w.close()
    if msg.get("id") != rid or msg.get("value") != value:
        raise RuntimeError(f"proposal {rid}: unexpected reply {msg}")
    return msg


async def run_abuse(cluster):
    await cluster.wait_ready()
    port = cluster.serve_ports[0]
    try:
        await one_proposal(port, "before", "first")
        await expect_error(port, b'{"id": "x", "propose": \n', "malformed JSON")
        await expect_error(port, b'[1, 2]\n', "a request is a JSON object")
        await expect_error(port, b'{"id": "x", "propose": "v", "extra": 1}\n', 'unknown key "extra"')
        await expect_error(port, b'{"id": "x", "propose": 7}\n', "must be a string")
        await expect_error(port, b'{"id": [1], "propose": "v"}\n', '"id" must be a string or an integer')
        await expect_error(port, b'{"propose": "v"}\n', 'needs an "id"')
        await expect_error(port, b'{"id": "x", "propose": "a", "propose_hex": "00"}\n', "exactly one")
        await expect_error(port, b'{"id": "x", "propose_hex": "0g"}\n', "propose_hex")
        await expect_error(port, b'{"subscribe": 1}\n', '"subscribe" must be true')
        await expect_error(port, (json.dumps({"id": "big", "propose": "x" * 5000}) + "\n").encode(),
                           "value too large")
        await expect_error(port, b'{"id": "long", "propose": "' + b"y" * 70000 + b'"}\n', "longer than")
        # A binary proposal comes back as {"hex": ...}; the same id again is
        # answered from the log, marked as a duplicate, never decided twice.
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b'{"id": 42, "propose_hex": "00ff"}\n{"id": 42, "propose_hex": "00ff"}\n')
        await w.drain()
        a = await read_json(r, 30)
        b = await read_json(r, 30)
        w.close()
        if a.get("id") != 42 or a.get("value") != {"hex": "00ff"} or b.get("seq") != a.get("seq"):
            raise RuntimeError(f"binary proposal and its repeat: {a}, {b}")
        # A flooding client that never reads, and one that stalls mid-line.
        flood_r, flood_w = await asyncio.open_connection("127.0.0.1", port)
        stall_r, stall_w = await asyncio.open_connection("127.0.0.1", port)
        stall_w.write(b'{"id": "stalled", "propo')
        await stall_w.drain()
        junk = b'{"id": 1, "nope": true}\n' * 20000
        for _ in range(20):
            flood_w.write(junk)
            try:
                await asyncio.wait_for(flood_w.drain(), 0.5)
            except asyncio.TimeoutError:
                break  # the replica stopped reading it: bounded
        # Meanwhile a well-behaved client on every replica is served.
        for i, p in enumerate(cluster.serve_ports):
            await one_proposal(p, f"after-{i}", f"still deciding {i}")
        flood_w.transport.abort()
        stall_w.close()
    except (RuntimeError, asyncio.TimeoutError, EOFError, OSError) as e:
        cluster.fail(f"{type(e).__name__}: {e}")
    if not cluster.alive():
        cluster.fail("a replica exited")
    print("ok: every bad request got its error line, flooding and stalling clients were bounded, "
          "and the replicas kept deciding")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("psyncc")
    ap.add_argument("file")
    ap.add_argument("mode", choices=["log", "abuse", "restart"])
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--proposals", type=int, default=100, help="per client")
    ap.add_argument("--window", type=int, default=64, help="outstanding proposals per client")
    ap.add_argument("--value-size", type=int, default=16)
    ap.add_argument("--drop", type=float, default=0.0)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds without progress before failing")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--durable", action="store_true", help="log: every replica on a --data-dir")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as workdir:
        cluster = Cluster(args.psyncc, args.file, args.n, args.drop, workdir, durable=args.mode == "restart" or args.durable)
        try:
            run = {"log": lambda: run_log(cluster, args), "abuse": lambda: run_abuse(cluster),
                   "restart": lambda: run_restart(cluster, args)}[args.mode]
            asyncio.run(run())
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
