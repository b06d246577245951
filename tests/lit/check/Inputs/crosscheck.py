"""crosscheck.py: one `psyncc check -n 3` run read into the fields the
cross-check scripts compare (phase_crosscheck.py, dead_crosscheck.py)."""
import re
import subprocess


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
        "renamed": "rounds phase values renamed by their order" in out,
        "zeroed": "dead state zeroed" in out,
        "states": int(states.group(1)) if states else None,
        "output": out,
    }


def verdict(result):
    """The verdict a cross-check prints: the violated spec or ok, and the
    shortest length."""
    v = result["violated"] or ("ok for any length" if result["fixpoint"] else "ok")
    if result["length"] is not None:
        v += " in %d rounds" % result["length"]
    return v
