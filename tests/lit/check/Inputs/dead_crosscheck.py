"""Cross-checks the dead-state reduction (docs/checker.md, "Dead state words"):
for each protocol, `psyncc check -n 3` with the reduction (the default) and
with --no-dead-state must give the same verdict, the same violated spec and
the same shortest counterexample length (and, when both are ok, the same
coverage: a fixpoint, or the same round bound).
Usage: dead_crosscheck.py PSYNCC FILE[@ROUNDS]... (@ROUNDS adds --rounds)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crosscheck import check, verdict  # noqa: E402


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
        line = verdict(zeroed) + ("" if zeroed["zeroed"] else " (nothing dead)")
        print("%s %s: %s" % ("agree" if ok else "DISAGREE", name, line))
        if zeroed["states"] and kept["states"] and ok:
            print("  states: %d kept, %d zeroed" % (kept["states"], zeroed["states"]), file=sys.stderr)
        if not ok:
            failed = True
            print("--- --no-dead-state:\n" + kept["output"] + "--- default:\n" + zeroed["output"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
