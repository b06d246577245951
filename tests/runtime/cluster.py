#!/usr/bin/env python3
"""cluster.py: run N replicas of a psync node binary on loopback and judge
the outcome. Works with any binary linked against libpsync_runtime.a (a
protocol compiled by psyncc, such as the tests' otr-node).

It picks free ports, writes a cluster TOML file, starts the replicas as
separate processes, optionally starts one late, kills one or sprays garbage
datagrams at them,
collects their JSON decision lines and --stats counters, and checks:
  - agreement: per instance, every decided value is the same;
  - termination: every replica still alive decided every instance
    (unless --allow-undecided);
  - with --garbage: every targeted replica counted the garbage and still
    decided.
Children are always killed on exit, Ctrl-C included. Exit status 0 = all
checks passed, 1 = a check failed, 2 = usage error.

Examples:
  cluster.py build/tests/runtime/otr-node -n 5 --transport tcp
  cluster.py ./last_voting -n 5 --kill 4@0 --input init=random
  cluster.py ./otr -n 5 --drop 0.2 --seeds 1-20 --allow-undecided
  cluster.py ./otr -n 5 --late 4@0.3 --instances 20 --window 4   (a straggler)
  cluster.py ./otr -n 4 -- --byzantine 1    (flags after -- go to every replica)
  cluster.py ./otr -n 3 --keys build/compiler/psyncc   (an authenticated cluster)
"""

import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time


def decision_lines(out, who, failures, killed):
    """The JSON decision lines a replica wrote to the file `out`. A line that
    is not JSON is a failure, except the final, unterminated line of a replica
    the test killed with SIGKILL: the kernel may end a write to a file early
    when a fatal signal is pending, so that line may be cut."""
    out.seek(0)
    lines = out.read().split("\n")
    last = lines.pop()  # "" when the output ends with a newline
    records = []
    for k, line in enumerate(lines + [last]):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if killed and k == len(lines):
                print(f"note: {who} was killed mid-line; its cut last line {line!r} is ignored")
            else:
                failures.append(f"{who} printed a non-JSON line: {line!r}")
    return records

def free_ports(count):
    """Ports free for both UDP and TCP on 127.0.0.1 (held until all are chosen)."""
    held, ports = [], []
    while len(ports) < count:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            t.close()
            u.close()
            continue
        held += [t, u]
        ports.append(port)
    for s in held:
        s.close()
    return ports


def write_cluster(path, ports, multi_address=False):
    """127.0.0.1 for everyone, or 127.0.0.I+1 for replica I (multi_address)."""
    with open(path, "w") as f:
        f.write("# written by tests/runtime/cluster.py\n")
        for i, p in enumerate(ports):
            host = f"127.0.0.{i + 1}" if multi_address else "127.0.0.1"
            f.write(f'[[process]]\nid = {i}\naddress = "{host}:{p}"\n\n')


def describe(binary):
    out = subprocess.run([binary, "--describe"], capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise SystemExit(f"cluster.py: {binary} --describe failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def packet(fingerprint, sender, frames=b"", magic=0x5350, version=5, kind=0, incarnation=1, receiver=0, counter=1,
           mac=b"\0" * 16):
    """A wire packet (runtime/net/wire.h, version 5): 37-byte header, frames, 16-byte MAC.
    Without the sender's key the MAC cannot be right: every such packet is a forgery."""
    return struct.pack("<HBBQBQQQ", magic, version, kind, fingerprint, sender, incarnation, receiver, counter) + frames + mac


def frame(instance, rnd, payload, flags=0, length=None, prev_instance=0):
    """One frame: flags, zigzag instance delta, round, length, payload."""
    if length is None:
        length = len(payload)
    d = instance - prev_instance
    zz = (d << 1) if d >= 0 else ((-d) << 1) - 1
    return bytes([flags]) + varint(zz) + varint(rnd) + varint(length) + payload


def garbage_datagrams(fingerprint, n, me):
    """(label, bytes) pairs, each malformed in one way, sent from process `me`'s address."""
    body = frame(0, 0, b"\0" * 8)
    good = packet(fingerprint, me, body)
    return [
        ("bad_magic", packet(fingerprint, me, body, magic=0x1234)),
        ("bad_version", packet(fingerprint, me, body, version=9)),
        ("bad_kind", packet(fingerprint, me, body, kind=7)),
        ("forged_hello", packet(fingerprint, me, bytes([1, 0, 0]), kind=1)),
        ("zero_incarnation", packet(fingerprint, me, body, incarnation=0)),
        ("wrong_fingerprint", packet(fingerprint ^ 1, me, body)),
        ("truncated", good[:30]),
        ("no_frames", packet(fingerprint, me)),
        ("truncated_body", packet(fingerprint, me, frame(0, 0, b"\0" * 8, length=12))),
        ("oversized", packet(fingerprint, me, frame(0, 0, b"\0" * 4000))),
        ("reserved_flag", packet(fingerprint, me, frame(0, 0, b"\0" * 8, flags=0x80))),
        ("overlong_varint", packet(fingerprint, me, bytes([0, 0x80, 0x00, 0, 8]) + b"\0" * 8)),
        ("forged_mac", packet(fingerprint, me, body, mac=os.urandom(16))),
        ("notice_with_body", packet(fingerprint, me, frame(0, 0, b"\0" * 8, flags=3))),
        ("sender_mismatch", packet(fingerprint, (me + 1) % n, body)),
        ("unknown_sender", packet(fingerprint, 200, body)),
        ("random", os.urandom(333)),
        ("empty", b""),
    ]


class Cluster:
    def __init__(self, args, seed, workdir):
        self.args, self.seed, self.workdir = args, seed, workdir
        self.procs, self.outs, self.errs = {}, {}, {}
        self.earlier = []  # (id, process, out, err) of incarnations killed and restarted
        self.ports = free_ports(args.n)
        self.cluster_path = os.path.join(workdir, "cluster.toml")
        write_cluster(self.cluster_path, self.ports, args.multi_address)
        self.keys = None
        if args.keys:
            # psyncc keygen: a key pair per replica and the cluster file with
            # every public key; each replica gets its secret key with --key.
            keydir = os.path.join(workdir, "keys")
            subprocess.run([args.keys, "keygen", "--dir", keydir, "--cluster", self.cluster_path], check=True,
                           capture_output=True, timeout=30)
            self.cluster_path = os.path.join(keydir, "cluster.toml")
            self.keys = keydir

    def command(self, i):
        a = self.args
        cmd = [a.binary, "--id", str(i), "--cluster", self.cluster_path, "--transport", a.transport,
               "--timeout", a.timeout, "--instances", str(a.instances), "--window", str(a.window),
               "--time-limit", a.time_limit, "--stats", "--quiet", "--seed", str(seed_for(self.seed, i))]
        for inp in a.input:
            cmd += ["--input", inp]
        for c in a.const:
            cmd += ["--const", c]
        if a.drop:
            cmd += ["--drop", str(a.drop)]
        if a.delay:
            cmd += ["--delay", a.delay]
        if a.after_decide is not None:
            cmd += ["--after-decide", str(a.after_decide)]
        if self.keys:
            cmd += ["--key", os.path.join(self.keys, f"replica-{i}.key")]
        if a.data_dir:
            cmd += ["--data-dir", os.path.join(self.workdir, f"data{i}")]
        return cmd + a.extra

    def start(self, i):
        if i in self.procs:  # a restart: the earlier incarnation's output is kept for the checks
            self.earlier.append((i, self.procs[i], self.outs[i], self.errs[i]))
        tag = f"{i}.{sum(1 for e in self.earlier if e[0] == i)}"
        self.outs[i] = open(os.path.join(self.workdir, f"out{tag}.jsonl"), "w+")
        self.errs[i] = open(os.path.join(self.workdir, f"err{tag}.txt"), "w+")
        self.procs[i] = subprocess.Popen(self.command(i), stdout=self.outs[i], stderr=self.errs[i])

    def kill_all(self):
        for p in list(self.procs.values()) + [e[1] for e in self.earlier]:
            if p.poll() is None:
                p.kill()
        for p in self.procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def seed_for(seed, i):
    return seed * 1000 + i + 1


def run_once(args, seed, info):
    """Runs one cluster; returns (ok, report dict)."""
    n = args.n
    kill_id, kill_at = None, 0.0
    if args.kill:
        k, _, t = args.kill.partition("@")
        kill_id, kill_at = int(k), float(t or 0)
    restart_after = None
    if args.restart:
        k, _, t = args.restart.partition("@")
        t, _, d = t.partition(":")
        kill_id, kill_at, restart_after = int(k), float(t or 0), float(d or 0.3)
    with tempfile.TemporaryDirectory(prefix="psync-cluster-") as workdir:
        c = Cluster(args, seed, workdir)
        garbage_from = n - 1 if args.garbage else None
        held_back = n - 2 if args.garbage else None
        failures = []
        late_id, late_at = None, 0.0
        if args.late:
            k, _, t = args.late.partition("@")
            late_id, late_at = int(k), float(t or 0)
        exited = {}
        try:
            t0 = time.monotonic()
            for i in range(n):
                if i not in (garbage_from, held_back, late_id):
                    c.start(i)
            if late_id is not None:
                time.sleep(max(late_at - (time.monotonic() - t0), 0))
                c.start(late_id)
            if args.garbage:
                # The started replicas cannot decide without the held-back one
                # (OneThirdRule needs more than 2n/3), so the garbage arrives
                # while they run. It comes from the address of process n-1,
                # which is never started, and from an unknown address.
                time.sleep(0.3)
                sent = garbage_datagrams(info["fingerprint"], n, garbage_from)
                impostor = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                impostor.bind(("127.0.0.1", c.ports[garbage_from]))
                stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                for i in range(n - 2):
                    for _, data in sent:
                        impostor.sendto(data, ("127.0.0.1", c.ports[i]))
                    stranger.sendto(packet(info["fingerprint"], 0, frame(0, 0, b"\0" * 8)), ("127.0.0.1", c.ports[i]))
                time.sleep(0.2)
                impostor.close()
                stranger.close()
                c.start(held_back)
            if args.pause:
                # SIGSTOP replica I at T; SIGCONT it D later (after the kill
                # and restart below, when they fall inside the pause).
                k, _, t = args.pause.partition("@")
                t, _, d = t.partition(":")
                pause_id, pause_at, pause_for = int(k), float(t or 0), float(d or 1)
                time.sleep(max(0.0, pause_at - (time.monotonic() - t0)))
                c.procs[pause_id].send_signal(signal.SIGSTOP)
            if kill_id is not None:
                delay = kill_at - (time.monotonic() - t0)
                if delay > 0:
                    time.sleep(delay)
                c.procs[kill_id].send_signal(signal.SIGKILL)
                if restart_after is not None:
                    c.procs[kill_id].wait(timeout=5)
                    time.sleep(restart_after)
                    c.start(kill_id)
            if args.pause:
                time.sleep(max(0.0, pause_at + pause_for - (time.monotonic() - t0)))
                c.procs[pause_id].send_signal(signal.SIGCONT)
            deadline = time.monotonic() + args.wall_limit
            while len(exited) < len(c.procs) and time.monotonic() < deadline:
                for i, p in c.procs.items():
                    if i not in exited and p.poll() is not None:
                        exited[i] = time.monotonic() - t0
                time.sleep(0.005)
            for i in c.procs:
                if i not in exited:
                    failures.append(f"process {i} still running after {args.wall_limit}s")
        finally:
            c.kill_all()

        decisions, stats, codes = {}, {}, {}
        # Every line of every incarnation, for agreement: a restarted replica
        # must not contradict what it decided before its crash.
        every_line = {}
        for i, p, out, err in c.earlier:
            before = 0
            for d in decision_lines(out, f"p{i}(before restart)", failures, killed=True):
                every_line.setdefault(d["instance"], []).append((f"p{i}(before restart)", d))
                before += 1
            out.close()
            err.close()
            # A restart after the killed replica had decided everything tests
            # nothing about rejoining a running cluster: say so, not "OK".
            if before >= args.instances:
                failures.append(f"process {i} had decided all {args.instances} instance(s) before it was killed: "
                                f"the restart came after the run; raise --instances so that it lands mid-run")
        for i, p in c.procs.items():
            codes[i] = p.returncode
            for d in decision_lines(c.outs[i], f"p{i}", failures,
                                    killed=(i == kill_id and restart_after is None)):
                by = decisions.setdefault(d["instance"], {})
                if i in by and json.dumps(by[i]["value"]) != json.dumps(d["value"]):
                    failures.append(f"AGREEMENT VIOLATED: process {i} reported instance {d['instance']} twice, "
                                    f"{by[i]['value']} then {d['value']}")
                by[i] = d
                every_line.setdefault(d["instance"], []).append((f"p{i}", d))
            c.errs[i].seek(0)
            for line in c.errs[i]:
                if line.startswith('{"stats"'):
                    stats[i] = json.loads(line)["stats"]
            c.outs[i].close()
            c.errs[i].close()

        alive = [i for i in c.procs if i != kill_id or restart_after is not None]
        report = {"seed": seed, "decisions": decisions, "stats": stats, "codes": codes, "exited": exited}
        if args.exit_within is not None:
            for i in alive:
                if i in exited and exited[i] > args.exit_within:
                    failures.append(f"process {i} exited after {exited[i]:.2f}s, expected within {args.exit_within}s")

        # Agreement: within each instance, one value (across restarts too).
        for inst, lines in sorted(every_line.items()):
            values = {json.dumps(d["value"], sort_keys=True) for _, d in lines}
            if len(values) > 1:
                failures.append(f"AGREEMENT VIOLATED in instance {inst}: " +
                                ", ".join(f"{who}={d['value']}" for who, d in lines))
        for inst, by_proc in sorted(decisions.items()):
            for i, d in by_proc.items():
                if d["id"] != i:
                    failures.append(f"process {i} reported id {d['id']}")
        for i in alive:
            if codes[i] not in (0, 1):
                failures.append(f"process {i} exited with status {codes[i]}")
        if not args.allow_undecided:
            for i in alive:
                got = sum(1 for inst in range(args.instances) if i in decisions.get(inst, {}))
                if i == args.expect_undecided:
                    # The failure mode under test: this replica must be left
                    # behind, and say so with exit status 1 (time limit).
                    if got == args.instances:
                        failures.append(f"process {i} decided every instance; expected it to be left undecided")
                    if codes[i] != 1:
                        failures.append(f"process {i} exited with status {codes[i]}, expected 1 (undecided)")
                    continue
                if got != args.instances:
                    failures.append(f"process {i} decided {got} of {args.instances} instance(s)")
                if codes[i] != 0:
                    failures.append(f"process {i} exited with status {codes[i]}")
        else:
            undecided = [inst for inst in range(args.instances) if not decisions.get(inst)]
            if undecided and not args.allow_nobody:
                failures.append(f"no process decided instance(s) {undecided[:10]}")
        if args.expect_gated is not None:
            s = stats.get(args.expect_gated, {})
            gated = s.get("early_frames_held", 0) + s.get("learning_messages_dropped", 0)
            if gated < 1:
                failures.append(f"process {args.expect_gated} started instances from peers' messages before its "
                                f"round 0 (early_frames_held={s.get('early_frames_held')}, "
                                f"learning_messages_dropped={s.get('learning_messages_dropped')})")
        for spec in args.expect_stat or []:
            name, _, rest = spec.partition(">=")
            total = sum(s.get(name, 0) for s in stats.values())
            if total < int(rest or 1):
                failures.append(f"--stats {name} summed over the replicas is {total}, expected >= {rest or 1}")
        for spec in args.expect_each or []:
            name, _, rest = spec.partition(">=")
            for i in c.procs:
                got = stats.get(i, {}).get(name, 0)
                if got < int(rest or 1):
                    failures.append(f"process {i}: --stats {name} is {got}, expected >= {rest or 1}")
        for spec in args.expect_ratio or []:
            ratio, _, rest = spec.partition(">=")
            num, _, den = ratio.partition("/")
            for i, s in sorted(stats.items()):
                if s.get(den, 0) == 0 or s.get(num, 0) / s[den] < float(rest):
                    failures.append(f"process {i}: --stats {num}/{den} is {s.get(num, 0)}/{s.get(den, 0)}, "
                                    f"expected >= {rest}")
        if args.expect_learned is not None:
            s = stats.get(args.expect_learned, {})
            if s.get("decisions_learned", 0) < 1:
                failures.append(f"process {args.expect_learned} learned no decision from its peers "
                                f"(decisions_learned={s.get('decisions_learned')})")
        if args.garbage:
            for i in range(n - 2):
                s = stats.get(i)
                if s is None:
                    failures.append(f"process {i} printed no stats")
                    continue
                expected = len(garbage_datagrams(0, n, 0)) + 1  # each datagram, plus the stranger
                if s["malformed_dropped"] < expected:
                    failures.append(f"process {i} counted {s['malformed_dropped']} malformed, expected >= {expected}")
                if s["unknown_peer_dropped"] < 1:
                    failures.append(f"process {i} did not count the datagram from an unknown address")
        report["failures"] = failures
        return not failures, report


def percentile(values, q):
    if not values:
        return 0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def summarize(report, args, quiet):
    decisions = report["decisions"]
    rounds = [d["round"] for by in decisions.values() for d in by.values()]
    us = [d["us"] for by in decisions.values() for d in by.values()]
    agreeing = sum(1 for by in decisions.values() if len({json.dumps(d["value"]) for d in by.values()}) == 1)
    line = (f"seed {report['seed']}: {len(decisions)}/{args.instances} instance(s) decided, "
            f"{agreeing} agreeing; rounds p50 {percentile(rounds, 0.5)} p99 {percentile(rounds, 0.99)}; "
            f"decision time p50 {percentile(us, 0.5) / 1000:.1f} ms p99 {percentile(us, 0.99) / 1000:.1f} ms")
    if not quiet:
        print(line)
        if args.instances <= 5:
            for inst, by in sorted(decisions.items()):
                vals = " ".join(f"p{i}={json.dumps(d['value'])}@r{d['round']}" for i, d in sorted(by.items()))
                print(f"  instance {inst}: {vals}")
    for f in report["failures"]:
        print(f"  FAIL: {f}")


def parse_seeds(text):
    if "-" in text:
        a, b = text.split("-", 1)
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", help="a node binary (protocol object + libpsync_runtime.a)")
    ap.add_argument("-n", type=int, default=5, help="replicas (default 5)")
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--input", action="append", default=None, help="passed to every replica (default init=random)")
    ap.add_argument("--const", action="append", default=[])
    ap.add_argument("--timeout", default="5ms", help="round timeout (default 5ms)")
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--window", type=int, default=1)
    ap.add_argument("--after-decide", type=int, default=None)
    ap.add_argument("--kill", help="I@SECONDS: SIGKILL replica I after that long (I@0: at once)")
    ap.add_argument("--restart", help="I@SECONDS[:PAUSE]: SIGKILL replica I after that long, start it again PAUSE "
                    "seconds later (default 0.3); its decisions before and after must agree with everyone's")
    ap.add_argument("--multi-address", action="store_true",
                    help="replica I listens on 127.0.0.I+1 (each replica its own address)")
    ap.add_argument("--pause", help="I@SECONDS[:D]: SIGSTOP replica I after that long, SIGCONT it D seconds later "
                    "(default 1); before --kill/--restart, which may fall inside the pause")
    ap.add_argument("--expect-gated", type=int, default=None, metavar="I",
                    help="the last incarnation of replica I must have held back (or dropped) peers' messages "
                         "until its round 0 (--stats early_frames_held + learning_messages_dropped > 0)")
    ap.add_argument("--expect-stat", action="append", metavar="NAME>=V",
                    help="the --stats counter NAME summed over the replicas must be at least V (default 1); repeatable")
    ap.add_argument("--expect-each", action="append", metavar="NAME>=V",
                    help="the --stats counter NAME must be at least V (default 1) at every replica; repeatable")
    ap.add_argument("--expect-ratio", action="append", metavar="A/B>=V",
                    help="at every replica, --stats counter A divided by counter B must be at least V; repeatable")
    ap.add_argument("--data-dir", action="store_true", help="give each replica --data-dir (durable)")
    ap.add_argument("--late", help="I@SECONDS: start replica I that long after the others (a straggler)")
    ap.add_argument("--exit-within", type=float, default=None,
                    help="every replica still alive must exit within this many seconds of the start")
    ap.add_argument("--drop", type=float, default=0.0, help="each replica drops received messages with this probability")
    ap.add_argument("--delay", help="each replica delays received messages by up to this")
    ap.add_argument("--seeds", default="1", help="one run per seed: 3, 1-20 or 1,5,9")
    ap.add_argument("--garbage", action="store_true", help="spray malformed datagrams at the replicas (UDP)")
    ap.add_argument("--allow-undecided", action="store_true",
                    help="only require agreement, and that someone decided each instance")
    ap.add_argument("--allow-nobody", action="store_true", help="with --allow-undecided: not even that")
    ap.add_argument("--expect-undecided", type=int, default=None, metavar="I",
                    help="replica I must NOT decide every instance and must exit 1; the others are checked as usual "
                         "(a test of a failure mode that passes only on that exact failure)")
    ap.add_argument("--expect-learned", type=int, default=None, metavar="I",
                    help="replica I must have learned at least one decision from its peers (--stats decisions_learned)")
    ap.add_argument("--keys", metavar="PSYNCC", help="authenticate: make keys with this psyncc (keygen) and pass --key")
    ap.add_argument("--time-limit", default="20s", help="passed to each replica")
    ap.add_argument("--wall-limit", type=float, default=30.0, help="seconds before the driver kills everyone")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--json", action="store_true", help="print each run's report as JSON")
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:  # everything after -- goes to every replica
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    args = ap.parse_args(argv)
    args.extra = extra
    if args.input is None:
        args.input = ["init=random"]
    if not os.access(args.binary, os.X_OK):
        ap.error(f"{args.binary} is not an executable")
    if args.garbage and args.multi_address:
        ap.error("--garbage sends from 127.0.0.1; it cannot be combined with --multi-address")
    if args.garbage and (args.transport != "udp" or args.n < 4):
        ap.error("--garbage needs --transport udp and n >= 4")
    if args.kill and not (0 <= int(args.kill.partition("@")[0]) < args.n):
        ap.error("--kill names a replica outside 0..n-1")
    if args.restart and (args.kill or not (0 <= int(args.restart.partition("@")[0]) < args.n)):
        ap.error("--restart names a replica outside 0..n-1, or is combined with --kill")
    if args.late and not (0 <= int(args.late.partition("@")[0]) < args.n):
        ap.error("--late names a replica outside 0..n-1")
    if args.expect_undecided is not None and (args.allow_undecided or not 0 <= args.expect_undecided < args.n):
        ap.error("--expect-undecided needs a replica in 0..n-1 and no --allow-undecided")
    if args.late and args.garbage:
        ap.error("--late and --garbage both hold replicas back; use one")
    info = describe(args.binary)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    all_ok = True
    try:
        for seed in parse_seeds(args.seeds):
            ok, report = run_once(args, seed, info)
            summarize(report, args, args.quiet)
            if args.json:
                print(json.dumps(report))
            all_ok &= ok
    except KeyboardInterrupt:
        print("cluster.py: interrupted", file=sys.stderr)
        return 130
    print(f"{info['name']} n={args.n} {args.transport}: {'OK' if all_ok else 'FAILED'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
