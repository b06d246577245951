#!/usr/bin/env python3
"""test_http.py: `psyncc explore` over its HTTP API, as a real process on
loopback: the page and its assets, three rounds of OneThirdRule, undo, a
chosen heard-of set, the replay of a counterexample from `psyncc check
--trace-json`, bad requests (4xx with a message, the server keeps serving)
and a clean exit on SIGTERM.

usage: test_http.py PSYNCC SOURCE_DIR WORK_DIR"""
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from explorer import Explorer, write_trace  # noqa: E402


def states(view):
    return [p["vars"] for p in (view["rounds"][-1]["after"] if view["rounds"] else view["initial"])]


def spec(view, name):
    return next(s for s in view["specs"] if s["name"] == name)


def raw(port, data, read_all=True):
    """Sends raw bytes; returns the status line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(data)
        answer = b""
        while read_all:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer.split(b"\r\n", 1)[0].decode(), answer


def test_one_third_rule(psyncc, src):
    ex = Explorer(psyncc, os.path.join(src, "examples/one_third_rule.psync"), 3)
    try:
        status, ctype, body = ex.request("GET", "/")
        assert status == 200 and ctype.startswith("text/html") and b"<title>psync explorer</title>" in body, (status, ctype)
        for path, kind in (("/app.js", "text/javascript"), ("/style.css", "text/css"), ("/index.html", "text/html")):
            status, ctype, body = ex.request("GET", path)
            assert status == 200 and ctype.startswith(kind) and len(body) > 100, (path, status, ctype)

        v = ex.get_json("/api/state")
        assert v["protocol"] == "OneThirdRule" and v["n"] == 3 and v["round"] == 0, v
        assert v["inputs"] == [[0], [1], [0]], v["inputs"]
        assert states(v) == ["init=0 decided=false decision=0 x=0", "init=1 decided=false decision=0 x=1",
                             "init=0 decided=false decision=0 x=0"], states(v)
        assert v["feasible"][0][0] == [0, 1, 2], v["feasible"]

        # Three rounds, all hear all: round 0 adopts 0 (two of three), round 1 decides it.
        v = ex.post_ok("/api/step", {})
        assert v["round"] == 1 and all("x=0" in s and "decided=false" in s for s in states(v)), states(v)
        assert v["rounds"][0]["ho"] == [[0, 1, 2]] * 3
        assert len(v["rounds"][0]["messages"]) == 9 and all(m["delivered"] for m in v["rounds"][0]["messages"])
        # Payloads are printed from the message type, as counterexamples print them.
        assert {(m["from"], m["value"]) for m in v["rounds"][0]["messages"]} == {(0, "0"), (1, "1"), (2, "0")}, \
            v["rounds"][0]["messages"]
        v = ex.post_ok("/api/step", {"ho": None})
        assert v["round"] == 2 and all("decided=true decision=0" in s for s in states(v)), states(v)
        v = ex.post_ok("/api/step", {"ho": [None, None, None]})
        assert v["round"] == 3, v["round"]
        assert all(p["decided"] and not p["conflict"] for p in v["rounds"][-1]["after"])
        assert all("decided=true decision=0 x=0" in s for s in states(v)), states(v)
        for name in ("agreement", "validity"):
            assert spec(v, name)["status"] == "holds", v["specs"]
        assert spec(v, "termination")["status"] == "not judged"

        # Undo twice, then a round where p1 hears only p0: it keeps x=1.
        v = ex.post_ok("/api/undo")
        assert v["round"] == 2 and len(v["rounds"]) == 2
        v = ex.post_ok("/api/undo")
        v = ex.post_ok("/api/undo")
        assert v["round"] == 0 and not v["can_undo"]
        status, err = ex.post("/api/undo")
        assert status == 400 and "nothing to undo" in err["error"], err
        v = ex.post_ok("/api/step", {"ho": [[0, 1, 2], [0], [0, 1, 2]]})
        assert v["rounds"][0]["ho"] == [[0, 1, 2], [0], [0, 1, 2]]
        assert states(v)[1] == "init=1 decided=false decision=0 x=1", states(v)
        assert [m["delivered"] for m in v["rounds"][0]["messages"] if m["to"] == 1] == [True, False, False]

        # Other inputs: all 1, all hear all: they decide 1 in one round.
        v = ex.post_ok("/api/reset", {"inputs": [[1], [1], [1]]})
        assert v["round"] == 0 and v["inputs"] == [[1], [1], [1]]
        v = ex.post_ok("/api/step")
        assert all("decided=true decision=1" in s for s in states(v)), states(v)

        # Bad requests: a 4xx with a reason, the session unchanged.
        bad = [
            ("/api/step", b"not json", 400, "not JSON"),
            ("/api/step", b'{"ho": 5}', 400, "ho: expected an array of 3"),
            ("/api/step", b'{"ho": [[0], [7], null]}', 400, "out of range"),
            ("/api/step", b'{"ho": [["a"], null, null]}', 400, "list of process ids"),
            ("/api/step", b'{"pick": [0, 5, 0]}', 400, "has 1 outcome"),
            ("/api/step", b'{"pick": [-1, 0, 0]}', 400, "non-negative"),
            ("/api/step", b"[1,2]", 400, "expected a JSON object"),
            ("/api/reset", b'{"inputs": [[0], [9], [0]]}', 400, "outside 0..1"),
            ("/api/reset", b'{"inputs": [[0]]}', 400, "3 arrays"),
            ("/api/replay", b"{}", 400, "no trace loaded"),
            ("/api/trace", b'{"protocol": "Other", "n": 3}', 400, "of protocol Other"),
            ("/api/trace", b'{"protocol": "OneThirdRule", "n": 4}', 400, "n = 4"),
            ("/api/trace", b'{"protocol": "OneThirdRule", "n": 3}', 400, "not a trace"),
            ("/api/trace", b"17", 400, "a trace is a JSON object"),
            ("/api/nothing", b"{}", 404, "no endpoint"),
        ]
        for path, data, want, words in bad:
            status, ctype, body = ex.request("POST", path, raw_body=data)
            assert status == want and words in json.loads(body)["error"], (path, data, status, body)
        status, _, body = ex.request("GET", "/api/step")
        assert status == 405, (status, body)
        status, _, body = ex.request("POST", "/api/state", raw_body=b"{}")
        assert status == 405, (status, body)
        status, _, body = ex.request("GET", "/../../etc/passwd")
        assert status == 404, (status, body)
        # Only this machine, only JSON: another Host (DNS rebinding) or a form POST is refused.
        status, _, body = ex.request("GET", "/api/state", headers={"Host": "evil.example:80"})
        assert status == 403 and b"Host must be" in body, (status, body)
        status, _, body = ex.request("GET", "/", headers={"Host": f"localhost:{ex.port}"})
        assert status == 200, status
        status, _, body = ex.request("POST", "/api/step", raw_body=b"ho=1",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 415, (status, body)
        status, _, body = ex.request("POST", "/api/step", raw_body=b"{}", headers={"Content-Type": "text/plain"})
        assert status == 415, (status, body)
        # Size limits and malformed HTTP, on raw sockets.
        line, _ = raw(ex.port, b"POST /api/step HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")
        assert line.startswith("HTTP/1.1 413"), line
        line, _ = raw(ex.port, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        assert line.startswith("HTTP/1.1 431"), line
        line, _ = raw(ex.port, b"garbage\r\n\r\n")
        assert line.startswith("HTTP/1.1 400"), line
        line, _ = raw(ex.port, b"POST /api/step HTTP/1.1\r\nContent-Length: 12x\r\n\r\n")
        assert line.startswith("HTTP/1.1 400"), line
        line, _ = raw(ex.port, b"POST /api/step HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        assert line.startswith("HTTP/1.1 501"), line
        line, _ = raw(ex.port, b"POST /api/step HTTP/1.1\r\n\r\n")
        assert line.startswith("HTTP/1.1 411"), line
        # A client that connects and goes away, and one that sends half a request.
        socket.create_connection(("127.0.0.1", ex.port), timeout=5).close()
        s = socket.create_connection(("127.0.0.1", ex.port), timeout=5)
        s.sendall(b"POST /api/step HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
        s.close()
        v = ex.get_json("/api/state")
        assert v["round"] == 1 and all("decision=1" in s for s in states(v)), "a bad request changed the session"

        assert ex.terminate() == 0, "SIGTERM must end psyncc explore with status 0"
    finally:
        ex.stop()


def test_replay(psyncc, src, work):
    """A counterexample of a broken protocol, replayed round by round."""
    source = os.path.join(src, "tests/check/psync/otr_half_threshold.psync")
    path = os.path.join(work, "otr_half_threshold.trace.json")
    trace = write_trace(psyncc, source, 3, path)
    ex = Explorer(psyncc, source, 3)
    try:
        with open(path, "rb") as f:
            status, _, body = ex.request("POST", "/api/trace", raw_body=f.read())
        assert status == 200, body
        v = json.loads(body)
        assert v["round"] == 0 and v["replay"]["total"] == len(trace["rounds"]) and v["replay"]["next"] == 0, v["replay"]
        assert v["replay"]["spec"] == "agreement" and not v["replay"]["initial_mismatches"], v["replay"]
        assert v["inputs"] == trace["inputs"]
        for k, tr in enumerate(trace["rounds"]):
            v = ex.post_ok("/api/replay")
            r = v["rounds"][k]
            assert r["from_replay"] and not r["mismatches"], r
            assert r["ho"] == tr["ho"] and [p["vars"] for p in r["after"]] == [p["vars"] for p in tr["after"]], (r, tr)
        assert spec(v, "agreement")["status"] == "violated" and spec(v, "agreement")["at_round"] == len(trace["rounds"])
        status, err = ex.post("/api/replay")
        assert status == 400 and "complete" in err["error"], err
        # Undo, step by hand, and the replay refuses to go on until undone.
        ex.post_ok("/api/undo")
        ex.post_ok("/api/step")
        status, err = ex.post("/api/replay")
        assert status == 400 and "by hand" in err["error"], err
        v = ex.post_ok("/api/undo")
        assert v["replay"]["on_track"]
        v = ex.post_ok("/api/replay")
        assert spec(v, "agreement")["status"] == "violated"
        assert ex.terminate() == 0
    finally:
        ex.stop()


def test_simulate_trace(psyncc, src, work):
    """A run of `simulate --crash` (seeded), replayed: crashed processes
    neither update nor send any more, as in the simulator."""
    source = os.path.join(src, "tests/check/psync/otr_half_threshold.psync")
    path = os.path.join(work, "otr_half_threshold.simulate.json")
    r = subprocess.run([psyncc, "simulate", source, "-n", "3", "--runs", "2000", "--seed", "1", "--crash", "0.1",
                        "--trace-json", path], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    with open(path) as f:
        trace = json.load(f)
    assert any(p["crashed"] for rd in trace["rounds"] for p in rd["after"]), "seed 1 no longer crashes a process"
    ex = Explorer(psyncc, source, 3)
    try:
        ex.post_ok("/api/trace", trace)
        for _ in trace["rounds"]:
            v = ex.post_ok("/api/replay")
        for mine, theirs in zip(v["rounds"], trace["rounds"]):
            assert not mine["mismatches"], mine["mismatches"]
            assert [(p["vars"], p["crashed"]) for p in mine["after"]] == [(p["vars"], p["crashed"]) for p in theirs["after"]]
        assert spec(v, "agreement")["status"] == "violated"
        # By hand: p1 crashes in round 0; it sends that round, never after.
        ex.post_ok("/api/reset")
        v = ex.post_ok("/api/step", {"crash": [1]})
        assert v["rounds"][0]["after"][1]["crashed"] and v["rounds"][0]["ho"][1] == []
        assert states(v)[1] == "init=1 decided=false decision=0 x=1", states(v)
        assert len(v["rounds"][0]["messages"]) == 9 and v["feasible"][1] == []
        v = ex.post_ok("/api/step")
        assert len(v["rounds"][1]["messages"]) == 6 and all(m["from"] != 1 for m in v["rounds"][1]["messages"])
        assert v["rounds"][1]["ho"] == [[0, 2], [], [0, 2]], v["rounds"][1]["ho"]
        status, err = ex.post("/api/step", {"crash": [5]})
        assert status == 400 and "crash:" in err["error"], err
        assert ex.terminate() == 0
    finally:
        ex.stop()


def test_go_when(psyncc, src):
    """A round that closes on two messages: not every heard set is possible."""
    ex = Explorer(psyncc, os.path.join(src, "tests/check/psync/go_when_closes.psync"), 3, "-w")
    try:
        v = ex.get_json("/api/state")
        assert [0, 1, 2] not in v["feasible"][0] and [0, 1] in v["feasible"][0], v["feasible"]
        status, err = ex.post("/api/step", {"ho": [[0, 1, 2], None, None]})
        assert status == 400 and "p0 cannot end round 0 having heard exactly {0,1,2}" in err["error"], err
        assert "{0,1}" in err["error"], err
        # null: the largest set each can end with, its own message first.
        v = ex.post_ok("/api/step", {"ho": None})
        assert v["rounds"][0]["ho"] == [[0, 1], [0, 1], [0, 2]], v["rounds"][0]["ho"]
        assert "heard={0, 1}" in states(v)[0], states(v)
        v = ex.post_ok("/api/step", {"ho": [[1, 2], [], None]})
        assert v["rounds"][1]["ho"] == [[1, 2], [], [0, 2]], v["rounds"][1]["ho"]
        assert ex.terminate() == 0
    finally:
        ex.stop()


def test_command_line(psyncc, src):
    """Usage errors: one line on stderr, exit 2, no URL."""
    otr = os.path.join(src, "examples/one_third_rule.psync")
    cases = [
        ([otr, "-n", "3", "--port", "70000"], "--port"),
        ([os.path.join(src, "no/such.psync"), "-n", "3"], "cannot open"),
        ([otr, "-n", "3", "--const", "nope=1"], "no const named"),
        ([otr, "-n", "3", "--values", "5..1"], "bad --values"),
        ([otr], "-n"),
    ]
    for args, words in cases:
        r = subprocess.run([psyncc, "explore", *args], capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and words in r.stderr and r.stdout == "", (args, r.returncode, r.stdout, r.stderr)
    # A port already taken.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = subprocess.run([psyncc, "explore", otr, "-n", "3", "--port", str(s.getsockname()[1])],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and "cannot listen on 127.0.0.1:" in r.stderr, (r.returncode, r.stderr)


def main():
    psyncc, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    test_one_third_rule(psyncc, src)
    test_replay(psyncc, src, work)
    test_simulate_trace(psyncc, src, work)
    test_go_when(psyncc, src)
    test_command_line(psyncc, src)
    print("explore http: ok")


if __name__ == "__main__":
    main()
