#!/usr/bin/env python3
"""Writes the table of docs/examples.md, so that it stays true.

For each examples/*.psync it gives the lines of code (not counting blank
lines and comment lines), the lines of the stdlib modules it imports, the
count published for the same algorithm in the PSync artifact (POPL 2016),
and what the checker verified. The checks are the ones the lit tests in
tests/lit/examples/ run (`%psyncc check %examples/FILE ARGS` and
`%psyncc simulate ...` lines); this script runs each of them again and
reports what psyncc printed, not what the test expects.

usage: examples_table.py PSYNCC [--check | --write]
  (default) print the generated docs/examples.md to stdout
  --write   rewrite the table between the markers in docs/examples.md
  --check   exit 1 if docs/examples.md differs from what would be written
"""
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
STDLIB = os.path.join(ROOT, "stdlib")
LIT = os.path.join(ROOT, "tests", "lit", "examples")
DOC = os.path.join(ROOT, "docs", "examples.md")
BEGIN = "<!-- BEGIN examples_table.py: generated, do not edit -->"
END = "<!-- END examples_table.py -->"

# PSync's published lines of code (Dragoi, Henzinger, Zufferey, POPL 2016,
# artifact), by protocol name.
PUBLISHED = {
    "LastVoting": 89, "OneThirdRule": 50, "FloodMin": 22, "BenOr": 58,
    "KSetAgreement": 39, "LatticeAgreement": 30, "TwoPhaseCommit": 53,
    "EagerReliableBroadcast": 27,
}


def code_lines(path):
    count = 0
    with open(path) as f:
        for line in f:
            s = line.strip()
            if s and not s.startswith("//"):
                count += 1
    return count


def header_and_imports(path):
    name, imports = None, []
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*(protocol|module)\s+(\w+)", line)
            if m and name is None:
                name = m.group(2)
            m = re.match(r"\s*import\s+(\w+)", line)
            if m:
                imports.append(m.group(1))
    return name, imports


def module_closure(imports, seen=None):
    seen = [] if seen is None else seen
    for mod in imports:
        if mod in seen:
            continue
        seen.append(mod)
        _, sub = header_and_imports(os.path.join(STDLIB, mod + ".psync"))
        module_closure(sub, seen)
    return seen


def lit_commands():
    """{example file: [(verb, args)]} from the RUN lines of tests/lit/examples."""
    cmds = {}
    for test in sorted(os.listdir(LIT)):
        if not test.endswith(".test"):
            continue
        with open(os.path.join(LIT, test)) as f:
            for line in f:
                m = re.match(r"RUN: %psyncc (check|simulate) %examples/(\S+\.psync)(.*?)(\||$)", line.strip())
                if m:
                    cmds.setdefault(m.group(2), []).append((m.group(1), shlex.split(m.group(3))))
    return cmds


def flag(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default


def describe_check(psyncc, file, args):
    out = subprocess.run([psyncc, "check", os.path.join(EXAMPLES, file)] + args,
                         capture_output=True, text=True, timeout=600)
    text = out.stdout
    n = flag(args, "-n")
    extra = [a for a in args if a.startswith("--const")] and \
        [args[i + 1] for i, a in enumerate(args) if a == "--const"]
    values = flag(args, "--values", "0..1")
    if out.returncode != 0:
        return f"n={n}: **FAILED** (exit {out.returncode})"
    states = re.search(r"^ok: (\d+) states", text, re.M)
    checked = re.search(r"^\s*checked: (.*)$", text, re.M)
    specs = ", ".join(s.split(" (")[0].split(" ", 1)[1] for s in checked.group(1).split(", ")) if checked else "?"
    if "every reachable state was visited" in text:
        bound = "all executions"
    else:
        r = re.search(r"up to (\d+) rounds", text)
        bound = f"≤ {r.group(1)} rounds" if r else "?"
    consts = f", {' '.join(extra)}" if extra else ""
    if not states:
        return f"n={n}: **no verdict**"
    with open(os.path.join(EXAMPLES, file)) as f:
        has_inputs = re.search(r"^\s*(input\s|import consensus)", f.read(), re.M)
    inputs = f", inputs {values}" if has_inputs else ""
    if "--bytes-values" in args:  # bytes<K> inputs: the domain as written
        inputs = ", inputs " + ", ".join(f'"{v}"' for v in flag(args, "--bytes-values").split(","))
    return f"n={n}{consts}{inputs}: {specs} ({bound})"


def describe_simulate(psyncc, file, args):
    out = subprocess.run([psyncc, "simulate", os.path.join(EXAMPLES, file)] + args,
                         capture_output=True, text=True, timeout=600)
    m = re.search(r"ok: no violation; (\d+) runs decided, (\d+) did not decide", out.stdout)
    n, loss, rounds = flag(args, "-n"), flag(args, "--loss", "0"), flag(args, "--rounds", "default")
    if out.returncode != 0 or not m:
        return f"simulated n={n}: **FAILED**"
    return (f"simulated n={n}, loss {loss}: {m.group(1)} runs, {m.group(2)} undecided "
            f"after {rounds} rounds")


def table(psyncc):
    cmds = lit_commands()
    rows = ["| Example | Protocol | LOC | + stdlib | PSync LOC | Checker (tests/lit/examples) |",
            "|---|---|---:|---:|---:|---|"]
    for file in sorted(os.listdir(EXAMPLES)):
        if not file.endswith(".psync"):
            continue
        path = os.path.join(EXAMPLES, file)
        name, imports = header_and_imports(path)
        mods = module_closure(imports)
        lib = sum(code_lines(os.path.join(STDLIB, m + ".psync")) for m in mods)
        published = PUBLISHED.get(name)
        checks = []
        for verb, args in cmds.get(file, []):
            checks.append(describe_check(psyncc, file, args) if verb == "check" else
                          describe_simulate(psyncc, file, args))
        verified = "<br>".join(checks) if checks else "**no checker test**"
        rows.append(f"| [{file}](../examples/{file}) | {name} | {code_lines(path)} | "
                    f"{lib} ({', '.join(mods) or '—'}) | {published if published else '—'} | {verified} |")
    return "\n".join(rows) + "\n"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    psyncc, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
    with open(DOC) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        sys.exit(f"{DOC} lacks the markers {BEGIN!r} and {END!r}")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + BEGIN + "\n" + table(psyncc) + END + tail
    if mode == "--write":
        with open(DOC, "w") as f:
            f.write(new)
    elif mode == "--check":
        if new != doc:
            import difflib
            sys.stdout.writelines(difflib.unified_diff(doc.splitlines(True), new.splitlines(True),
                                                       "docs/examples.md", "generated"))
            sys.exit("docs/examples.md is stale: run scripts/examples_table.py PSYNCC --write")
        print("docs/examples.md is up to date")
    else:
        sys.stdout.write(new)


if __name__ == "__main__":
    main()
