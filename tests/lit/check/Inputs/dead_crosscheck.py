"""Cross-checks the dead-state reduction (docs/checker.md, "Dead state words"):
for each protocol, `psyncc check -n 3` with the reduction (the default) and
with --no-dead-state must give the same verdict, the same violated spec and
the same shortest counterexample length (and, when both are ok, the same
coverage: a fixpoint, or the same round bound).
Usage: dead_crosscheck.py PSYNCC FILE[@ROUNDS]... (@ROUNDS adds --rounds)."""
import re
import subprocess
import sys


def check(psyncc, path, extra):
    p = subprocess.run([psyncc, "check", path, "-n", "3", "--time-limit", "120s"] + extra,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    out = p.stdout
    spec = re.search(r"^violated: (.*)$", out, re.M)
    length = re.search(r"\((\d+) rounds?, shortest\)", out)
    states = re.search(r"(\d+) states", out)
    return {
        "status": p.returncode,
        "violated": spec.group(1) if spec else None,
        "length": int(length.group(1)) if length else None,
        "fixpoint": "the verdict holds for executions of any length" in out,
        "zeroed": "dead state zeroed" in out,
        "states": int(states.group(1)) if states else None,
        "output": out,
    }


def main():
    psyncc, files = sys.argv[1], sys.argv[2:]
    failed = False
    for arg in files:
        path, _, rounds = arg.partition("@")
        extra = ["--rounds", rounds] if rounds else []
        name = path.rsplit("/", 1)[-1]
        kept = check(psyncc, path, extra + ["--no-dead-state"])
        zeroed = check(psyncc, path, extra)
        same = all(kept[k] == zeroed[k] for k in ("status", "violated", "length", "fixpoint"))
        ok = same and kept["status"] in (0, 1)
        verdict = zeroed["violated"] or ("ok for any length" if zeroed["fixpoint"] else "ok")
        if zeroed["length"] is not None:
            verdict += " in %d rounds" % zeroed["length"]
        if not zeroed["zeroed"]:
            verdict += " (nothing dead)"
        print("%s %s: %s" % ("agree" if ok else "DISAGREE", name, verdict))
        if zeroed["states"] and kept["states"] and ok:
            print("  states: %d kept, %d zeroed" % (kept["states"], zeroed["states"]), file=sys.stderr)
        if not ok:
            failed = True
            print("--- --no-dead-state:\n" + kept["output"] + "--- default:\n" + zeroed["output"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
