#!/usr/bin/env python3
"""Unit tests of examples/kvstore/linearizability.py on hand-made histories:
linearizable ones it must accept and non-linearizable ones (the stale read
among them) it must reject. Run by ctest (tests/kvstore/CMakeLists.txt)."""
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "kvstore"))
import linearizability as lin  # noqa: E402


def put(c, k, v, call, ret):
    return {"client": c, "op": "put", "key": k, "value": v, "call": call, "return": ret}


def get(c, k, result, call, ret):
    return {"client": c, "op": "get", "key": k, "call": call, "return": ret, "result": result}


def cas(c, k, old, new, ok, seen, call, ret):
    return {"client": c, "op": "cas", "key": k, "old": old, "new": new, "call": call, "return": ret,
            "ok": ok, "result": seen}


def pending(rec):
    rec = dict(rec, **{"return": None})
    rec.pop("result", None)
    rec.pop("ok", None)
    return rec


def verdict(recs):
    ops = lin.parse_history(json.dumps(r) for r in recs)
    v, report, _ = lin.check_history(ops)
    return v, report


class Linearizable(unittest.TestCase):
    def test_empty_history(self):
        self.assertIs(verdict([])[0], True)

    def test_sequential_put_get_cas(self):
        h = [put(0, "x", "1", 0, 1), get(0, "x", "1", 2, 3), cas(0, "x", "1", "2", True, "1", 4, 5),
             cas(0, "x", "1", "3", False, "2", 6, 7), get(0, "x", "2", 8, 9)]
        self.assertIs(verdict(h)[0], True)

    def test_get_of_absent_key(self):
        self.assertIs(verdict([get(0, "x", None, 0, 1), put(1, "x", "a", 2, 3)])[0], True)

    def test_concurrent_read_may_see_either_value(self):
        # The put overlaps both reads: one sees the old value, then one the new.
        h = [put(0, "x", "0", 0, 1), put(0, "x", "1", 10, 30),
             get(1, "x", "0", 12, 14), get(2, "x", "1", 15, 20)]
        self.assertIs(verdict(h)[0], True)

    def test_order_needs_backtracking(self):
        # Three overlapping puts; the reads after them fix the order c, a, b,
        # which the search finds only after trying a first.
        h = [put(0, "x", "a", 0, 10), put(1, "x", "b", 1, 10), put(2, "x", "c", 2, 10),
             get(0, "x", "b", 11, 12)]
        self.assertIs(verdict(h)[0], True)

    def test_cas_absent_then_present(self):
        h = [cas(0, "x", None, "a", True, None, 0, 2), cas(1, "x", None, "b", False, "a", 1, 3)]
        self.assertIs(verdict(h)[0], True)

    def test_never_completed_put_may_have_taken_effect(self):
        # The put never completed (its replica was killed): a later read may
        # see it ...
        h = [put(0, "x", "0", 0, 1), pending(put(1, "x", "1", 2, 0)), get(2, "x", "1", 50, 60)]
        self.assertIs(verdict(h)[0], True)

    def test_never_completed_put_may_never_take_effect(self):
        # ... or not.
        h = [put(0, "x", "0", 0, 1), pending(put(1, "x", "1", 2, 0)), get(2, "x", "0", 50, 60)]
        self.assertIs(verdict(h)[0], True)

    def test_keys_are_independent(self):
        h = [put(0, "x", "1", 0, 5), put(1, "y", "1", 0, 5), get(2, "x", "1", 6, 7), get(2, "y", "1", 6, 7)]
        self.assertIs(verdict(h)[0], True)

    def test_equal_timestamps_are_concurrent(self):
        h = [put(0, "x", "1", 0, 5), get(1, "x", None, 5, 6)]
        self.assertIs(verdict(h)[0], True)


class NotLinearizable(unittest.TestCase):
    def test_stale_read(self):
        # The classic counterexample: a write completes, and a read that
        # starts afterwards still returns the old value (a replica answering
        # from its own copy without going through the log).
        h = [put(0, "x", "0", 0, 1), put(0, "x", "1", 2, 3), get(1, "x", "0", 4, 5)]
        v, report = verdict(h)
        self.assertIs(v, False)
        self.assertIn("key 'x': not linearizable", report[0])

    def test_stale_read_after_another_read_saw_the_new_value(self):
        # Both reads overlap the write, but the first, which saw the new
        # value, finished before the second began: the second may not go back.
        h = [put(0, "x", "0", 0, 1), put(0, "x", "1", 2, 100),
             get(1, "x", "1", 10, 20), get(2, "x", "0", 30, 40)]
        self.assertIs(verdict(h)[0], False)

    def test_read_of_a_value_never_written(self):
        self.assertIs(verdict([put(0, "x", "1", 0, 1), get(1, "x", "2", 2, 3)])[0], False)

    def test_two_cas_both_succeed_from_the_same_value(self):
        # A lost update: two cas 0 -> x both report success.
        h = [put(0, "x", "0", 0, 1), cas(1, "x", "0", "a", True, "0", 2, 10),
             cas(2, "x", "0", "b", True, "0", 3, 11)]
        self.assertIs(verdict(h)[0], False)

    def test_cas_failure_that_saw_the_expected_value(self):
        self.assertIs(verdict([put(0, "x", "0", 0, 1), cas(1, "x", "0", "a", False, "0", 2, 3)])[0], False)

    def test_violation_on_one_key_among_many(self):
        h = [put(0, "y", "1", 0, 1), get(1, "y", "1", 2, 3),
             put(0, "x", "1", 0, 1), get(1, "x", None, 2, 3)]
        v, report = verdict(h)
        self.assertIs(v, False)
        self.assertIn("'x'", report[0])
        self.assertFalse(any("'y'" in line for line in report))

    def test_never_completed_ops_do_not_excuse_an_impossible_read(self):
        # A pending put of "2" cannot explain a read of "3".
        h = [put(0, "x", "1", 0, 1), pending(put(1, "x", "2", 2, 0)), get(2, "x", "3", 5, 6)]
        self.assertIs(verdict(h)[0], False)

    def test_pending_put_cannot_take_effect_before_its_call(self):
        h = [put(0, "x", "0", 0, 1), get(2, "x", "1", 2, 3), pending(put(1, "x", "1", 10, 0))]
        self.assertIs(verdict(h)[0], False)


class Generated(unittest.TestCase):
    """Histories from a simulated linearizable register (each operation takes
    effect at a random instant inside its interval) must pass; the same
    histories with one read's result changed to a stale value must fail
    when that value was overwritten before the read began."""

    def simulate(self, seed, clients=5, ops_per_client=60, keys=("a", "b", "c")):
        rng = random.Random(seed)
        events = []  # (effect time, client, record)
        t = [0] * clients
        for c in range(clients):
            for _ in range(ops_per_client):
                call = t[c] + rng.randint(0, 5)
                ret = call + rng.randint(1, 40)
                effect = rng.uniform(call, ret)
                k = rng.choice(keys)
                kind = rng.choice(["put", "get", "cas"])
                v = str(rng.randint(0, 3))
                rec = {"client": c, "op": kind, "key": k, "call": call, "return": ret}
                if kind == "put":
                    rec["value"] = v
                elif kind == "cas":
                    rec["old"], rec["new"] = rng.choice([None, "0", "1", "2"]), v
                events.append((effect, c, rec))
                t[c] = ret + 1
        state = {}
        for _, _, rec in sorted(events, key=lambda e: e[0]):
            cur = state.get(rec["key"])
            if rec["op"] == "put":
                state[rec["key"]] = rec["value"]
            elif rec["op"] == "get":
                rec["result"] = cur
            else:
                rec["ok"], rec["result"] = cur == rec["old"], cur
                if rec["ok"]:
                    state[rec["key"]] = rec["new"]
        return [rec for _, _, rec in events]

    def test_simulated_histories_are_linearizable(self):
        for seed in range(20):
            with self.subTest(seed=seed):
                v, report = verdict(self.simulate(seed))
                self.assertIs(v, True, report)

    def test_a_planted_stale_read_is_caught(self):
        caught = 0
        for seed in range(20):
            h = self.simulate(seed)
            puts = [r for r in h if r["op"] == "put"]
            # A read that starts after two puts of distinct values to its key
            # completed, one after the other, returning the older value.
            for r in h:
                if r["op"] != "get":
                    continue
                done = sorted((p for p in puts if p["key"] == r["key"] and p["return"] < r["call"]),
                              key=lambda p: p["return"])
                pairs = [(p, q) for p in done for q in done
                         if p["return"] < q["call"] and p["value"] != q["value"]]
                # q must be the last write that could matter: no other write to
                # the key overlaps or follows q before the read ends.
                pairs = [(p, q) for p, q in pairs
                         if not any(o is not q and o["key"] == r["key"] and o["op"] != "get"
                                    and o["return"] > q["call"] and o["call"] < r["return"] for o in h)]
                if pairs:
                    p, q = pairs[-1]
                    r["result"] = p["value"]
                    v, _ = verdict(h)
                    self.assertIs(v, False, f"seed {seed}: stale read of {p['value']!r} not caught")
                    caught += 1
                    break
        self.assertGreater(caught, 3)


class CommandLine(unittest.TestCase):
    def run_cli(self, recs, *extra):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
            path = f.name
        try:
            return subprocess.run([sys.executable, lin.__file__, path, *extra], capture_output=True, text=True)
        finally:
            os.unlink(path)

    def test_exit_codes(self):
        ok = self.run_cli([put(0, "x", "1", 0, 1), get(1, "x", "1", 2, 3)])
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertIn("linearizable: yes (2 ops", ok.stdout)
        bad = self.run_cli([put(0, "x", "1", 0, 1), get(1, "x", None, 2, 3)])
        self.assertEqual(bad.returncode, 1)
        self.assertIn("linearizable: NO", bad.stdout)
        self.assertIn("client 1 get() [2, 3] returned None", bad.stdout)

    def test_bad_input_is_one_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write('{"op": "put", "key": "x", "call": 0}\nnot json\n')
            path = f.name
        try:
            r = subprocess.run([sys.executable, lin.__file__, path], capture_output=True, text=True)
        finally:
            os.unlink(path)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"line 2: not JSON")
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)

    def test_search_limit_is_reported(self):
        h = [put(c, "x", str(c), 0, 100) for c in range(12)] + [get(0, "x", "nope", 101, 102)]
        r = self.run_cli(h, "--max-steps", "50")
        self.assertEqual(r.returncode, 3, r.stdout)
        self.assertIn("search limit", r.stdout)


if __name__ == "__main__":
    unittest.main()
