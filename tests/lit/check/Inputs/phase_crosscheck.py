"""Cross-checks the phase abstraction (issue 13, item 1): for each protocol,
`psyncc check` bounded to R rounds without the abstraction and unbounded with
it must give the same verdict, the same violated spec and the same shortest
counterexample length; on a correct protocol the unbounded run must reach a
fixpoint. Usage: phase_crosscheck.py PSYNCC ROUNDS FILE... (-n 3)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crosscheck import check, verdict  # noqa: E402


def main():
    psyncc, rounds, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    failed = False
    for f in files:
        name = f.rsplit("/", 1)[-1]
        bounded = check(psyncc, f, ["--no-phase-abstraction", "--rounds", rounds])
        unbounded = check(psyncc, f, [])
        same = all(bounded[k] == unbounded[k] for k in ("status", "violated", "length"))
        ok = same and unbounded["renamed"] and bounded["status"] in (0, 1)
        if unbounded["status"] == 0:
            ok = ok and unbounded["fixpoint"]
        print("%s %s: %s" % ("agree" if ok else "DISAGREE", name, verdict(unbounded)))
        if not ok:
            failed = True
            print("--- bounded:\n" + bounded["output"] + "--- unbounded:\n" + unbounded["output"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
