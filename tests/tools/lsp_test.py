#!/usr/bin/env python3
"""lsp_test.py: drives `psyncc lsp` as an editor would, over real JSON-RPC
framing (Content-Length headers) on its stdin and stdout, and checks every
answer: initialize, diagnostics on didOpen and on a didChange that fixes
them, hover with types, go to definition (in the file and into the stdlib),
document symbols, formatting, and malformed traffic (bad JSON, bad headers,
unknown methods, wrong params) that must get error responses while the
server keeps serving. Then shutdown and exit. Every read has a deadline, so
a hung server fails the test instead of hanging it.

usage: lsp_test.py PSYNCC STDLIB_DIR
"""
import json
import os
import select
import subprocess
import sys
import time

PSYNCC, STDLIB = sys.argv[1], os.path.abspath(sys.argv[2])
TIMEOUT = 20.0
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


class Client:
    def __init__(self, extra_args=()):
        env = dict(os.environ, PSYNC_STDLIB=STDLIB)
        self.proc = subprocess.Popen([PSYNCC, "lsp", *extra_args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.buf = b""
        self.next_id = 1
        self.notifications = []

    def send_raw(self, data: bytes):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def request(self, method, params=None):
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return self.wait_response(rid)

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def read_message(self, deadline):
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end >= 0:
                headers = self.buf[:head_end].decode().split("\r\n")
                length = None
                for h in headers:
                    name, _, value = h.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                assert length is not None, "server sent a frame without Content-Length: %r" % headers
                start = head_end + 4
                if len(self.buf) >= start + length:
                    body = self.buf[start:start + length]
                    self.buf = self.buf[start + length:]
                    return json.loads(body)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from the server in time")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise EOFError("the server closed its output (exit status %s)" % self.proc.poll())
            self.buf += chunk

    def wait_response(self, rid):
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = self.read_message(deadline)
            if "method" in msg and "id" not in msg:
                self.notifications.append(msg)
                continue
            if msg.get("id") == rid:
                return msg
            raise AssertionError("unexpected message %r while waiting for id %r" % (msg, rid))

    def wait_error_response(self):
        """The next response, which must carry an error (malformed input has no id to match)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = self.read_message(deadline)
            if "method" in msg and "id" not in msg:
                self.notifications.append(msg)
                continue
            return msg

    def wait_notification(self, method, uri=None):
        deadline = time.monotonic() + TIMEOUT
        while True:
            for i, n in enumerate(self.notifications):
                if n["method"] == method and (uri is None or n["params"].get("uri") == uri):
                    return self.notifications.pop(i)
            msg = self.read_message(deadline)
            if "id" in msg:
                raise AssertionError("unexpected response %r while waiting for %s" % (msg, method))
            self.notifications.append(msg)

    def wait_exit(self):
        try:
            return self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def pos(text, line_no, needle, nth=0):
    """LSP position (UTF-16) of the nth `needle` on 0-based line `line_no`."""
    line = text.split("\n")[line_no]
    col = -1
    for _ in range(nth + 1):
        col = line.index(needle, col + 1)
    return {"line": line_no, "character": len(line[:col].encode("utf-16-le")) // 2}


def line_of(text, needle):
    return next(i for i, l in enumerate(text.split("\n")) if needle in l)


URI = "file:///tmp/psync-lsp-test/otr.psync"
BROKEN = """protocol Broken
import consensus
import quorum

var x: int = init
var flag: bool = 3

round exchange {
  send x to all
  update(mbox) {
    x = mbox.min_most_frequent() + undefined_name
  }
}
"""
# A non-ASCII comment before the code: UTF-16 columns differ from bytes.
FIXED = """protocol Fixed
import consensus
import quorum

/// é∀ — estimates 🙂 (non-ASCII text shifts UTF-16 columns)
var x: int = init
var flag: bool = true
let coord: pid = phase % n

round exchange {
  var seen: int = 0
  send x to all
  update(mbox) {  /* 🙂 */ if majority(mbox.size) { x = mbox.min_most_frequent() }
    seen = mbox.size + seen
  }
}

round second {
  send (x, flag) to coord
  update(mbox) { if mbox.has(coord) { decide(mbox[coord].0) } }
}

invariant small: forall p: p.x >= 0 || !p.flag
liveness termination: after 4 rounds where uniform: forall p: p.decided
"""


def main():
    c = Client()

    # ---- lifecycle: requests before initialize are refused
    r = c.request("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}})
    check(r.get("error", {}).get("code") == -32002, "a request before initialize gets ServerNotInitialized")

    r = c.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": {}})
    caps = r["result"]["capabilities"]
    check(caps.get("hoverProvider") and caps.get("definitionProvider") and caps.get("documentSymbolProvider"),
          "initialize announces hover, definition and document symbols")
    check(caps.get("positionEncoding") == "utf-16" and caps["textDocumentSync"]["change"] == 2,
          "positions in UTF-16 by default, incremental sync")
    check(r["result"]["serverInfo"]["name"] == "psyncc", "serverInfo names psyncc")
    r = c.request("initialize", {"capabilities": {}})
    check(r.get("error", {}).get("code") == -32600, "a second initialize is an invalid request")
    c.notify("initialized", {})

    # ---- diagnostics on open, from the real front end
    c.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "psync", "version": 1, "text": BROKEN}})
    diags = c.wait_notification("textDocument/publishDiagnostics", URI)["params"]
    codes = sorted(d["code"] for d in diags["diagnostics"] if d["severity"] == 1)
    check(diags["version"] == 1 and codes == ["type-mismatch", "undeclared-name"],
          "didOpen publishes both errors of the file (got %s)" % codes)
    warnings = [d["code"] for d in diags["diagnostics"] if d["severity"] == 2]
    check(warnings == ["unused-variable"], "... and the warning, with severity 2 (got %s)" % warnings)
    undeclared = next(d for d in diags["diagnostics"] if d["code"] == "undeclared-name")
    want = pos(BROKEN, line_of(BROKEN, "undefined_name"), "undefined_name")
    check(undeclared["range"]["start"] == want and undeclared["severity"] == 1 and undeclared["source"] == "psyncc",
          "the undeclared name is reported at its position, as an error")
    check("undefined_name" in undeclared["message"], "the message names the undeclared name")

    # ---- an incremental change, then a full change that fixes everything
    line = line_of(BROKEN, "undefined_name")
    start = pos(BROKEN, line, " + undefined_name")
    end = {"line": line, "character": start["character"] + len(" + undefined_name")}
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 2},
                                        "contentChanges": [{"range": {"start": start, "end": end}, "text": ""}]})
    diags = c.wait_notification("textDocument/publishDiagnostics", URI)["params"]
    check(diags["version"] == 2 and [d["code"] for d in diags["diagnostics"] if d["severity"] == 1] == ["type-mismatch"],
          "an incremental edit removing the bad name leaves one error")
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": FIXED}]})
    diags = c.wait_notification("textDocument/publishDiagnostics", URI)["params"]
    check(diags["version"] == 3 and diags["diagnostics"] == [], "didChange with the fixed text clears the diagnostics")

    td = {"uri": URI}

    def hover(line_needle, needle, nth=0):
        r = c.request("textDocument/hover", {"textDocument": td, "position": pos(FIXED, line_of(FIXED, line_needle), needle, nth)})
        return r.get("result")

    # ---- hover: the type of the expression under the cursor
    h = hover("seen = mbox.size", "size")
    check(h and "mbox.size: int" in h["contents"]["value"], "hover on mbox.size shows int (%r)" % (h,))
    h = hover("seen = mbox.size", "mbox")
    check(h and "mailbox" in h["contents"]["value"], "hover on mbox shows the mailbox (%r)" % (h,))
    h = hover("update(mbox) {  /*", "x =")
    check(h and "var x: int" in h["contents"]["value"], "hover after non-ASCII text finds x: UTF-16 columns (%r)" % (h,))
    h = hover("update(mbox) {  /*", "majority")
    check(h and "fn majority(k: int): bool" in h["contents"]["value"], "hover on a stdlib fn call shows its signature")
    h = hover("decide(mbox[coord].0)", "mbox[coord]")
    check(h and "(int, bool)" in h["contents"]["value"], "hover on mbox[coord] shows the message type (int, bool)")
    h = hover("let coord", "phase")
    check(h and "phase: int" in h["contents"]["value"], "hover on the built-in phase shows int")
    h = hover("invariant small", "flag")
    check(h and "bool" in h["contents"]["value"], "hover on p.flag in a spec shows bool")
    r = c.request("textDocument/hover", {"textDocument": td, "position": {"line": line_of(FIXED, "round second") - 1, "character": 0}})
    check("result" in r and r["result"] is None, "hover on a blank line is null")

    # ---- go to definition
    def definition(line_needle, needle, nth=0):
        return c.request("textDocument/definition",
                         {"textDocument": td, "position": pos(FIXED, line_of(FIXED, line_needle), needle, nth)}).get("result")

    d = definition("seen = mbox.size", "seen")
    check(d and d["uri"] == URI and d["range"]["start"] == pos(FIXED, line_of(FIXED, "var seen"), "seen"),
          "definition of a round variable is its declaration")
    d = definition("send (x, flag) to coord", "coord")
    check(d and d["range"]["start"] == pos(FIXED, line_of(FIXED, "let coord"), "coord"), "definition of a let")
    d = definition("update(mbox) {  /*", "majority")
    check(d and d["uri"].endswith("/stdlib/quorum.psync") and d["range"]["start"]["line"] > 0,
          "definition of a stdlib fn is in stdlib/quorum.psync (%r)" % (d,))
    d = definition("import quorum", "quorum")
    check(d and d["uri"].endswith("/stdlib/quorum.psync"), "definition of an import is the module file")
    d = definition("var x: int = init", "init")
    check(d and d["uri"].endswith("/stdlib/consensus.psync"), "definition of an imported input")
    d = definition("let coord", "phase")
    check(d is None, "a built-in has no definition")

    # ---- document symbols
    r = c.request("textDocument/documentSymbol", {"textDocument": td})["result"]
    names = [(s["name"], s["kind"]) for s in r]
    check(names == [("x", 13), ("flag", 13), ("coord", 13), ("exchange", 6), ("second", 6),
                    ("small", 7), ("termination", 7)],
          "symbols: vars, lets, rounds and specs in source order, nothing imported (%r)" % names)
    exchange = r[3]
    check([ch["name"] for ch in exchange["children"]] == ["seen", "update(mbox)"], "a round lists its var and its handler")
    check(all(s["range"]["start"]["line"] <= s["selectionRange"]["start"]["line"] for s in r),
          "every symbol's range contains its name")

    # ---- formatting
    r = c.request("textDocument/formatting", {"textDocument": td, "options": {"tabSize": 2, "insertSpaces": True}})
    edits = r["result"]
    check(len(edits) == 1 and "update(mbox) {  /* 🙂 */\n    if majority" in edits[0]["newText"],
          "formatting returns the formatted text as one edit")

    # ---- malformed traffic: each gets an error response, the server keeps going
    c.send_raw(b"Content-Length: 12\r\n\r\n{not json!!}")
    r = c.wait_error_response()
    check(r.get("id") is None and r["error"]["code"] == -32700, "bad JSON gets ParseError with id null")
    c.send_raw(b"Content-Length: abc\r\n\r\n")
    r = c.wait_error_response()
    check(r.get("id") is None and r["error"]["code"] == -32700 and "Content-Length" in r["error"]["message"],
          "a non-numeric Content-Length gets ParseError")
    c.send_raw(b"Content-Type: application/json\r\n\r\n")
    r = c.wait_error_response()
    check(r["error"]["code"] == -32700 and "no Content-Length" in r["error"]["message"], "a header without Content-Length")
    c.send_raw(b"Content-Length: 99999999999999\r\n\r\n")
    r = c.wait_error_response()
    check(r["error"]["code"] == -32700, "an absurd Content-Length is refused, not allocated")
    # The rest of a bad frame runs into the next header: the reader resynchronises.
    body = json.dumps({"jsonrpc": "2.0", "id": 900, "method": "textDocument/documentSymbol", "params": {"textDocument": td}}).encode()
    c.send_raw(b"garbage without colon\r\nContent-Length: x\r\n\r\n{\"half\": " + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    r = c.wait_error_response()
    check(r["error"]["code"] == -32700, "a bad frame followed by a good one: error for the bad one")
    r = c.wait_response(900)
    check("result" in r and len(r["result"]) == 7, "... and the good one is answered")
    c.send({"jsonrpc": "2.0", "id": 901, "method": "textDocument/unknownThing", "params": {}})
    r = c.wait_response(901)
    check(r["error"]["code"] == -32601, "an unknown method gets MethodNotFound with its id")
    c.send({"jsonrpc": "2.0", "method": "workspace/unknownNotification", "params": {}})
    c.send({"jsonrpc": "2.0", "id": 902, "method": "textDocument/hover", "params": {"textDocument": td}})
    r = c.wait_response(902)
    check(r["error"]["code"] == -32602 and "position" in r["error"]["message"],
          "hover without a position gets InvalidParams (and the unknown notification before it was ignored)")
    c.send({"jsonrpc": "2.0", "id": 903, "method": "textDocument/hover",
            "params": {"textDocument": td, "position": {"line": "one", "character": -4}}})
    check(c.wait_response(903)["error"]["code"] == -32602, "a position of the wrong type gets InvalidParams")
    c.send({"jsonrpc": "2.0", "id": 904, "method": "textDocument/definition",
            "params": {"textDocument": {"uri": "file:///not/open.psync"}, "position": {"line": 0, "character": 0}}})
    check(c.wait_response(904)["error"]["code"] == -32602, "a request on a document that is not open gets InvalidParams")
    c.send({"jsonrpc": "2.0", "id": 905, "method": "textDocument/hover", "params": "a string"})
    check(c.wait_response(905)["error"]["code"] == -32600, "params that are not structured get InvalidRequest")
    c.send({"id": 906, "method": "shutdown"})
    check(c.wait_response(906)["error"]["code"] == -32600, "a message without jsonrpc 2.0 gets InvalidRequest")
    c.send({"jsonrpc": "2.0", "id": {"nested": 1}, "method": "shutdown"})
    r = c.wait_error_response()
    check(r.get("id") is None and r["error"]["code"] == -32600, "an id that is an object gets InvalidRequest")
    c.send([{"jsonrpc": "2.0", "id": 907, "method": "shutdown"}])
    r = c.wait_error_response()
    check(r["error"]["code"] == -32600, "a batch (array) gets InvalidRequest")
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 9},
                                        "contentChanges": [{"range": {"start": {"line": 0}}, "text": 5}]})
    log = c.wait_notification("window/logMessage")
    check(log["params"]["type"] == 1, "a malformed notification is logged (window/logMessage), not answered")
    r = c.request("textDocument/documentSymbol", {"textDocument": td})
    check(len(r["result"]) == 7, "... and left the document as it was")
    # A document with syntax errors: diagnostics, symbols of what parsed, no formatting.
    c.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 10},
                                        "contentChanges": [{"text": FIXED.replace("send x to all", "send x to")}]})
    diags = c.wait_notification("textDocument/publishDiagnostics", URI)["params"]["diagnostics"]
    check([d["code"] for d in diags] == ["syntax-error"], "a syntax error is published")
    r = c.request("textDocument/formatting", {"textDocument": td, "options": {}})
    check(r["error"]["code"] == -32803, "formatting a file with syntax errors fails with RequestFailed")
    r = c.request("textDocument/hover", {"textDocument": td, "position": pos(FIXED, line_of(FIXED, "decide(mbox"), "mbox[")})
    check(r["result"] and "(int, bool)" in r["result"]["contents"]["value"], "hover still works in the rounds that parsed")

    # ---- a module is edited without the "not a protocol" error
    murI = "file://" + os.path.join(STDLIB, "quorum.psync")
    with open(os.path.join(STDLIB, "quorum.psync")) as f:
        c.notify("textDocument/didOpen", {"textDocument": {"uri": murI, "languageId": "psync", "version": 1, "text": f.read()}})
    diags = c.wait_notification("textDocument/publishDiagnostics", murI)["params"]["diagnostics"]
    check(diags == [], "a stdlib module opens without diagnostics (%r)" % diags)
    c.notify("textDocument/didClose", {"textDocument": {"uri": murI}})
    check(c.wait_notification("textDocument/publishDiagnostics", murI)["params"]["diagnostics"] == [],
          "didClose clears the document's diagnostics")

    # ---- shutdown, then exit
    r = c.request("shutdown")
    check("result" in r and r["result"] is None, "shutdown answers null")
    r = c.request("textDocument/documentSymbol", {"textDocument": td})
    check(r["error"]["code"] == -32600, "a request after shutdown gets InvalidRequest")
    c.notify("exit", None)
    check(c.wait_exit() == 0, "exit after shutdown ends the server with status 0")

    # ---- exit without shutdown is status 1; end of input ends the server
    c = Client(["--stdio"])
    c.request("initialize", {"capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}}})
    c.notify("exit", None)
    check(c.wait_exit() == 1, "exit without shutdown ends the server with status 1")
    c = Client()
    c.proc.stdin.close()
    check(c.wait_exit() == 1, "end of input ends the server (status 1, no shutdown)")
    c = Client()
    c.send_raw(b"Content-Length: 40\r\n\r\n{\"jsonrpc\"")
    c.proc.stdin.close()
    check(c.wait_exit() == 1, "input that ends inside a body ends the server")

    # ---- UTF-8 positions when the client offers them
    c = Client()
    r = c.request("initialize", {"capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}}})
    check(r["result"]["capabilities"]["positionEncoding"] == "utf-8", "the server picks utf-8 when offered")
    c.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "psync", "version": 1, "text": FIXED}})
    c.wait_notification("textDocument/publishDiagnostics", URI)
    line = line_of(FIXED, "update(mbox) {  /*")
    text_line = FIXED.split("\n")[line]
    byte_col = len(text_line[:text_line.index("x =")].encode())
    r = c.request("textDocument/hover", {"textDocument": td, "position": {"line": line, "character": byte_col}})
    check(r["result"] and "var x: int" in r["result"]["contents"]["value"], "hover with UTF-8 columns")
    c.request("shutdown")
    c.notify("exit", None)
    check(c.wait_exit() == 0, "second server exits cleanly")

    if failures:
        print("%d checks failed" % len(failures))
        sys.exit(1)
    print("all LSP checks passed")


if __name__ == "__main__":
    main()
