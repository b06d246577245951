#!/usr/bin/env python3
"""kv_clients.py: concurrent psync-kvstore clients that record a history for
linearizability.py. Each client runs put/get/cas operations one after
another on a few keys, each under its own request id; on a timeout or a
broken connection it sends the same request (same id) to the next replica,
so the store applies it at most once. An operation not answered within
GIVE_UP_AFTER seconds of its call is recorded as never completed
("return": null), which the checker lets take effect at any time after its
call, or never.

Used as a module by tests/kvstore/kv_e2e.py and scripts/chaos.py (--kvstore),
and on its own:

  kv_clients.py --replicas 10.0.0.1:7000,10.0.0.2:7000 --seconds 10 --clients 5 \\
                --history history.jsonl [--seed 1] [--epoch-ns NS] [--final-reads]

It writes one JSON object per operation (linearizability.py's format: call
and return in microseconds since the epoch, CLOCK_MONOTONIC nanoseconds
given by --epoch-ns, by default its own start) and prints a summary line:
{"ops": N, "completed": N, "retries": N, "errors": [...]}.
"""
import argparse
import json
import random
import socket
import sys
import threading
import time

REQUEST_TIMEOUT = 1.0   # s without an answer before the client tries the next replica
GIVE_UP_AFTER = 6.0     # s after its call an operation is abandoned (recorded as never completed)
KEYS = ["k0", "k1", "k2"]
T0 = time.monotonic_ns()  # the history's epoch (set_epoch changes it)


def set_epoch(ns):
    global T0
    T0 = ns


class Client(threading.Thread):
    """One client over `addrs`, a list of (host, port); gets go to
    `read_addr` when given (the stale-read test sends them to a lagging
    replica)."""

    def __init__(self, cid, addrs, deadline, seed, history, lock, read_addr=None):
        super().__init__(daemon=True)
        self.cid, self.addrs, self.deadline = cid, addrs, deadline
        self.rng = random.Random(seed)
        self.history, self.lock = history, lock
        self.read_addr = read_addr
        self.at = cid % len(addrs)  # spread over the replicas: a killed one has clients
        self.sock, self.sock_addr, self.buf = None, None, b""
        self.seen = {}
        self.retries = 0
        self.errors = []

    def connect(self, addr):
        self.close()
        self.sock = socket.create_connection(addr, timeout=REQUEST_TIMEOUT)
        self.sock.settimeout(REQUEST_TIMEOUT)
        self.sock_addr = addr
        self.buf = b""

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def ask(self, addr, line):
        if self.sock is None or self.sock_addr != addr:
            self.connect(addr)
        self.sock.sendall(line)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        reply, self.buf = self.buf.split(b"\n", 1)
        return json.loads(reply)

    def run(self):
        n = 0
        while time.monotonic() < self.deadline:
            n += 1
            rid = f"c{self.cid}-{n}"
            key = self.rng.choice(KEYS)
            kind = self.rng.choice(["put", "get", "get", "cas"])
            req = {"id": rid, "op": kind, "key": key}
            rec = {"client": self.cid, "op": kind, "key": key}
            if kind == "put":
                req["value"] = rec["value"] = f"{self.cid}.{n}"
            elif kind == "cas":
                old = self.seen.get(key) if self.rng.random() < 0.8 else None
                req["old"] = rec["old"] = old
                req["new"] = rec["new"] = f"{self.cid}.{n}"
            line = (json.dumps(req) + "\n").encode()
            addr_for = (lambda: self.read_addr) if (kind == "get" and self.read_addr) else \
                (lambda: self.addrs[self.at])
            call = time.monotonic_ns()
            rec["call"] = (call - T0) // 1000  # microseconds since the epoch, one clock for all
            reply = None
            while reply is None and time.monotonic_ns() - call < GIVE_UP_AFTER * 1e9:
                try:
                    reply = self.ask(addr_for(), line)
                except (OSError, ConnectionError, ValueError):
                    self.close()
                    self.retries += 1
                    self.at = (self.at + 1) % len(self.addrs)
                    time.sleep(0.01)
            if reply is None:
                rec["return"] = None
            else:
                rec["return"] = (time.monotonic_ns() - T0) // 1000
                if "error" in reply or reply.get("id") != rid:
                    self.errors.append(reply)
                    rec["return"] = None
                elif kind == "get":
                    rec["result"] = reply["value"]
                    self.seen[key] = reply["value"]
                elif kind == "cas":
                    rec["ok"], rec["result"] = reply["ok"], reply["value"]
                    self.seen[key] = rec["new"] if reply["ok"] else reply["value"]
            with self.lock:
                self.history.append(rec)
        self.close()


def final_reads(addrs, history, lock):
    """Reads every key at every replica, one after another, into the
    history: each read must see the latest write (a replica that restarted
    or lagged included). Returns the records."""
    records = []
    for i, addr in enumerate(addrs):
        reader = Client(1000 + i, [addr], 0, 0, history, lock)
        for key in KEYS:
            rid = f"final-{i}-{key}"
            call = time.monotonic_ns()
            rec = {"client": 1000 + i, "op": "get", "key": key, "call": (call - T0) // 1000}
            line = (json.dumps({"id": rid, "op": "get", "key": key}) + "\n").encode()
            reply = None
            # As the clients do: the same request (same id) again after each
            # silence, on a fresh connection (a late reply on the old one
            # would be taken for the next request's), until GIVE_UP_AFTER.
            while reply is None and time.monotonic_ns() - call < GIVE_UP_AFTER * 1e9:
                try:
                    reply = reader.ask(addr, line)
                except (OSError, ConnectionError, ValueError):
                    reader.close()
                    reader.retries += 1
                    time.sleep(0.01)
            if reply is None or "error" in reply or reply.get("id") != rid:
                rec["return"] = None
            else:
                rec["return"] = (time.monotonic_ns() - T0) // 1000
                rec["result"] = reply.get("value")
            with lock:
                history.append(rec)
            records.append(rec)
        reader.close()
    return records


def run_clients(addrs, seconds, clients, seed, read_addr=None):
    """Runs `clients` clients for `seconds`; returns (history, clients)."""
    history, lock = [], threading.Lock()
    deadline = time.monotonic() + seconds
    cs = [Client(c, addrs, deadline, seed * 1000 + c, history, lock, read_addr) for c in range(clients)]
    for c in cs:
        c.start()
    for c in cs:
        c.join(seconds + GIVE_UP_AFTER + 10)
        if c.is_alive():
            raise RuntimeError(f"client {c.cid} hung")
    return history, cs


def parse_addr(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}': expected HOST:PORT")
    return host, int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", required=True, help="HOST:PORT of each replica's client port, comma-separated")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--history", required=True, help="write the history here (JSON lines)")
    ap.add_argument("--epoch-ns", type=int, help="CLOCK_MONOTONIC nanoseconds that times count from")
    ap.add_argument("--final-reads", action="store_true",
                    help="then read every key at every replica, one after another (into the history)")
    a = ap.parse_args()
    try:
        addrs = [parse_addr(t) for t in a.replicas.split(",") if t]
    except argparse.ArgumentTypeError as e:
        print(f"kv_clients.py: {e}", file=sys.stderr)
        return 2
    if a.epoch_ns is not None:
        set_epoch(a.epoch_ns)
    history, cs = run_clients(addrs, a.seconds, a.clients, a.seed)
    finals = final_reads(addrs, history, threading.Lock()) if a.final_reads else []
    with open(a.history, "w") as f:
        for rec in history:
            f.write(json.dumps(rec) + "\n")
    print(json.dumps({"ops": len(history), "completed": sum(r["return"] is not None for r in history),
                      "final_reads": len(finals), "final_reads_failed": sum(r["return"] is None for r in finals),
                      "retries": sum(c.retries for c in cs), "errors": [e for c in cs for e in c.errors][:5]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
