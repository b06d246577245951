#!/usr/bin/env python3
"""Checks the psync examples of docs/language.md against psyncc.

Usage: check_doc.py PSYNCC [DOC] [--sources DIR]

Every ```psync block of DOC must be preceded, on the line just before its
fence, by one of
  <!-- check: CONTEXT -->            the block must type-check (warnings allowed)
  <!-- check: CONTEXT error=ID -->   psyncc must exit 1 and report [ID]
CONTEXT says how the block is wrapped into a file:
  file         the block is a complete file
  module       the block is a module, imported by a one-line protocol
  decls        the block follows `protocol Doc`; a round that sends 0 to
               all is added when the block declares none
  update       the body of update(mbox) of a round that sends x (an int)
  update-pair  the same, sending (x, ts): mbox is a mailbox<(int, int)>
  receive      the body of receive(sender, m) in an event round with a
               round variable `count: int`
  spec         specifications, after a `let coord: pid = phase % n` and a round
update, update-pair, receive and spec follow the declarations of PRELUDE,
which the page shows in its introduction.

With --sources (the repository root), the test also checks that every
diagnostic id reported by compiler/ has a row in the page's id table
(section "Diagnostic ids"), so that a new id cannot go undocumented.

Exit status 0 when every block behaves as marked.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

PRELUDE = """protocol Doc
input init: int
output decision: int
var x: int = init
var ts: int = -1
var s: set<pid> = pids
var votes: [int; n] = [0; n]
var best: int? = none
var flag: bool = false
"""

MARK = re.compile(r"<!-- check: ([a-z-]+)(?: error=([a-z0-9-]+))? -->")
CONTEXTS = {"file", "module", "decls", "update", "update-pair", "receive", "spec"}


def indent(body, pad):
    return "".join(pad + line + "\n" for line in body.splitlines())


def wrap(ctx, body):
    if ctx == "file":
        return body
    if ctx == "decls":
        text = "protocol Doc\n" + body
        if not re.search(r"^\s*round\s", body, re.M):
            text += "\nround doc_round {\n  send 0 to all\n  update(mbox) { }\n}\n"
        return text
    if ctx in ("update", "update-pair"):
        msg = "x" if ctx == "update" else "(x, ts)"
        return PRELUDE + "round doc_round {\n  send %s to all\n  update(mbox) {\n%s  }\n}\n" % (
            msg, indent(body, "    "))
    if ctx == "receive":
        return PRELUDE + ("round doc_round {\n  var count: int = 0\n  send x to all\n"
                          "  receive(sender, m) {\n%s  }\n}\n") % indent(body, "    ")
    if ctx == "spec":
        return (PRELUDE + "let coord: pid = phase % n\n"
                "round doc_round {\n  send x to all\n  update(mbox) { x = mbox.size }\n}\n" + body)
    raise ValueError(ctx)


def blocks(lines):
    """Yields (line number of the fence, marker match or None, body)."""
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```psync":
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            m = MARK.fullmatch(lines[i - 1].strip()) if i else None
            yield i + 1, m, "\n".join(lines[i + 1:j]) + "\n"
            i = j
        i += 1


def check_blocks(psyncc, doc, scratch):
    lines = open(doc, encoding="utf-8").read().split("\n")
    ok = failed = 0
    for line, m, body in blocks(lines):
        where = "%s:%d" % (os.path.relpath(doc), line)
        if not m or m.group(1) not in CONTEXTS:
            print("%s: psync block without a valid <!-- check: CONTEXT [error=ID] --> line before it" % where)
            failed += 1
            continue
        ctx, want = m.group(1), m.group(2)
        extra = []
        if ctx == "module":
            name = re.search(r"^module (\w+)", body, re.M)
            if not name:
                print("%s: a module block must start with 'module NAME'" % where)
                failed += 1
                continue
            mdir = os.path.join(scratch, "mod_%04d" % line)
            os.makedirs(mdir, exist_ok=True)
            with open(os.path.join(mdir, name.group(1) + ".psync"), "w", encoding="utf-8") as f:
                f.write(body)
            body, ctx, extra = "import %s\n" % name.group(1), "decls", ["-I", mdir]
        path = os.path.join(scratch, "block_%04d.psync" % line)
        with open(path, "w", encoding="utf-8") as f:
            f.write(wrap(ctx, body))
        p = subprocess.run([psyncc, "typecheck"] + extra + [path], capture_output=True, text=True, timeout=60)
        ids = re.findall(r"\[([a-z0-9-]+)\]$", p.stderr, re.M)
        good = (p.returncode == 1 and want in ids) if want else p.returncode == 0
        if good:
            ok += 1
            continue
        failed += 1
        expect = "exit 1 with [%s]" % want if want else "exit 0"
        print("%s (%s): expected %s, got exit %d\n--- wrapped file %s\n%s--- psyncc said\n%s" % (
            where, m.group(1), expect, p.returncode, path, open(path, encoding="utf-8").read(), p.stderr))
    return ok, failed


def source_ids(root):
    pattern = [
        r'\b(?:error|warning|fail)\(\s*(?:[a-z_]+\s*,\s*)?"([a-z][a-z0-9]*(?:-[a-z0-9]+)+)"',
        r'Severity::(?:Error|Warning),\s*"([a-z0-9-]+)"',
        r'\[([a-z][a-z0-9]*(?:-[a-z0-9]+)+)\]\\n',
    ]
    ids = set()
    for f in glob.glob(os.path.join(root, "compiler", "**", "*.cpp"), recursive=True) + \
            glob.glob(os.path.join(root, "compiler", "**", "*.h"), recursive=True):
        text = open(f, encoding="utf-8").read()
        for pat in pattern:
            ids |= set(re.findall(pat, text))
    return ids


def documented_ids(doc):
    text = open(doc, encoding="utf-8").read()
    at = text.find("Diagnostic ids\n")
    table = text[at:] if at >= 0 else ""
    return set(re.findall(r"^\| `([a-z0-9-]+)`", table, re.M))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("psyncc")
    ap.add_argument("doc", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                                                          "language.md"))
    ap.add_argument("--sources", help="repository root: also check the diagnostic id table")
    ap.add_argument("--keep", help="write the wrapped files here instead of a temporary directory")
    a = ap.parse_args()
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        ok, failed = check_blocks(a.psyncc, a.doc, a.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="psync-doc-") as scratch:
            ok, failed = check_blocks(a.psyncc, a.doc, scratch)
    missing = []
    if a.sources:
        missing = sorted(source_ids(a.sources) - documented_ids(a.doc))
        for i in missing:
            print("diagnostic id [%s] is reported by compiler/ but has no row in the id table of %s" % (i, a.doc))
    print("%d blocks as marked, %d not%s" % (ok, failed, ", %d undocumented ids" % len(missing) if missing else ""))
    return 1 if failed or missing or ok == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
