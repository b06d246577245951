#!/usr/bin/env python3
"""chaos.py: a seeded fault campaign against real replicas, each in its own
network namespace (docs/reliability.md). Needs root (ip netns, veth, bridge).

Each run builds a small network — a hub namespace with a bridge, one
namespace per replica with its own address (10.77.0.I+1) on a veth — starts
an authenticated, durable cluster (psyncc keygen keys, --data-dir), and
injects faults drawn from the run's seed:

  loss, delay, duplication, reordering   tc netem on each replica's link
                                         (without sch_netem in the kernel:
                                         by the replicas: --drop, --delay
                                         (each message delayed on its own,
                                         so they are reordered) and, over
                                         UDP, --duplicate; said at start)
  partition and heal                     a minority's links down, then up
  kill -9 and restart                    the replica restarts on its --data-dir
  SIGSTOP / SIGCONT                      a replica paused, then resumed
  forger                                 psync-forge in its own namespace,
                                         claiming a member's id without its key

and checks: agreement (every line of every incarnation of every replica),
validity (each decision is some replica's input), and that every replica
reports every instance decided after the heal.

With --kvstore instead of --node, the replicas are psync-kvstore
(examples/kvstore, a replicated key-value store on LogLastVoting), and
concurrent clients (examples/kvstore/kv_clients.py) in the hub namespace
run put/get/cas against them for --seconds while the same faults play (a
killed replica restarts on its --data-dir). The run checks that the history
is linearizable (examples/kvstore/linearizability.py), with every key read
at every replica after the clients are done, that no request got an error
reply, and that every operation called after the heal completed.

A failing run prints its seed and the command that reruns it. Namespaces
are named psyncchaos-<pid>-*, removed after each run and on any exit;
leftovers of dead campaigns are removed at start.

usage: chaos.py --node NODE --psyncc PSYNCC --forge PSYNC_FORGE [--runs N] [--seed S] [-n 3] [--instances 100]
                [--transport udp|tcp]
       chaos.py --kvstore PSYNC_KVSTORE --psyncc PSYNCC --forge PSYNC_FORGE [--runs N] [--seed S] [-n 3]
                [--seconds 6] [--clients 5]
"""

import argparse
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PREFIX = "psyncchaos-"
SUBNET = "10.77.0."
HUB_ADDRESS = SUBNET + "254"  # the bridge's own address: the key-value clients run in the hub
PORT = 7100
KV_CLIENT_PORT = 7000
KVSTORE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "kvstore")


def sh(*cmd, check=True):
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r


def list_namespaces():
    out = sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def remove_namespaces(prefix):
    for ns in list_namespaces():
        if ns.startswith(prefix):
            sh("ip", "netns", "del", ns, check=False)


def remove_dead_campaigns():
    """Namespaces of campaigns whose process is gone (killed, crashed)."""
    for ns in list_namespaces():
        if not ns.startswith(PREFIX):
            continue
        pid = ns[len(PREFIX):].split("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            sh("ip", "netns", "del", ns, check=False)


def netem_available():
    probe = f"{PREFIX}{os.getpid()}-probe"
    sh("ip", "netns", "add", probe)
    try:
        sh("ip", "-n", probe, "link", "set", "lo", "up")
        return sh("ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
                  check=False).returncode == 0
    finally:
        sh("ip", "netns", "del", probe, check=False)


class Network:
    """A hub namespace with a bridge; `count` namespaces, each with one
    address on a veth whose other end is on the bridge."""

    def __init__(self, tag, count):
        self.prefix = f"{PREFIX}{os.getpid()}-{tag}-"
        self.hub = self.prefix + "hub"
        self.ns = [self.prefix + f"r{i}" for i in range(count)]
        sh("ip", "netns", "add", self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")
        sh("ip", "-n", self.hub, "addr", "add", f"{HUB_ADDRESS}/24", "dev", "br0")
        sh("ip", "-n", self.hub, "link", "set", "lo", "up")
        for i, ns in enumerate(self.ns):
            sh("ip", "netns", "add", ns)
            a, b = f"pc{os.getpid() % 100000}x{i}", f"pc{os.getpid() % 100000}y{i}"
            sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
            sh("ip", "link", "set", a, "netns", ns)
            sh("ip", "link", "set", b, "netns", self.hub)
            sh("ip", "-n", ns, "link", "set", a, "name", "eth0")
            sh("ip", "-n", ns, "addr", "add", f"{SUBNET}{i + 1}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", self.hub, "link", "set", b, "master", "br0")
            sh("ip", "-n", self.hub, "link", "set", b, "up")

    def netem(self, i, spec):
        sh("ip", "netns", "exec", self.ns[i], "tc", "qdisc", "replace", "dev", "eth0", "root", "netem", *spec)

    def clear_netem(self, i):
        sh("ip", "netns", "exec", self.ns[i], "tc", "qdisc", "del", "dev", "eth0", "root", check=False)

    def link(self, i, up):
        sh("ip", "-n", self.ns[i], "link", "set", "eth0", "up" if up else "down")

    def remove(self):
        remove_namespaces(self.prefix)


class Replica:
    def __init__(self, run, i):
        self.run, self.i = run, i
        self.incarnations = []  # (process, out path, err path)

    def start(self):
        r = self.run
        k = len(self.incarnations)
        out = os.path.join(r.workdir, f"out{self.i}.{k}.jsonl")
        err = os.path.join(r.workdir, f"err{self.i}.{k}.txt")
        cmd = ["ip", "netns", "exec", r.net.ns[self.i]] + r.replica_command(self.i) + r.node_faults
        with open(out, "w") as fo, open(err, "w") as fe:
            p = subprocess.Popen(cmd, stdout=fo, stderr=fe)
        self.incarnations.append((p, out, err))

    @property
    def proc(self):
        return self.incarnations[-1][0]


def draw_faults(rng, n, netem):
    """The faults of one run, with their times (seconds from the start)."""
    f = {}
    if rng.random() < 0.7:
        f["net"] = {"loss": round(rng.uniform(0, 0.2), 3), "delay_ms": rng.randint(0, 10),
                    "duplicate": round(rng.uniform(0, 0.05), 3) if netem else 0,
                    "reorder": round(rng.uniform(0, 0.2), 3) if netem else 0}
    minority = (n - 1) // 2
    if rng.random() < 0.5:
        f["partition"] = {"who": rng.sample(range(n), rng.randint(1, minority)),
                          "at": round(rng.uniform(0.1, 0.8), 2), "for": round(rng.uniform(0.3, 1.5), 2)}
    if rng.random() < 0.5:
        f["kill"] = {"who": rng.randrange(n), "at": round(rng.uniform(0.1, 1.0), 2),
                     "restart_after": round(rng.uniform(0.1, 0.8), 2)}
    if rng.random() < 0.4:
        f["pause"] = {"who": rng.randrange(n), "at": round(rng.uniform(0.1, 1.0), 2),
                      "for": round(rng.uniform(0.2, 1.5), 2)}
    if rng.random() < 0.4:
        f["forger"] = {"as": rng.randrange(n), "at": round(rng.uniform(0.05, 0.5), 2)}
    if not f:
        f["kill"] = {"who": rng.randrange(n), "at": 0.3, "restart_after": 0.3}
    return f


class Run:
    def __init__(self, args, seed, netem, fingerprint):
        self.args, self.seed, self.netem, self.fingerprint = args, seed, netem, fingerprint
        self.rng = random.Random(seed)
        self.faults = draw_faults(self.rng, args.n, netem)
        self.node_faults = []
        net = self.faults.get("net")
        if net and not netem:
            # No sch_netem: the replicas drop, delay (and so reorder) and,
            # over UDP, duplicate what they receive. The duplication rate
            # comes from its own generator so that a seed draws the same
            # other faults as before it existed.
            if net["loss"]:
                self.node_faults += ["--drop", str(net["loss"])]
            if net["delay_ms"]:
                self.node_faults += ["--delay", f"{net['delay_ms']}ms"]
            if args.transport == "udp":
                net["duplicate"] = round(random.Random(f"duplicate-{seed}").uniform(0, 0.05), 3)
                if net["duplicate"]:
                    self.node_faults += ["--duplicate", str(net["duplicate"])]

    def replica_command(self, i):
        a = self.args
        return [a.node, "--id", str(i), "--cluster", self.cluster,
                "--key", os.path.join(self.keydir, f"replica-{i}.key"), "--input", f"init={100 + i}",
                "--instances", str(a.instances), "--window", str(a.window), "--timeout", "10ms",
                "--transport", a.transport,
                "--time-limit", f"{a.time_limit}s", "--stay", "3s", "--seed", str(self.seed * 10 + i + 1),
                "--data-dir", os.path.join(self.workdir, f"data{i}"), "--stats", "--quiet"]

    def set_up(self):
        """The work directory, the network, keys and the netem links."""
        a = self.args
        n = a.n
        self.workdir = tempfile.mkdtemp(prefix="psync-chaos-")
        self.net = Network(f"s{self.seed}", n + 1)  # the last namespace is the forger's
        plain = os.path.join(self.workdir, "plain.toml")
        with open(plain, "w") as f:
            for i in range(n):
                f.write(f'[[process]]\nid = {i}\naddress = "{SUBNET}{i + 1}:{PORT}"\n\n')
        self.keydir = os.path.join(self.workdir, "keys")
        sh(a.psyncc, "keygen", "--dir", self.keydir, "--cluster", plain)
        self.cluster = os.path.join(self.keydir, "cluster.toml")
        net = self.faults.get("net")
        if net and self.netem:
            for i in range(n):
                spec = ["loss", f"{net['loss'] * 100}%", "delay", f"{net['delay_ms']}ms"]
                if net["duplicate"]:
                    spec += ["duplicate", f"{net['duplicate'] * 100}%"]
                if net["reorder"] and net["delay_ms"]:
                    spec += ["reorder", f"{100 - net['reorder'] * 100}%"]
                self.net.netem(i, spec)

    def execute(self):
        a = self.args
        n = a.n
        failures = []
        try:
            self.set_up()
            reps = [Replica(self, i) for i in range(n)]
            for r in reps:
                r.start()
            failures += self.inject(reps)
            deadline = time.monotonic() + a.time_limit + 15
            while time.monotonic() < deadline and any(r.proc.poll() is None for r in reps):
                time.sleep(0.02)
            for r in reps:
                if r.proc.poll() is None:
                    failures.append(f"replica {r.i} still running after its time limit")
                    r.proc.kill()
                    r.proc.wait()
            failures += self.judge(reps)
        finally:
            self.tear_down(locals().get("reps", []), failures)
        return failures

    def tear_down(self, reps, failures):
        """Kills what still runs, removes the network, and the work
        directory unless a failing run's is kept."""
        for r in reps:
            for p, _, _ in r.incarnations:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        if getattr(self, "net", None):
            self.net.remove()
        if getattr(self, "workdir", None) and (not failures or not self.args.keep):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def inject(self, reps):
        """Plays the fault timeline; returns problems of the harness itself."""
        f = self.faults
        events = []  # (time, action)
        if "partition" in f:
            p = f["partition"]
            events.append((p["at"], lambda: [self.net.link(i, False) for i in p["who"]]))
            events.append((p["at"] + p["for"], lambda: [self.net.link(i, True) for i in p["who"]]))
        if "kill" in f:
            k = f["kill"]
            r = reps[k["who"]]

            def kill():
                r.proc.send_signal(signal.SIGKILL)
                r.proc.wait()

            events.append((k["at"], kill))
            events.append((k["at"] + k["restart_after"], r.start))
        if "pause" in f:
            s = f["pause"]
            r2 = reps[s["who"]]
            events.append((s["at"], lambda: r2.proc.poll() is None and r2.proc.send_signal(signal.SIGSTOP)))
            events.append((s["at"] + s["for"], lambda: r2.proc.poll() is None and r2.proc.send_signal(signal.SIGCONT)))
        if "forger" in f:
            events.append((f["forger"]["at"], lambda: self.forge(f["forger"]["as"])))
        t0 = time.monotonic()
        for at, action in sorted(events, key=lambda e: e[0]):
            time.sleep(max(0.0, at - (time.monotonic() - t0)))
            action()
        # Every pause ends: a SIGCONT for whichever incarnation is current.
        if "pause" in f:
            p = reps[f["pause"]["who"]].proc
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
        return []

    def forge(self, as_id):
        """psync-forge from the spare namespace, claiming to be `as_id`
        without its key: a copy of the cluster file puts that member at the
        forger's address so that it can bind there."""
        n = self.args.n
        fake = os.path.join(self.workdir, "forger.toml")
        with open(self.cluster) as src, open(fake, "w") as dst:
            dst.write(src.read().replace(f'"{SUBNET}{as_id + 1}:{PORT}"', f'"{SUBNET}{n + 1}:{PORT}"'))
        targets = ",".join(str(i) for i in range(n) if i != as_id)
        self.forger = subprocess.Popen(
            ["ip", "netns", "exec", self.net.ns[n], self.args.forge, "--cluster", fake, "--as", str(as_id),
             "--wrong-key", "--handshake-seconds", "0.2", "--fingerprint", str(self.fingerprint), "--max-payload", "8",
             "--target", targets, "--first", "0", "--count", "20000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def judge(self, reps):
        a = self.args
        failures = []
        if getattr(self, "forger", None):
            try:
                self.forger.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.forger.kill()
        lines = {}  # instance -> [(who, value)]
        self.undecided = 0
        self.stats = {}
        for r in reps:
            for k, (p, out, err) in enumerate(r.incarnations):
                last = k == len(r.incarnations) - 1
                seen = set()
                with open(out) as f:
                    for line in f:
                        if not line.strip():
                            continue
                        try:
                            d = json.loads(line)
                        except json.JSONDecodeError:
                            # SIGKILL may cut a killed incarnation's last write
                            # short: only its final, unterminated line may be partial.
                            if last or line.endswith("\n"):
                                failures.append(f"replica {r.i} printed a non-JSON line: {line.strip()[:80]}")
                            continue
                        lines.setdefault(d["instance"], []).append((f"p{r.i}.{k}", d["value"]))
                        seen.add(d["instance"])
                with open(err) as f:
                    for line in f:
                        if line.startswith('{"stats"'):
                            self.stats[f"{r.i}.{k}"] = json.loads(line)["stats"]
                if last:
                    missing = a.instances - len(seen & set(range(a.instances)))
                    self.undecided += missing
                    if missing:
                        failures.append(f"replica {r.i} left {missing} instance(s) undecided after the heal "
                                        f"(exit {p.returncode})")
                    elif p.returncode != 0:
                        failures.append(f"replica {r.i} exited with status {p.returncode}")
        inputs = {100 + i for i in range(a.n)}
        self.violations = 0
        for inst, vals in sorted(lines.items()):
            if len({json.dumps(v) for _, v in vals}) > 1:
                self.violations += 1
                failures.append(f"AGREEMENT VIOLATED in instance {inst}: " + ", ".join(f"{w}={v}" for w, v in vals))
            bad = [v for _, v in vals if v not in inputs]
            if bad:
                self.violations += 1
                failures.append(f"VALIDITY VIOLATED in instance {inst}: {bad[0]} is no replica's input")
        return failures


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class KvRun(Run):
    """A run against psync-kvstore: the same network, keys and faults,
    every replica on a --data-dir, clients in the hub namespace, and the
    history judged for linearizability and for progress after the heal."""

    def replica_command(self, i):
        a = self.args
        return [a.kvstore, "--id", str(i), "--cluster-file", self.cluster,
                "--key", os.path.join(self.keydir, f"replica-{i}.key"),
                "--listen", f"{SUBNET}{i + 1}:{KV_CLIENT_PORT}", "--transport", a.transport,
                "--window", "8", "--seed", str(self.seed * 10 + i + 1),
                "--data-dir", os.path.join(self.workdir, f"data{i}"), "--stats", "--quiet"]

    def heal_time(self):
        """Seconds into the run when the last fault is over."""
        f, ends = self.faults, [0.0]
        if "partition" in f:
            ends.append(f["partition"]["at"] + f["partition"]["for"])
        if "pause" in f:
            ends.append(f["pause"]["at"] + f["pause"]["for"])
        if "kill" in f:
            ends.append(f["kill"]["at"] + f["kill"]["restart_after"])
        if "forger" in f:
            ends.append(f["forger"]["at"])
        return max(ends)

    def execute(self):
        a = self.args
        n = a.n
        failures = []
        self.violations = self.undecided = 0
        try:
            self.set_up()
            reps = [Replica(self, i) for i in range(n)]
            for r in reps:
                r.start()
            time.sleep(0.3)  # the replicas bind their ports; clients retry until they answer anyway
            history = os.path.join(self.workdir, "history.jsonl")
            self.t0_ns = time.monotonic_ns()
            clients = subprocess.Popen(
                ["ip", "netns", "exec", self.net.hub, sys.executable, os.path.join(KVSTORE_DIR, "kv_clients.py"),
                 "--replicas", ",".join(f"{SUBNET}{i + 1}:{KV_CLIENT_PORT}" for i in range(n)),
                 "--seconds", str(a.seconds), "--clients", str(a.clients), "--seed", str(self.seed),
                 "--history", history, "--epoch-ns", str(self.t0_ns), "--final-reads"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            failures += self.inject(reps)
            try:
                out, err = clients.communicate(timeout=a.seconds + 30)
            except subprocess.TimeoutExpired:
                clients.kill()
                out, err = clients.communicate()
                failures.append("the clients hung")
            summary = {}
            if clients.returncode != 0:
                failures.append(f"kv_clients.py exited with {clients.returncode}: {err.strip()[-300:]}")
            else:
                summary = json.loads(out.strip().splitlines()[-1])
            for r in reps:  # a paused replica must run to take its SIGTERM
                if r.proc.poll() is None:
                    r.proc.send_signal(signal.SIGCONT)
                    r.proc.send_signal(signal.SIGTERM)
            for r in reps:
                try:
                    r.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    failures.append(f"replica {r.i} did not stop on SIGTERM")
                    r.proc.kill()
                    r.proc.wait()
            if not failures:
                failures += self.judge_history(reps, history, summary)
        finally:
            self.tear_down(locals().get("reps", []), failures)
        return failures

    def judge_history(self, reps, history, summary):
        a = self.args
        failures = []
        if getattr(self, "forger", None):
            try:
                self.forger.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.forger.kill()
        lin = load_module(os.path.join(KVSTORE_DIR, "linearizability.py"), "linearizability")
        with open(history) as f:
            ops = lin.parse_history(f)
        verdict, report, _ = lin.check_history(ops)
        if verdict is False:
            self.violations += 1
            failures.append("LINEARIZABILITY VIOLATED: " + "; ".join(report[:6]))
        elif verdict is None:
            failures.append("the linearizability checker gave up (search limit)")
        if summary.get("errors"):
            failures.append(f"error replies: {summary['errors'][:3]}")
        if summary.get("final_reads_failed"):
            failures.append(f"{summary['final_reads_failed']} of the final reads (every key at every replica, "
                            f"after the clients) got no answer")
        heal_us = self.heal_time() * 1e6
        recs = [json.loads(line) for line in open(history) if line.strip()]
        after = [r for r in recs if r["call"] >= heal_us]
        stuck = [r for r in after if r["return"] is None]
        self.undecided = len(stuck)
        self.ops = len(recs)
        self.completed = sum(r["return"] is not None for r in recs)
        if stuck:
            failures.append(f"{len(stuck)} operation(s) called after the heal ({heal_us / 1e6:.2f} s) never "
                            f"completed, e.g. {json.dumps(stuck[0])}")
        if not any(r["return"] is not None for r in after):
            failures.append(f"no operation completed after the heal ({heal_us / 1e6:.2f} s)")
        for r in reps:
            for k, (p, _, _) in enumerate(r.incarnations):
                if k + 1 < len(r.incarnations):
                    if p.returncode != -signal.SIGKILL:
                        failures.append(f"replica {r.i} was to be killed but exited with {p.returncode}")
                elif p.returncode != 0:
                    failures.append(f"replica {r.i} (incarnation {k}) exited with status {p.returncode}")
        self.stats = {}
        for r in reps:
            for k, (_, _, err) in enumerate(r.incarnations):
                with open(err) as f:
                    for line in f:
                        if line.startswith('{"stats"'):
                            self.stats[f"{r.i}.{k}"] = json.loads(line)["stats"]
        return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = ap.add_mutually_exclusive_group(required=True)
    target.add_argument("--node", help="a node binary (e.g. LastVoting built by psyncc)")
    target.add_argument("--kvstore", help="psync-kvstore (examples/kvstore): check linearizability instead")
    ap.add_argument("--psyncc", required=True, help="psyncc, for keygen")
    ap.add_argument("--forge", required=True, help="psync-forge (tests/runtime/forge.cpp)")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1, help="first seed; run k uses seed+k")
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--instances", type=int, default=100)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--time-limit", type=int, default=30, help="seconds, passed to each replica (--node)")
    ap.add_argument("--seconds", type=float, default=6, help="--kvstore: how long the clients run")
    ap.add_argument("--clients", type=int, default=5, help="--kvstore: concurrent clients")
    ap.add_argument("--keep", dest="keep", action="store_true",
                    help="keep the work directory (logs, --stats, data dirs) of a failing run (the default)")
    ap.add_argument("--no-keep", dest="keep", action="store_false", help="remove it too")
    ap.set_defaults(keep=True)
    ap.add_argument("--json", help="write the per-run results here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("chaos.py: FAILED: needs root (network namespaces); run it as root, as CI does", file=sys.stderr)
        return 2
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            print(f"chaos.py: FAILED: '{tool}' not found (apt-get install iproute2)", file=sys.stderr)
            return 2
    fingerprint = json.loads(sh(args.node or args.kvstore, "--describe").stdout)["fingerprint"]
    run_kind = KvRun if args.kvstore else Run

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    remove_dead_campaigns()
    netem = netem_available()
    what = (f"psync-kvstore, {args.clients} clients for {args.seconds:g} s" if args.kvstore else
            f"{args.instances} instances, window {args.window}")
    print(f"chaos.py: {args.runs} run(s) from seed {args.seed}, n={args.n}, {what}, {args.transport}; " + ("tc netem on every link" if netem else
                                      "tc netem unavailable (no sch_netem in this kernel): loss, delay and "
                                      "reordering are injected by the replicas (--drop/--delay), and "
                                      "duplication over UDP (--duplicate)"))
    totals = {"runs": 0, "failed": 0, "violations": 0, "undecided": 0}
    kinds = {}
    results = []
    t0 = time.monotonic()
    try:
        for k in range(args.runs):
            seed = args.seed + k
            run = run_kind(args, seed, netem, fingerprint)
            started = time.monotonic()
            failures = run.execute()
            totals["runs"] += 1
            for kind in run.faults:
                kinds[kind] = kinds.get(kind, 0) + 1
            totals["violations"] += getattr(run, "violations", 0)
            totals["undecided"] += getattr(run, "undecided", 0)
            result = {"seed": seed, "faults": run.faults, "failures": failures,
                      "seconds": round(time.monotonic() - started, 2)}
            if args.kvstore:
                totals["ops"] = totals.get("ops", 0) + getattr(run, "ops", 0)
                totals["completed"] = totals.get("completed", 0) + getattr(run, "completed", 0)
                result["ops"], result["completed"] = getattr(run, "ops", 0), getattr(run, "completed", 0)
            results.append(result)
            status = "ok" if not failures else "FAILED"
            print(f"seed {seed}: {status} in {time.monotonic() - started:.1f}s, faults {json.dumps(run.faults)}",
                  flush=True)
            if failures:
                totals["failed"] += 1
                for f in failures:
                    print(f"  FAIL: {f}")
                if args.keep:
                    print(f"  kept: {run.workdir}")
                target = (f"--kvstore {args.kvstore} --seconds {args.seconds:g} --clients {args.clients}"
                          if args.kvstore else
                          f"--node {args.node} --instances {args.instances} --window {args.window}")
                print(f"  rerun: {sys.argv[0]} {target} --psyncc {args.psyncc} --forge {args.forge} "
                      f"-n {args.n} --transport {args.transport} --seed {seed} --runs 1 --keep")
    except KeyboardInterrupt:
        print("chaos.py: interrupted", file=sys.stderr)
    finally:
        remove_namespaces(f"{PREFIX}{os.getpid()}-")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"totals": totals, "faults": kinds, "runs": results}, f)
    fault_text = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    if args.kvstore:
        print(f"\n| runs | faults injected | operations (completed) | linearizability violations | "
              f"operations after the heal never completed | failed runs | time |")
        print(f"|---|---|---|---|---|---|---|")
        print(f"| {totals['runs']} | {fault_text} | {totals.get('ops', 0)} ({totals.get('completed', 0)}) | "
              f"{totals['violations']} | {totals['undecided']} | {totals['failed']} | {time.monotonic() - t0:.0f} s |")
    else:
        print(f"\n| runs | faults injected | violations | instances undecided after heal | failed runs | time |")
        print(f"|---|---|---|---|---|---|")
        print(f"| {totals['runs']} | {fault_text} | {totals['violations']} | {totals['undecided']} | "
              f"{totals['failed']} | {time.monotonic() - t0:.0f} s |")
    return 0 if totals["failed"] == 0 and totals["runs"] == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
