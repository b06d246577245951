"""Validates a counterexample's JSON trace and SVG diagram (lit helper).
usage: check_trace_files.py TRACE.json TRACE.svg SPEC N"""
import json
import sys
import xml.etree.ElementTree as ET

trace_path, svg_path, spec, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
trace = json.load(open(trace_path))
assert trace["violation"]["spec"] == spec, trace["violation"]
assert trace["n"] == n, trace["n"]
assert len(trace["rounds"]) >= 1
assert len(trace["initial"]) == n
root = ET.parse(svg_path).getroot()
assert root.tag.endswith("svg"), root.tag
text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
assert spec in text, "the violated spec is not called out in the SVG"
for p in range(n):
    assert f"p{p}" in text or f"process {p}" in text, f"no lane label for process {p}"
lines = [e for e in root.iter() if e.tag.endswith("line") or e.tag.endswith("path")]
assert len(lines) >= n, "no lanes or arrows"
print("ok: trace and svg", spec, len(trace["rounds"]), "rounds,", len(lines), "lines/paths")
