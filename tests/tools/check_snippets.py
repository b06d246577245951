#!/usr/bin/env python3
"""check_snippets.py: every snippet of editors/vscode, expanded with its
default placeholders, type-checks and is already in `psyncc fmt` style (an
empty tab stop, where the user writes the body, counts as a comment line
there). The protocol snippet stands alone; each other snippet is added to it,
except statement snippets (STATEMENTS), which go into the update of a round
added to it, indented as VS Code indents them, after the enum snippet and a
variable of that enum (`role`) for `match` to take apart.

usage: check_snippets.py PSYNCC SNIPPETS_JSON SCRATCH_DIR
"""
import json
import os
import re
import subprocess
import sys

psyncc, snippets_path, scratch = sys.argv[1:4]
os.makedirs(scratch, exist_ok=True)
snippets = json.load(open(snippets_path, encoding="utf-8"))


def expand(body):
    """The text VS Code inserts when every placeholder keeps its default."""
    text = "\n".join(body) if isinstance(body, list) else body
    while True:
        new = re.sub(r"\$\{\d+:([^${}]*)\}", r"\1", text)
        if new == text:
            break
        text = new
    return re.sub(r"\$\d+", "// ...", text)


def check(name, text):
    path = os.path.join(scratch, re.sub(r"\W", "_", name) + ".psync")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    problems = []
    for verb in (["typecheck"], ["fmt", "--check"]):
        p = subprocess.run([psyncc] + verb + [path], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            problems.append("psyncc %s: %s" % (" ".join(verb), (p.stdout + p.stderr).strip()))
    if problems:
        print("FAIL snippet %r:\n%s\n---\n%s---" % (name, "\n".join(problems), text))
    else:
        print("ok   snippet %r" % name)
    return not problems


STATEMENTS = {"match"}


def in_round(statement):
    """The statement snippet inside an update, after an enum and a var of it."""
    enum = expand(snippets["enum"]["body"])
    first = re.search(r"\{\s*(\w+)", enum).group(1)
    body = "\n".join("    " + line for line in statement.split("\n"))
    return (f"{enum}\n\nvar role: Role = {first}\n\nround step {{\n  send role to all\n"
            f"  update(mbox) {{\n{body}\n  }}\n}}\n")


protocol = expand(snippets["protocol"]["body"]) + "\n"
ok = check("protocol", protocol)
for name, s in snippets.items():
    if name == "protocol":
        continue
    text = expand(s["body"])
    ok = check(name, protocol + "\n" + (in_round(text) if name in STATEMENTS else text + "\n")) and ok
for name in STATEMENTS | {"enum"}:
    if name not in snippets:
        print("missing snippet", repr(name))
        ok = False
if len(snippets) < 3:
    print("too few snippets in", snippets_path)
    ok = False
sys.exit(0 if ok else 1)
