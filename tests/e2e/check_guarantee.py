#!/usr/bin/env python3
"""End-to-end test of one example of the protocol library: compile it with
`psyncc build`, run n replicas on loopback (each a separate process, with
inputs this script draws and therefore knows), collect the decisions they
print, and assert the protocol's own guarantee on them.

usage: check_guarantee.py PSYNCC FILE --guarantee G [options]

Guarantees (per instance, over the decisions actually made):
  consensus   all decisions equal, each one some replica's input (or the
              --default value when the inputs differ)
  kset        at most --k distinct decisions, each one some replica's input
  broadcast   every delivery equals the input of replica --root
  commit      all decisions equal; commit (true) only if every replica voted yes
  lattice     decisions pairwise comparable under inclusion; each contains
              its decider's input and only elements of some input
  leader      no decision: from each replica's final `output var`s (leader,
              elected) as the instance ends (--max-rounds), replicas elected
              in the same round name the same leader, a replica
  election    no decision: from each replica's final `output var`s (role,
              term, leader), at most one Leader per term, a leader follows
              itself, every leader named is a replica (Raft's Election Safety)

Options:
  -n N                    replicas (default 3)
  --input NAME=GEN        GEN: int:A..B | agree:A..B (one value for every
                          replica in about half the instances, else like
                          int) | bool | vote (all yes in about half the
                          instances) | set (random subsets of 0..n-1);
                          repeatable
  --default V             consensus: a decision may also be V when the
                          inputs are not all equal (FloodSet's default)
  --instances K --window W   (default 10 and 4)
  --transport udp|tcp     (default udp)
  --kill I@MS             kill replica I after MS milliseconds
  --late I@MS             start replica I MS milliseconds after the others
  --expect-learned I      replica I must have learned (not computed) at least
                          one decision from its peers
  --const NAME=V          passed to every replica (and read for --k)
  --k K                   bound for kset (default: the --const k value)
  --root R                the broadcaster (default 0)
  --max-rounds R          passed to every replica: where a protocol without a
                          decision ends its instances
  --allow-undecided       do not require every live replica to decide every
                          instance (faulty runs)
  --lie I                 replica I is Byzantine (`--lie`, every replica
                          gets `--byzantine 1`): the guarantee is judged on
                          the other replicas, their decisions and inputs
  --seed S                inputs, coins (default 1)
  --time-limit SEC        (default 30)
"""
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time


def fail(msg):
    sys.exit(f"FAIL: {msg}")


def free_ports(count):
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


def parse_args(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    o = {"psyncc": argv[0], "file": argv[1], "n": 3, "inputs": [], "instances": 10, "window": 4,
         "transport": "udp", "kill": [], "consts": [], "k": None, "root": 0, "guarantee": None,
         "allow_undecided": False, "seed": 1, "time_limit": 30.0, "max_rounds": None,
         "late": None, "expect_learned": None, "default": None, "lie": None}
    i = 2
    while i < len(argv):
        a = argv[i]
        val = argv[i + 1] if i + 1 < len(argv) else None
        if a == "--allow-undecided":
            o["allow_undecided"] = True
            i += 1
            continue
        if val is None:
            sys.exit(f"missing value after {a}\n{__doc__}")
        if a == "-n":
            o["n"] = int(val)
        elif a == "--input":
            name, gen = val.split("=", 1)
            o["inputs"].append((name, gen))
        elif a == "--instances":
            o["instances"] = int(val)
        elif a == "--window":
            o["window"] = int(val)
        elif a == "--transport":
            o["transport"] = val
        elif a == "--lie":
            o["lie"] = int(val)
        elif a == "--kill":
            who, at = val.split("@")
            o["kill"].append((int(who), float(at.rstrip("ms")) / 1000.0))
        elif a == "--late":
            who, at = val.split("@")
            o["late"] = (int(who), float(at.rstrip("ms")) / 1000.0)
        elif a == "--expect-learned":
            o["expect_learned"] = int(val)
        elif a == "--const":
            o["consts"].append(val)
        elif a == "--default":
            o["default"] = int(val)
        elif a == "--k":
            o["k"] = int(val)
        elif a == "--root":
            o["root"] = int(val)
        elif a == "--guarantee":
            o["guarantee"] = val
        elif a == "--seed":
            o["seed"] = int(val)
        elif a == "--max-rounds":
            o["max_rounds"] = int(val)
        elif a == "--time-limit":
            o["time_limit"] = float(val.rstrip("s"))
        else:
            sys.exit(f"unknown option {a}\n{__doc__}")
        i += 2
    if o["guarantee"] not in ("consensus", "kset", "broadcast", "commit", "lattice", "leader", "election"):
        sys.exit(f"--guarantee is required and must be one of the seven kinds\n{__doc__}")
    if o["guarantee"] == "kset" and o["k"] is None:
        for c in o["consts"]:
            if c.startswith("k="):
                o["k"] = int(c[2:])
        if o["k"] is None:
            sys.exit("kset needs --k or --const k=V")
    return o


def draw_inputs(o, rng):
    """values[name][instance][replica], as Python values (int, bool, frozenset)."""
    n, K = o["n"], o["instances"]
    values = {}
    for name, gen in o["inputs"]:
        table = []
        for _ in range(K):
            if gen.startswith("int:"):
                lo, hi = (int(x) for x in gen[4:].split(".."))
                row = [rng.randint(lo, hi) for _ in range(n)]
            elif gen.startswith("agree:"):
                lo, hi = (int(x) for x in gen[6:].split(".."))
                if rng.random() < 0.5:
                    row = [rng.randint(lo, hi)] * n
                else:
                    row = [rng.randint(lo, hi) for _ in range(n)]
            elif gen == "bool":
                row = [rng.random() < 0.5 for _ in range(n)]
            elif gen == "vote":
                row = [True] * n if rng.random() < 0.5 else [rng.random() < 0.7 for _ in range(n)]
            elif gen == "set":
                row = [frozenset(q for q in range(n) if rng.random() < 0.4) for _ in range(n)]
            else:
                sys.exit(f"unknown input generator {gen}")
            table.append(row)
        values[name] = table
    return values


def render(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, frozenset):
        return "{" + "+".join(str(q) for q in sorted(v)) + "}"
    return str(v)


def decode(v):
    if isinstance(v, list):
        return frozenset(v)
    return v


def run_cluster(o, binary, values, workdir):
    n = o["n"]
    ports = free_ports(n)
    cluster = os.path.join(workdir, "cluster.toml")
    with open(cluster, "w") as f:
        for i, p in enumerate(ports):
            f.write(f'[[process]]\nid = {i}\naddress = "127.0.0.1:{p}"\n\n')
    procs = []
    try:
        for i in range(n):
            cmd = [binary, "--id", str(i), "--cluster", cluster, "--transport", o["transport"],
                   "--instances", str(o["instances"]), "--window", str(o["window"]),
                   "--seed", str(o["seed"]), "--time-limit", f"{int(o['time_limit'] * 1000)}ms", "--quiet"]
            for name, table in values.items():
                cmd += ["--input", f"{name}=" + ",".join(render(table[j][i]) for j in range(o["instances"]))]
            for c in o["consts"]:
                cmd += ["--const", c]
            if o["max_rounds"] is not None:
                cmd += ["--max-rounds", str(o["max_rounds"])]
            if o["lie"] is not None:
                cmd += ["--byzantine", "1"] + (["--lie", "--stats"] if i == o["lie"] else [])
            out = open(os.path.join(workdir, f"out{i}"), "w+")
            err = open(os.path.join(workdir, f"err{i}"), "w+")
            procs.append([cmd, out, err])
        start = time.monotonic()
        for entry in procs:  # the late one, if any, is started in the loop below
            if not (o["late"] and procs.index(entry) == o["late"][0]):
                entry[0] = subprocess.Popen(entry[0], stdout=entry[1], stderr=entry[2], stdin=subprocess.DEVNULL)
        killed = set()
        pending = sorted(o["kill"], key=lambda x: x[1])
        deadline = start + o["time_limit"] + 10
        while time.monotonic() < deadline:
            now = time.monotonic() - start
            if o["late"] and o["late"][1] <= now and isinstance(procs[o["late"][0]][0], list):
                e = procs[o["late"][0]]
                e[0] = subprocess.Popen(e[0], stdout=e[1], stderr=e[2], stdin=subprocess.DEVNULL)
            while pending and pending[0][1] <= now and not isinstance(procs[pending[0][0]][0], list):
                who, _ = pending.pop(0)
                procs[who][0].kill()
                killed.add(who)
            if not pending and all(not isinstance(p, list) and p.poll() is not None for p, _, _ in procs):
                break
            time.sleep(0.005)
        decisions, errors = {}, []
        finals = o.setdefault("finals", {})  # instance -> replica -> (round, outputs): `output var`s at the end
        for i, (p, out, err) in enumerate(procs):
            if isinstance(p, list):
                errors.append(f"replica {i} was never started")
                continue
            if p.poll() is None:
                p.kill()
                p.wait()
                errors.append(f"replica {i} still running after the time limit")
            out.seek(0)
            for line in out:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                d = json.loads(line)
                if "final" in d:
                    finals.setdefault(d["instance"], {})[d["id"]] = (d["round"], d["final"])
                    continue
                decisions.setdefault(d["instance"], {})[d["id"]] = decode(d["value"])
                if d.get("learned"):
                    o.setdefault("learned", set()).add(d["id"])
            err.seek(0)
            text = err.read()
            if i not in killed and p.returncode not in (0, 1):
                errors.append(f"replica {i} exited {p.returncode}: {text[-2000:]}")
            if i == o["lie"]:  # the liar must have lied, or the test proves nothing
                sent = re.search(r'"lies_sent":(\d+)', text)
                withheld = re.search(r'"lies_withheld":(\d+)', text)
                if not sent or not withheld or int(sent.group(1)) == 0 or int(withheld.group(1)) == 0:
                    errors.append(f"replica {i} (--lie) told no lies: {text[-2000:]}")
                else:
                    o["lies"] = (int(sent.group(1)), int(withheld.group(1)))
            if "conflict" in text.lower() and i != o["lie"]:  # the liar's --stats name the counter
                errors.append(f"replica {i} reported a conflicting decision: {text[-2000:]}")
        return decisions, killed, errors
    finally:
        for p, out, err in procs:
            if not isinstance(p, list) and p.poll() is None:
                p.kill()
                p.wait()
            out.close()
            err.close()


def final_states(o, j, killed, problems):
    """Instance j's final `output var`s by replica; every live replica must
    have reported them (unless --allow-undecided)."""
    fin = o.get("finals", {}).get(j, {})
    if not o["allow_undecided"]:
        missing = [i for i in range(o["n"]) if i not in killed and i not in fin]
        if missing:
            problems.append(f"instance {j}: replicas {missing} reported no final state")
    return fin


def judge(o, values, decisions, killed):
    n, g = o["n"], o["guarantee"]
    first_input = next(iter(values.values())) if values else None
    problems, decided_count = [], 0
    for j in range(o["instances"]):
        got = decisions.get(j, {})
        inputs = first_input[j] if first_input else None
        if o["lie"] is not None:  # only the correct replicas' decisions and inputs count
            got = {i: v for i, v in got.items() if i != o["lie"]}
            inputs = [v for i, v in enumerate(inputs) if i != o["lie"]] if inputs else inputs
        decided_count += len(got)
        vals = list(got.values())
        where = f"instance {j}: decisions {dict(sorted(got.items()))} inputs {inputs}"
        if not o["allow_undecided"]:
            missing = [i for i in range(n) if i not in killed and i not in got and i != o["lie"]]
            if missing and g not in ("leader", "election"):
                problems.append(f"{where}: replicas {missing} did not decide")
        if g in ("consensus", "kset"):
            distinct = set(vals)
            bound = 1 if g == "consensus" else o["k"]
            if len(distinct) > bound:
                problems.append(f"{where}: {len(distinct)} distinct values, at most {bound} allowed")
            allowed = set(inputs)
            if o["default"] is not None and len(set(inputs)) > 1:
                allowed.add(o["default"])
            if any(v not in allowed for v in vals):
                problems.append(f"{where}: a decision is nobody's input (validity)")
        elif g == "broadcast":
            want = inputs[o["root"]]
            if any(v != want for v in vals):
                problems.append(f"{where}: a delivery differs from the broadcaster's value {want}")
        elif g == "commit":
            if len(set(vals)) > 1:
                problems.append(f"{where}: commit and abort both decided")
            if any(v is True for v in vals) and not all(inputs):
                problems.append(f"{where}: committed although someone voted no")
        elif g == "lattice":
            union = frozenset().union(*inputs)
            for a in got:
                if not inputs[a] <= got[a] or not got[a] <= union:
                    problems.append(f"{where}: replica {a}'s decision breaks validity")
                for b in got:
                    if not (got[a] <= got[b] or got[b] <= got[a]):
                        problems.append(f"{where}: decisions of {a} and {b} are incomparable")
        elif g == "leader":
            # An eventual leader is not consensus: replicas may end on
            # different leaders. What the protocol guarantees (its invariant
            # one_leader, from majority nominations) is that replicas elected
            # in the same round name the same leader, and that it is a replica.
            fin = final_states(o, j, killed, problems)
            decided_count += len(fin)
            by_round = {}
            for i, (rnd, outs) in fin.items():
                if outs.get("elected"):
                    by_round.setdefault(rnd, set()).add(outs["leader"])
                if not (0 <= outs["leader"] < n):
                    problems.append(f"instance {j}: replica {i}'s leader {outs['leader']} is not a replica")
            for rnd, leaders in by_round.items():
                if len(leaders) > 1:
                    problems.append(f"instance {j}: leaders {sorted(leaders)} elected in the same round {rnd}")
        elif g == "election":
            # Raft's Election Safety: at most one leader per term, judged on
            # the final states (the leader legitimately changes over time).
            fin = final_states(o, j, killed, problems)
            decided_count += len(fin)
            leaders = {}
            for i, (rnd, outs) in fin.items():
                if not (0 <= outs["leader"] < n):
                    problems.append(f"instance {j}: replica {i}'s leader {outs['leader']} is not a replica")
                if outs["role"] == "Leader":
                    leaders.setdefault(outs["term"], set()).add(i)
                    if outs["leader"] != i:
                        problems.append(f"instance {j}: leader {i} follows {outs['leader']}")
            for term, who in leaders.items():
                if len(who) > 1:
                    problems.append(f"instance {j}: replicas {sorted(who)} are all leaders of term {term}")
            if leaders:
                o["with_leader"] = o.get("with_leader", 0) + 1
    return problems, decided_count


def main():
    o = parse_args(sys.argv[1:])
    rng = random.Random(o["seed"])
    values = draw_inputs(o, rng)
    with tempfile.TemporaryDirectory(prefix="psync-e2e-") as workdir:
        binary = os.path.join(workdir, "node")
        build = subprocess.run([o["psyncc"], "build", o["file"], "-o", binary, "-w"],
                               capture_output=True, text=True, timeout=120)
        if build.returncode != 0:
            fail(f"psyncc build failed:\n{build.stderr}")
        if any(isinstance(v, frozenset) for t in values.values() for row in t for v in row):
            # The node cannot take a per-instance list of set<pid> values (the
            # commas inside "{0+1},{2}" are not split), so each instance runs
            # on a cluster of its own, as instance 0.
            decisions, killed, errors = {}, set(), []
            one = dict(o, instances=1, window=1)
            for j in range(o["instances"]):
                row = {name: [t[j]] for name, t in values.items()}
                d, k, e = run_cluster(one, binary, row, workdir)
                if 0 in d:
                    decisions[j] = d[0]
                killed |= k
                errors += [f"instance {j}: {x}" for x in e]
        else:
            decisions, killed, errors = run_cluster(o, binary, values, workdir)
    problems, count = judge(o, values, decisions, killed)
    if o["expect_learned"] is not None and o["expect_learned"] not in o.get("learned", set()):
        problems.append(f"replica {o['expect_learned']} learned no decision from its peers")
    if errors or problems:
        fail("\n".join(errors + problems))
    if count == 0:
        fail("no decision at all")
    summary = {}
    if o["guarantee"] == "commit":
        commits = sum(1 for j in decisions if True in decisions[j].values())
        summary = {"commit": commits, "abort": len(decisions) - commits}
    elif o["guarantee"] == "election":
        summary = {"instances_ending_with_a_leader": o.get("with_leader", 0)}
    elif o["guarantee"] == "kset":
        summary = {"max_distinct": max(len(set(d.values())) for d in decisions.values())}
    no_decision = o["guarantee"] in ("leader", "election")
    what = "final states" if no_decision else "decisions"
    over = len(o.get("finals", {})) if no_decision else len(decisions)
    if o.get("lies"):
        summary["liar_messages"] = {"lies": o["lies"][0], "withheld": o["lies"][1]}
    print(f"PASS: {os.path.basename(o['file'])} n={o['n']} {o['guarantee']}: {count} {what} over "
          f"{over} instance(s){'' if not summary else ' ' + json.dumps(summary)}")


if __name__ == "__main__":
    main()
