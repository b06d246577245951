#!/usr/bin/env python3
"""test_browser.py: the explorer's page in a real headless Chromium, driven
over the DevTools protocol (cdp.py). It loads the page of `psyncc explore
examples/one_third_rule.psync -n 3`, clicks Step three times and checks what
the page shows (round counter, every process's state, the decision, the
diagram), undoes a round, then opens a counterexample of a broken protocol
from `psyncc check --trace-json` through the page's file input and replays
it to the violation. Screenshots of both go to WORK_DIR (test artifacts).

usage: test_browser.py PSYNCC SOURCE_DIR WORK_DIR [CHROMIUM]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Chromium  # noqa: E402
from explorer import Explorer, write_trace  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def text(b, element_id):
    return b.evaluate(f"document.getElementById('{element_id}').textContent")


def wait_round(b, k):
    b.wait_for(f"document.body.dataset.round === '{k}' && !document.body.classList.contains('busy')",
               f"the page to show round {k}")


def step_three_rounds(b, psyncc, src, work):
    ex = Explorer(psyncc, os.path.join(src, "examples/one_third_rule.psync"), 3)
    try:
        b.navigate(ex.url)
        wait_round(b, 0)
        assert text(b, "protocol") == "OneThirdRule" and text(b, "n") == "3", text(b, "protocol")
        assert b.evaluate("document.querySelectorAll('#ho input[id^=ho-]').length") == 9
        assert "x=1" in text(b, "state-1"), text(b, "state-1")
        for k in (1, 2, 3):
            b.click("step")
            wait_round(b, k)
            assert text(b, "round") == str(k)
        for i in range(3):
            state = text(b, f"state-{i}")
            assert "decided=true" in state and "decision=0" in state and "x=0" in state, (i, state)
            assert "decided" in text(b, f"flags-{i}"), text(b, f"flags-{i}")
        assert b.evaluate("document.querySelectorAll('#procs tbody tr.decided').length") == 3
        assert b.evaluate("document.querySelectorAll('#history > li').length") == 3
        # Four columns of states, three lanes; 6 messages a round between distinct processes.
        assert b.evaluate("document.querySelectorAll('#diagram-svg circle').length") == 12
        assert b.evaluate("document.querySelectorAll('#diagram-svg line.msg').length") == 18
        assert b.evaluate("document.querySelectorAll('#diagram-svg circle.decided').length") == 6
        assert "holds" in b.evaluate("document.querySelector('[data-spec=agreement]').className")
        shot = b.screenshot(os.path.join(work, "explore-one-third-rule.png"))
        assert shot.startswith(PNG) and len(shot) > 10000, len(shot)

        # Undo, then a round where p1 hears only p0 (ticked by hand).
        for k in (2, 1, 0):
            b.click("undo")
            wait_round(b, k)
        for j in (1, 2):
            b.click(f"ho-1-{j}")
        assert not b.evaluate("document.getElementById('ho-1-2').checked")
        b.click("step")
        wait_round(b, 1)
        assert "x=1" in text(b, "state-1") and "x=0" in text(b, "state-0"), text(b, "state-1")
        assert "p1:{0}" in text(b, "history"), text(b, "history")
        # A request the server refuses shows its reason; the round stays.
        b.evaluate("document.getElementById('pick-0').value = 5")
        b.click("step")
        b.wait_for("document.getElementById('status').className === 'error'", "the refusal")
        assert "has 1 outcome" in text(b, "status") and text(b, "round") == "1", text(b, "status")
        b.evaluate("document.getElementById('pick-0').value = 0")
        # p2 crashes in the next round: flagged, greyed in the diagram, its box locked.
        b.click("crash-2")
        b.click("step-all")
        wait_round(b, 2)
        assert "crashed" in text(b, "flags-2") and "crashed" not in text(b, "flags-1"), text(b, "flags-2")
        assert b.evaluate("document.getElementById('crash-2').disabled")
        assert not b.evaluate("document.getElementById('crash-1').checked")
        assert b.evaluate("document.querySelectorAll('#diagram-svg circle.crashed').length") == 1
        assert ex.terminate() == 0
    finally:
        ex.stop()


def replay_counterexample(b, psyncc, src, work):
    source = os.path.join(src, "tests/check/psync/otr_half_threshold.psync")
    trace_path = os.path.join(work, "otr_half_threshold.trace.json")
    trace = write_trace(psyncc, source, 3, trace_path)
    rounds = len(trace["rounds"])
    ex = Explorer(psyncc, source, 3)
    try:
        b.navigate(ex.url)
        wait_round(b, 0)
        b.set_file("trace-file", trace_path)
        b.wait_for("!document.getElementById('replay-banner').hidden", "the replay banner")
        banner = text(b, "replay-banner")
        assert "agreement" in banner and f"0 of {rounds} rounds" in banner, banner
        b.click("replay-next")
        wait_round(b, 1)
        assert f"1 of {rounds}" in text(b, "replay-progress")
        b.click("replay-all")
        wait_round(b, rounds)
        b.wait_for("document.getElementById('status').textContent === 'replay complete'", "the end of the replay")
        spec = b.evaluate("document.querySelector('[data-spec=agreement]').textContent")
        assert f"violated after round {rounds}" in spec, spec
        for i, p in enumerate(trace["rounds"][-1]["after"]):
            assert " ".join(text(b, f"state-{i}").split()) == p["vars"], (i, text(b, f"state-{i}"), p["vars"])
        assert b.evaluate("document.querySelectorAll('#history .error').length") == 0, text(b, "history")
        assert b.evaluate("document.getElementById('replay-next').disabled")
        shot = b.screenshot(os.path.join(work, "explore-replay.png"))
        assert shot.startswith(PNG) and len(shot) > 10000, len(shot)
        assert ex.terminate() == 0
    finally:
        ex.stop()


def main():
    psyncc, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
    chromium = sys.argv[4] if len(sys.argv) > 4 else "/usr/bin/chromium"
    os.makedirs(work, exist_ok=True)
    b = Chromium(chromium, timeout=90)
    try:
        step_three_rounds(b, psyncc, src, work)
        replay_counterexample(b, psyncc, src, work)
    finally:
        b.quit()
    print(f"explore browser: ok (screenshots in {work})")


if __name__ == "__main__":
    main()
