// app.js: the explorer page's logic. Every action is one request to the
// JSON API (runtime/explore/README.md); the page is redrawn from the view it
// returns. Hand-written, no build step, no dependencies.
"use strict";

let view = null;      // the last /api/state answer
let busy = false;     // one request at a time
let hoTicks = null;   // hoTicks[i][j]: process i will hear j (kept across steps)
let crashTicks = [];  // crashTicks[i]: process i crashes in the next round (cleared by a step)

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function call(path, body) {
  if (busy) return false;
  busy = true;
  document.body.classList.add("busy");
  try {
    const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const res = await fetch(path, opts);
    const data = await res.json();
    if (!res.ok) {
      setStatus(data.error || `HTTP ${res.status}`, true);
      return false;
    }
    view = data;
    render();
    return true;
  } catch (e) {
    setStatus(`the explorer did not answer: ${e}`, true);
    return false;
  } finally {
    busy = false;
    document.body.classList.remove("busy");
  }
}

// "x=1 ts=-1 s={1, 3}" -> [["x","1"],["ts","-1"],["s","{1, 3}"]]: split
// before each `name=`, so values may contain spaces.
function splitVars(text) {
  if (!text) return [];
  return text.split(/\s+(?=[A-Za-z_][A-Za-z0-9_.\[\]]*=)/).map((kv) => {
    const at = kv.indexOf("=");
    return at < 0 ? ["", kv] : [kv.slice(0, at), kv.slice(at + 1)];
  });
}

function flagsOf(p) {
  const f = [];
  if (p.conflict) f.push("conflict");
  if (p.range_error) f.push("range error");
  if (p.crashed) f.push("crashed");
  if (p.halted) f.push("halted");
  if (p.decided) f.push("decided");
  return f;
}

function current() {
  return view.rounds.length ? view.rounds[view.rounds.length - 1].after : view.initial;
}

function inputLabel(field, v) {
  return field.labels ? field.labels[v - field.lo] : String(v);
}

function renderProcesses() {
  const body = $("procs").tBodies[0];
  body.replaceChildren();
  const locked = view.rounds.length > 0 || view.replay;
  current().forEach((p, i) => {
    const vars = el("td", { class: "vars", id: `state-${i}` });
    for (const [k, v] of splitVars(p.vars)) vars.append(el("span", { class: "var", "data-name": k }, el("b", {}, k), "=", v), " ");
    const ins = el("td", { class: "inputs" });
    view.input_fields.forEach((f, k) => {
      const sel = el("select", { id: `input-${i}-${k}`, title: `input ${f.name} of p${i} (Reset applies it)` });
      for (let v = f.lo; v <= f.hi; v++) sel.append(el("option", { value: v }, inputLabel(f, v)));
      sel.value = view.inputs[i][k];
      if (locked) sel.title += "; the run started with this value";
      ins.append(el("label", {}, `${f.name} `, sel), " ");
    });
    const flags = el("td", { class: "flags", id: `flags-${i}` });
    for (const f of flagsOf(p)) flags.append(el("span", { class: `flag ${f.replace(" ", "-")}` }, f), " ");
    body.append(el("tr", { "data-p": i, class: p.decided ? "decided" : "" }, el("td", {}, `p${i}`), ins, vars, flags));
  });
}

function renderHo() {
  const n = view.n;
  if (!hoTicks || hoTicks.length !== n) hoTicks = Array.from({ length: n }, () => Array(n).fill(true));
  const head = $("ho").tHead;
  if (crashTicks.length !== n) crashTicks = Array(n).fill(false);
  head.replaceChildren(el("tr", {}, el("th", {}, "hears →"), ...Array.from({ length: n }, (_, j) => el("th", {}, `p${j}`)),
    el("th", { title: "crashes in the next round: sends, then never updates nor sends again" }, "crash"), el("th", {}, "can end with")));
  const body = $("ho").tBodies[0];
  body.replaceChildren();
  for (let i = 0; i < n; i++) {
    const row = el("tr", {}, el("th", {}, `p${i}`));
    for (let j = 0; j < n; j++) {
      const box = el("input", { type: "checkbox", id: `ho-${i}-${j}` });
      box.checked = hoTicks[i][j];
      box.addEventListener("change", () => { hoTicks[i][j] = box.checked; });
      row.append(el("td", {}, box));
    }
    const dead = current()[i].crashed;
    const crash = el("input", { type: "checkbox", id: `crash-${i}` });
    crash.checked = dead || crashTicks[i];
    crash.disabled = dead;
    crash.addEventListener("change", () => { crashTicks[i] = crash.checked; });
    row.append(el("td", { class: "crash" }, crash));
    const chips = el("td", { class: "chips" });
    for (const set of (view.feasible[i] || []).slice(0, 12)) {
      chips.append(el("button", {
        class: "chip", title: `p${i} hears exactly these`,
        onclick: () => { for (let j = 0; j < n; j++) hoTicks[i][j] = set.includes(j); renderHo(); },
      }, `{${set.join(",")}}`));
    }
    row.append(chips);
    body.append(row);
  }
  const picks = $("picks");
  picks.replaceChildren(el("span", { class: "hint" }, "outcome # (when coin(), random() or arrival order give several): "));
  for (let i = 0; i < n; i++) {
    const prev = document.getElementById(`pick-${i}`);
    const box = el("input", { type: "number", min: 0, value: prev ? prev.value : 0, id: `pick-${i}`, class: "pick" });
    picks.append(el("label", {}, `p${i} `, box), " ");
  }
}

function renderSpecs() {
  const ul = $("specs");
  ul.replaceChildren();
  for (const s of view.specs) {
    const text = s.status === "violated" ? `violated after round ${s.at_round}` : s.status === "holds" ? "holds so far" : `not judged: ${s.why}`;
    ul.append(el("li", { class: `spec ${s.status.replace(" ", "-")}`, "data-spec": s.name }, el("b", {}, `${s.kind} ${s.name}`), `: ${text}`));
  }
  if (!view.specs.length) ul.append(el("li", {}, "no specifications"));
}

function renderHistory() {
  const ol = $("history");
  ol.replaceChildren();
  view.rounds.forEach((r, k) => {
    const ho = r.ho.map((s, i) => `p${i}:{${s.join(",")}}`).join(" ");
    const lost = r.messages.filter((m) => !m.delivered).map((m) => `${m.from}→${m.to}`);
    const li = el("li", { "data-round": k },
      el("b", {}, `round ${r.round} (${r.name})`), r.from_replay ? el("span", { class: "tag" }, "replayed") : null, ` HO ${ho}`,
      lost.length ? ` — lost ${lost.join(" ")}` : "");
    r.choices.forEach((c, i) => { if (c) li.append(el("div", { class: "choice" }, `p${i}: ${c} (outcome ${r.picked[i]} of ${r.outcomes[i]})`)); });
    r.events.forEach((ev, i) => ev.forEach((e) => li.append(el("div", { class: "event" }, `p${i}: ${e}`))));
    r.mismatches.forEach((m) => li.append(el("div", { class: "error" }, `differs from the trace: ${m}`)));
    ol.append(li);
  });
}

function renderReplay() {
  const b = $("replay-banner");
  const r = view.replay;
  $("replay-next").disabled = !r || !r.on_track || r.next >= r.total;
  $("replay-all").disabled = $("replay-next").disabled;
  if (!r) { b.hidden = true; return; }
  b.hidden = false;
  const head = r.kind === "conflict" || r.kind === "range" ? r.kind : `${r.kind} ${r.spec} violated`;
  b.replaceChildren(el("b", {}, `Replaying a counterexample: ${head}`), ` — ${r.detail} `,
    el("span", { id: "replay-progress" }, `(${r.next} of ${r.total} rounds${r.on_track ? "" : "; left the trace, undo to resume"})`));
  for (const m of r.initial_mismatches) b.append(el("div", { class: "error" }, `differs from the trace: ${m}`));
}

// The space-time diagram: one lane per process, one column per state; an
// arrow per delivered message (dashed grey: lost; hover for the payload).
// Under each node, the variables that changed in that round (all of them
// in the first column); hover a node for its whole state.
function renderDiagram() {
  const NS = "http://www.w3.org/2000/svg";
  const n = view.n, T = view.rounds.length;
  const states = [view.initial, ...view.rounds.map((r) => r.after)];
  const maxLines = 5;
  const labels = states.map((ps, k) => ps.map((p, i) => {
    const before = k ? new Map(splitVars(states[k - 1][i].vars)) : null;
    const lines = splitVars(p.vars).filter(([name, v]) => !before || before.get(name) !== v).map(([name, v]) => `${name}=${v}`);
    const cut = lines.length > maxLines ? [...lines.slice(0, maxLines - 1), `… ${lines.length - maxLines + 1} more`] : lines;
    return cut.map((l) => (l.length > 24 ? l.slice(0, 23) + "…" : l));
  }));
  const lines = Math.max(1, ...labels.flat().map((l) => l.length));
  const left = 60, top = 34, col = 180, lane = Math.max(60, 28 + 13 * lines);
  const width = left + Math.max(T, 1) * col + 190, height = top + (n - 1) * lane + 26 + 13 * lines;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("id", "diagram-svg");
  const add = (tag, attrs, text, parent) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    (parent || svg).append(e);
    return e;
  };
  const defs = add("defs", {});
  defs.innerHTML = '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#345"/></marker>';
  const X = (k) => left + k * col, Y = (i) => top + i * lane;
  for (let i = 0; i < n; i++) {
    add("line", { x1: X(0), y1: Y(i), x2: X(T) + 40, y2: Y(i), class: "lane" });
    add("text", { x: 8, y: Y(i) + 4, class: "lane-label" }, `p${i}`);
  }
  view.rounds.forEach((r, k) => {
    add("text", { x: (X(k) + X(k + 1)) / 2, y: 14, class: "round-label", "text-anchor": "middle" }, `r${r.round} ${r.name}`);
    for (const m of r.messages) {
      if (m.from === m.to) continue;
      const a = add("line", { x1: X(k), y1: Y(m.from), x2: X(k + 1) - 8, y2: Y(m.to), class: m.delivered ? "msg" : "msg lost" });
      if (m.delivered) a.setAttribute("marker-end", "url(#arrow)");
      add("title", {}, `${m.from}→${m.to}: ${m.value ?? m.payload}${m.delivered ? "" : " (lost)"}`, a);
    }
  });
  states.forEach((ps, k) => ps.forEach((p, i) => {
    const kind = p.conflict ? "conflict" : p.crashed ? "crashed" : p.decided ? "decided" : "";
    const c = add("circle", { cx: X(k), cy: Y(i), r: 6, class: `node ${kind}` });
    add("title", {}, `p${i} after ${k} round(s): ${p.vars}`, c);
    const t = add("text", { x: X(k) + 5, y: Y(i) + 19, class: "state-label" });
    labels[k][i].forEach((l, li) => add("tspan", { x: X(k) + 5, dy: li ? 13 : 0 }, l, t));
  }));
  $("diagram").replaceChildren(svg);
}

function render() {
  $("protocol").textContent = view.protocol;
  $("n").textContent = view.n;
  $("round").textContent = view.round;
  $("next-round").textContent = view.next_round_name;
  $("undo").disabled = !view.can_undo;
  renderProcesses();
  renderHo();
  renderSpecs();
  renderHistory();
  renderReplay();
  renderDiagram();
  document.body.dataset.round = view.round;  // tests wait on this
}

function picks() {
  return Array.from({ length: view.n }, (_, i) => Math.max(0, parseInt($(`pick-${i}`).value, 10) || 0));
}

async function step(allHearAll) {
  const ho = allHearAll ? null : hoTicks.map((row) => row.flatMap((t, j) => (t ? [j] : [])));
  const crash = crashTicks.flatMap((t, i) => (t ? [i] : []));
  const before = view;
  if (await call("/api/step", { ho, pick: picks(), crash })) {
    crashTicks = crashTicks.map(() => false);
    renderHo();
    setStatus(`took round ${before.round}`);
  }
}

function randomHo() {
  hoTicks = hoTicks.map((row, i) => row.map((_, j) => j === i || Math.random() < 0.5));
  renderHo();
  setStatus("random heard-of sets ticked; Step takes them");
}

async function reset() {
  const inputs = Array.from({ length: view.n }, (_, i) => view.input_fields.map((_, k) => parseInt($(`input-${i}-${k}`).value, 10)));
  if (await call("/api/reset", { inputs })) setStatus("back to the initial states");
}

async function openTrace(file) {
  let trace;
  try {
    trace = JSON.parse(await file.text());
  } catch (e) {
    setStatus(`${file.name} is not JSON: ${e.message}`, true);
    return;
  }
  if (await call("/api/trace", trace)) setStatus(`loaded ${file.name}: Replay next round steps through it`);
}

async function replayAll() {
  while (view.replay && view.replay.on_track && view.replay.next < view.replay.total)
    if (!(await call("/api/replay", {}))) return;
  setStatus("replay complete");
}

$("step").addEventListener("click", () => step(false));
$("step-all").addEventListener("click", () => step(true));
$("random-ho").addEventListener("click", randomHo);
$("undo").addEventListener("click", async () => { if (await call("/api/undo", {})) setStatus("undone"); });
$("reset").addEventListener("click", reset);
$("trace-file").addEventListener("change", (e) => { if (e.target.files[0]) openTrace(e.target.files[0]); e.target.value = ""; });
$("replay-next").addEventListener("click", async () => { if (await call("/api/replay", {})) setStatus(`replayed round ${view.round - 1}`); });
$("replay-all").addEventListener("click", replayAll);
call("/api/state").then((ok) => { if (ok) setStatus("ready"); });
