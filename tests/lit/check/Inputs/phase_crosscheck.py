"""Cross-checks the phase abstraction (issue 13, item 1): for each protocol,
`psyncc check` bounded to R rounds without the abstraction and unbounded with
it must give the same verdict, the same violated spec and the same shortest
counterexample length; on a correct protocol the unbounded run must reach a
fixpoint. Usage: phase_crosscheck.py PSYNCC ROUNDS FILE... (-n 3)."""
import re
import subprocess
import sys


def check(psyncc, path, extra):
    p = subprocess.run([psyncc, "check", path, "-n", "3", "--time-limit", "120s"] + extra,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    out = p.stdout
    spec = re.search(r"^violated: (.*)$", out, re.M)
    length = re.search(r"\((\d+) rounds?, shortest\)", out)
    return {
        "status": p.returncode,
        "violated": spec.group(1) if spec else None,
        "length": int(length.group(1)) if length else None,
        "fixpoint": "the verdict holds for executions of any length" in out,
        "renamed": "rounds phase values renamed by their order" in out,
        "output": out,
    }


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
        verdict = unbounded["violated"] or ("ok for any length" if unbounded["fixpoint"] else "ok")
        if unbounded["length"] is not None:
            verdict += " in %d rounds" % unbounded["length"]
        print("%s %s: %s" % ("agree" if ok else "DISAGREE", name, verdict))
        if not ok:
            failed = True
            print("--- bounded:\n" + bounded["output"] + "--- unbounded:\n" + unbounded["output"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
