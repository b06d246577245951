"""Cross-checks stale phase values (docs/checker.md, "Stale phase values"):
for each FILE[@R], `psyncc check` counted without the phase abstraction
(--no-phase-abstraction, to R rounds, default 8) and with it and its stale
folding (to R rounds with @R, else unbounded) must give the same verdict,
the same violated spec and the same shortest counterexample length; the
reduced run must fold something. Usage: stale_crosscheck.py PSYNCC FILE[@R]...
(-n 3)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crosscheck import check, verdict  # noqa: E402


def main():
    psyncc, files = sys.argv[1], sys.argv[2:]
    failed = False
    for arg in files:
        f, _, r = arg.partition("@")
        name = f.rsplit("/", 1)[-1]
        bounded = check(psyncc, f, ["--no-phase-abstraction", "--rounds", r or "8"])
        reduced = check(psyncc, f, ["--rounds", r] if r else [])
        same = all(bounded[k] == reduced[k] for k in ("status", "violated", "length"))
        first = [l for l in reduced["output"].splitlines() if l.startswith("psyncc check:")]
        folded = reduced["renamed"] and bool(first) and "folded before" in first[0]
        ok = same and folded and bounded["status"] in (0, 1)
        print("%s %s: %s" % ("agree" if ok else "DISAGREE", name, verdict(reduced)))
        if not ok:
            failed = True
            print("--- counted:\n" + bounded["output"] + "--- reduced:\n" + reduced["output"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
