#!/usr/bin/env python3
"""linearizability.py: checks a history of key-value operations (put, get, cas)
for linearizability against a sequential map (examples/kvstore/README.md).

The search is Wing & Gong's ("Testing and verifying concurrent objects",
JPDC 17(1), 1993): repeatedly pick an operation whose call precedes every
pending return, apply it to the sequential model, and backtrack when some
return is reached before its operation could be placed. Two refinements
make it practical, as in Lowe ("Testing for linearizability", CCPE 29(4),
2017) and in Porcupine (github.com/anishathalye/porcupine):
  - P-compositionality (Horn & Kroening, FORTE 2015): a map is a product of
    independent registers, so the history is split by key and each part is
    checked alone (locality, Herlihy & Wing 1990);
  - memoisation: a (set of linearized operations, model state) pair already
    explored is not explored again.
An operation that never completed (its client crashed or gave up) has no
return: it may take effect at any time after its call, or never (it can
always be placed last), and any output is accepted for it.

History: one JSON object per line,
  {"client": 0, "op": "put", "key": "k", "value": "v", "call": 10, "return": 20}
  {"client": 1, "op": "get", "key": "k", "call": 12, "return": 25, "result": "v"}     (result null: absent)
  {"client": 2, "op": "cas", "key": "k", "old": "v", "new": "w", "call": 30, "return": 41,
   "ok": true, "result": "v"}                                                       (result: the value compared)
with "return": null (and no outputs) for an operation that never completed.
Times are integers from one clock (the recorder's monotonic nanoseconds).

Usage: linearizability.py HISTORY.jsonl [--max-steps N]; exit 0 linearizable,
1 not (the key and the operations are named), 2 bad input, 3 search limit.
"""
import argparse
import json
import sys
import time
from collections import defaultdict

INF = float("inf")


class Op:
    __slots__ = ("index", "client", "kind", "key", "arg", "old", "call", "ret", "ok", "result", "known", "line")

    def __init__(self, index, rec, line):
        self.index = index
        self.line = line
        self.client = rec.get("client")
        self.kind = rec["op"]
        self.key = rec["key"]
        self.call = rec["call"]
        r = rec.get("return")
        self.ret = INF if r is None else r
        self.known = r is not None
        self.arg = rec.get("value") if self.kind == "put" else rec.get("new")
        self.old = rec.get("old")
        self.ok = rec.get("ok")
        self.result = rec.get("result")

    def describe(self):
        args = {"put": lambda: f"put({self.arg!r})", "get": lambda: "get()",
                "cas": lambda: f"cas({self.old!r} -> {self.arg!r})"}[self.kind]()
        if not self.known:
            out = "never completed"
        elif self.kind == "put":
            out = "ok"
        elif self.kind == "get":
            out = f"returned {self.result!r}"
        else:
            out = f"{'succeeded' if self.ok else 'failed'}, saw {self.result!r}"
        end = "..." if not self.known else str(self.ret)
        return f"client {self.client} {args} [{self.call}, {end}] {out}"


def step(op, state):
    """The sequential register: (accepted, next state). None is 'absent'."""
    if op.kind == "put":
        return True, op.arg
    if op.kind == "get":
        return (not op.known or op.result == state), state
    match = state == op.old
    nxt = op.arg if match else state
    if not op.known:
        return True, nxt
    return (op.ok == match and op.result == state), nxt


def parse_history(lines):
    ops = []
    for n, text in enumerate(lines, 1):
        text = text.strip()
        if not text:
            continue
        try:
            rec = json.loads(text)
        except ValueError as e:
            raise ValueError(f"line {n}: not JSON ({e})")
        if not isinstance(rec, dict) or rec.get("op") not in ("put", "get", "cas"):
            raise ValueError(f"line {n}: expected an object with op put, get or cas")
        for k in ("key", "call"):
            if k not in rec:
                raise ValueError(f"line {n}: missing \"{k}\"")
        if rec.get("return") is not None and rec["return"] < rec["call"]:
            raise ValueError(f"line {n}: returns before its call")
        ops.append(Op(len(ops), rec, n))
    return ops


class Node:
    """An entry of the doubly linked event list: a call or a return."""
    __slots__ = ("op", "is_call", "match", "prev", "next")

    def __init__(self, op, is_call):
        self.op, self.is_call, self.match, self.prev, self.next = op, is_call, None, None, None


def check_partition(ops, max_steps):
    """One key's operations. Returns (verdict, detail, steps): verdict True,
    False or None (search limit); on False, detail lists the operations of
    the longest linearizable prefix found (its length and last operations)
    and the first operations that could not follow it."""
    events = []
    for op in ops:
        call, ret = Node(op, True), Node(op, False)
        call.match = ret
        events.append((op.call, 0, call))
        # A call and a return at the same instant are taken as concurrent
        # (calls sort first), so equal timestamps never cause a false alarm.
        events.append((op.ret, 1, ret))
    events.sort(key=lambda e: (e[0], e[1]))
    head = Node(None, False)
    prev = head
    for _, _, node in events:
        prev.next, node.prev = node, prev
        prev = node

    def lift(call):
        call.prev.next = call.next
        if call.next:
            call.next.prev = call.prev
        r = call.match
        r.prev.next = r.next
        if r.next:
            r.next.prev = r.prev

    def unlift(call):
        r = call.match
        r.prev.next = r
        if r.next:
            r.next.prev = r
        call.prev.next = call
        if call.next:
            call.next.prev = call

    state = None
    linearized = 0  # bit set of operation positions in this partition
    pos = {op.index: i for i, op in enumerate(ops)}
    cache = set()
    stack = []  # (call node, state before it)
    best_len, best, best_stuck = 0, [], []
    entry = head.next
    steps = 0
    while head.next is not None:
        steps += 1
        if steps > max_steps:
            return None, None, steps
        if entry.is_call:
            ok, nxt = step(entry.op, state)
            if ok:
                bits = linearized | (1 << pos[entry.op.index])
                if (bits, nxt) not in cache:
                    cache.add((bits, nxt))
                    stack.append((entry, state))
                    state, linearized = nxt, bits
                    lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            # A return reached before its operation was placed: undo the
            # last choice and try the next candidate after it.
            if not stack:
                return False, (best_len, best, best_stuck), steps
            # The deepest prefix so far, kept for the report (copied only on
            # a backtrack that leaves a new maximum, not on every step).
            if len(stack) > best_len:
                best_len = len(stack)
                best = [c.op for c, _ in stack[-5:]]
                best_stuck = [n.op for _, n in zip(range(8), iter_calls(head))]
            call, state = stack.pop()
            linearized &= ~(1 << pos[call.op.index])
            unlift(call)
            entry = call.next
    return True, None, steps


def iter_calls(head):
    n = head.next
    while n is not None:
        if n.is_call:
            yield n
        n = n.next


def check_history(ops, max_steps=5_000_000):
    """Returns (verdict, report lines, stats)."""
    by_key = defaultdict(list)
    for op in ops:
        by_key[op.key].append(op)
    stats = {"ops": len(ops), "keys": len(by_key), "pending": sum(not o.known for o in ops), "steps": 0}
    report = []
    verdict = True
    for key in sorted(by_key, key=str):
        ok, detail, steps = check_partition(by_key[key], max_steps)
        stats["steps"] += steps
        if ok is None:
            report.append(f"key {key!r}: search limit of {max_steps} steps reached ({len(by_key[key])} ops)")
            if verdict is True:
                verdict = None
        elif ok is False:
            verdict = False
            best_len, best, stuck = detail
            report.append(f"key {key!r}: not linearizable ({len(by_key[key])} ops)")
            report.append(f"  longest linearizable prefix ({best_len} ops) ends with:")
            for op in best:
                report.append(f"    {op.describe()}")
            report.append("  none of the next operations can follow it:")
            for op in stuck:
                report.append(f"    {op.describe()}")
    return verdict, report, stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("history")
    ap.add_argument("--max-steps", type=int, default=5_000_000)
    a = ap.parse_args(argv)
    try:
        with open(a.history) as f:
            ops = parse_history(f)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"{a.history}: {e}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    verdict, report, stats = check_history(ops, a.max_steps)
    ms = (time.monotonic() - t0) * 1000
    for line in report:
        print(line)
    word = {True: "yes", False: "NO", None: "unknown"}[verdict]
    print(f"linearizable: {word} ({stats['ops']} ops, {stats['pending']} never completed, "
          f"{stats['keys']} keys, {stats['steps']} search steps, {ms:.0f} ms)")
    return {True: 0, False: 1, None: 3}[verdict]


if __name__ == "__main__":
    sys.exit(main())
