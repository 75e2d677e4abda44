"use strict";
// Draws the report's SVG from the embedded data, only for the chosen window and nodes.
const D = JSON.parse(document.getElementById("data").textContent);
const DRAW_MAX = D.draw_max; // most shapes drawn per view; zoom in to see the rest
const W = 1200, LEFT = 60, LANE = 28;
const NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let t0 = 0, t1 = Math.max(D.end_ns, 1);
const shown = new Set(D.nodes);

function el(parent, name, attrs, title) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (title) { const t = document.createElementNS(NS, "title"); t.textContent = title; e.appendChild(t); }
  parent.appendChild(e);
  return e;
}
const x = (ns) => LEFT + (ns - t0) / (t1 - t0) * (W - LEFT - 10);
const ms = (ns) => (ns / 1e6).toFixed(3);
function clear(svg, h) { svg.textContent = ""; svg.setAttribute("width", W); svg.setAttribute("height", h); svg.setAttribute("viewBox", `0 0 ${W} ${h}`); }
function axis(svg, y) {
  // As many decimals as a tenth of the window needs, so that the labels stay short.
  const digits = Math.min(6, Math.max(0, -Math.floor(Math.log10((t1 - t0) / 10 / 1e6))));
  for (let i = 0; i <= 10; i++) {
    const ns = t0 + (t1 - t0) * i / 10;
    el(svg, "line", { x1: x(ns), x2: x(ns), y1: 0, y2: y, stroke: "#eee" });
    el(svg, "text", { x: x(ns), y: y + 12, "text-anchor": anchor(i, 10) }).textContent = (ns / 1e6).toFixed(digits) + " ms";
  }
}
// The end labels of an axis are anchored inwards so that they are not cut off at the edges.
const anchor = (i, last) => (i === 0 ? "start" : i === last ? "end" : "middle");
function note(id, drawn, total) {
  const n = $(id);
  n.hidden = drawn >= total;
  n.textContent = `Showing ${drawn} of ${total} shapes in this window, thinned evenly across it (DRAW_MAX ${DRAW_MAX}): zoom in to see them all.`;
}
// At most `budget` of `items`, evenly spread over them (they are in time order), so a view
// with too many shapes still covers its whole window.
function thin(items, budget) {
  if (items.length <= budget) return items;
  const kept = [];
  for (let i = 0; i < budget; i++) kept.push(items[Math.floor(i * items.length / budget)]);
  return kept;
}

function drawSpaceTime() {
  const nodes = D.nodes.filter((n) => shown.has(n));
  const lane = new Map(nodes.map((n, i) => [n, 20 + i * LANE]));
  const h = 30 + nodes.length * LANE;
  const svg = $("st");
  clear(svg, h + 16);
  axis(svg, h);
  const timers = $("timers").checked;
  const spans = D.spans.filter(([s, e, node]) => !(e < t0 || s > t1) && (node < 0 || lane.has(node)));
  const messages = D.messages.filter(([s, e, from, to]) => !(e < t0 || s > t1) && lane.has(from) && lane.has(to));
  const points = D.points.filter(([t, node, kind]) => t >= t0 && t <= t1 && lane.has(node) && (kind !== "timer" || timers));
  const bulky = (p) => p[2] === "timer" || p[2] === "log";
  const total = spans.length + messages.length + points.length;
  // Over DRAW_MAX, the rare shapes (fault spans, starts, faults, violations) are all kept and
  // the bulk (messages, log lines, timers) shares what is left in proportion.
  const keptSpans = thin(spans, DRAW_MAX);
  const rare = thin(points.filter((p) => !bulky(p)), DRAW_MAX - keptSpans.length);
  const bulk = points.filter(bulky);
  const budget = DRAW_MAX - keptSpans.length - rare.length;
  const messageBudget = Math.round(budget * messages.length / Math.max(1, messages.length + bulk.length));
  const keptMessages = thin(messages, messageBudget);
  const keptPoints = thin(bulk, budget - messageBudget).concat(rare);
  for (const [s, e, node, kind] of keptSpans) {
    const y = node >= 0 ? lane.get(node) - LANE / 2 : 0, hh = node >= 0 ? LANE : h;
    el(svg, "rect", { x: x(Math.max(s, t0)), y, width: Math.max(1, x(Math.min(e, t1)) - x(Math.max(s, t0))), height: hh, class: "span-" + kind },
      `${kind}${node >= 0 ? " n" + node : ""} ${ms(s)}–${ms(e)} ms`);
  }
  for (const n of nodes) {
    el(svg, "line", { x1: LEFT, x2: W - 10, y1: lane.get(n), y2: lane.get(n), stroke: "#999" });
    el(svg, "text", { x: 4, y: lane.get(n) + 4 }).textContent = "n" + n;
  }
  for (const [s, e, from, to, dropped, label] of keptMessages) {
    const title = `n${from} → n${to} sent ${ms(s)} ms, ${dropped ? "dropped" : "delivered"} ${ms(e)} ms\n${label}`;
    el(svg, "line", { x1: x(s), y1: lane.get(from), x2: x(e), y2: lane.get(to), class: dropped ? "msg drop" : "msg" }, title);
    if (dropped) el(svg, "text", { x: x(e) - 4, y: lane.get(to) + 4, fill: "#e53935" }, title).textContent = "×";
  }
  for (const [t, node, kind, text] of keptPoints) {
    el(svg, "circle", { cx: x(t), cy: lane.get(node), r: kind === "violation" ? 6 : 3, class: "pt-" + kind }, `n${node} ${ms(t)} ms: ${text}`);
  }
  el(svg, "rect", { id: "sel", x: 0, y: 0, width: 0, height: h });
  note("note-st", keptSpans.length + keptMessages.length + keptPoints.length, total);
}

function drawHistory() {
  const procs = [...new Set(D.ops.map((o) => o[0]))].sort((a, b) => a - b);
  const row = new Map(procs.map((p, i) => [p, 10 + i * 14]));
  const h = 20 + procs.length * 14;
  const svg = $("hist");
  clear(svg, h + 16);
  axis(svg, h);
  for (const p of procs) el(svg, "text", { x: 4, y: row.get(p) + 9 }).textContent = "p" + p;
  const end = (o) => (o[2] === null ? D.end_ns : o[2]);
  const inView = [];
  D.ops.forEach((o, i) => { if (!(end(o) < t0 || o[1] > t1)) inView.push(i); });
  const kept = thin(inView, DRAW_MAX);
  // The counterexample's operation is drawn even past the cap.
  if (inView.includes(D.highlight) && !kept.includes(D.highlight)) kept.push(D.highlight);
  for (const i of kept) {
    const [p, s, e0, type, f, key, input, output] = D.ops[i];
    const e = end(D.ops[i]);
    const cls = "op-" + type + (i === D.highlight ? " op-hl" : "");
    el(svg, "rect", { x: x(Math.max(s, t0)), y: row.get(p), width: Math.max(2, x(Math.min(e, t1)) - x(Math.max(s, t0))), height: 10, class: cls },
      `p${p} ${f}${key === null ? "" : " key " + key} ${JSON.stringify(input)} → ${type} ${JSON.stringify(output)}\n${ms(s)}–${e0 === null ? "?" : ms(e0)} ms`);
  }
  note("note-h", kept.length, inView.length);
}

function drawLatency() {
  const lat = D.ops.filter((o) => o[2] !== null && o[1] >= t0 && o[1] <= t1).map((o) => (o[2] - o[1]) / 1e6);
  const svg = $("lat");
  const h = 160, bins = 50;
  clear(svg, h + 30);
  if (!lat.length) { el(svg, "text", { x: LEFT, y: 20 }).textContent = "no completed operations in the window"; return; }
  let max = 0;
  for (const l of lat) max = Math.max(max, l);
  max = max || 1;
  const counts = new Array(bins).fill(0);
  for (const l of lat) counts[Math.min(bins - 1, Math.floor(l / max * bins))]++;
  const top = Math.max(...counts), bw = (W - LEFT - 10) / bins;
  counts.forEach((c, i) => {
    const bh = c / top * (h - 10);
    el(svg, "rect", { x: LEFT + i * bw, y: h - bh, width: bw - 1, height: bh, class: "bar" },
      `${(i * max / bins).toFixed(2)}–${((i + 1) * max / bins).toFixed(2)} ms: ${c} ops`);
  });
  for (let i = 0; i <= 5; i++) el(svg, "text", { x: LEFT + i * (W - LEFT - 10) / 5, y: h + 14, "text-anchor": anchor(i, 5) }).textContent = (max * i / 5).toFixed(1) + " ms";
  el(svg, "text", { x: 4, y: 12 }).textContent = top + " ops";
  el(svg, "text", { x: LEFT, y: h + 28 }).textContent = `${lat.length} operations, max ${max.toFixed(2)} ms`;
}

function redraw() {
  $("t0").value = ms(t0); $("t1").value = ms(t1);
  $("shown").textContent = `showing ${ms(t0)}–${ms(t1)} ms of the run's 0–${ms(D.end_ns)} ms`;
  for (const [n, box] of boxes) box.checked = shown.has(n);
  drawSpaceTime(); drawHistory(); drawLatency();
  writeFragment();
}
function zoom(a, b) {
  if (!(b > a)) return;
  t0 = Math.max(0, a); t1 = b; redraw();
}

// The view as a URL fragment, e.g. `#from=1s&to=2s&nodes=n1,n2&timers=1`, so a link shows
// the same window, nodes and timers. Times take ns, us, ms, s or m; a bare number is ms.
const UNIT_NS = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9 };
function parseTime(text) {
  const m = /^(\d+(?:\.\d*)?)(ns|us|ms|s|m)?$/.exec(text);
  return m ? parseFloat(m[1]) * UNIT_NS[m[2] || "ms"] : null;
}
function readFragment() {
  const problems = [];
  const params = new URLSearchParams(location.hash.slice(1));
  let from = 0, to = Math.max(D.end_ns, 1), nodes = D.nodes, timers = false;
  for (const [key, value] of params) {
    if (key === "from" || key === "to") {
      const ns = parseTime(value);
      if (ns === null) problems.push(`${key}=${value}: expected a time such as 1.5s, 250ms or 2000 (ms)`);
      else if (key === "from") from = ns; else to = ns;
    } else if (key === "nodes") {
      const names = value.split(",").filter((n) => n !== "");
      const ids = names.map((n) => Number(n.replace(/^n/, "")));
      const unknown = names.filter((n, i) => !D.nodes.includes(ids[i]));
      if (unknown.length) problems.push(`nodes=${value}: no node ${unknown.join(", ")} (the run has ${D.nodes.map((n) => "n" + n).join(", ")})`);
      else nodes = ids;
    } else if (key === "timers") {
      if (value !== "0" && value !== "1") problems.push(`timers=${value}: expected 0 or 1`);
      else timers = value === "1";
    } else {
      problems.push(`${key}: unknown; expected from, to, nodes or timers`);
    }
  }
  if (!(to > from)) { problems.push(`from=${ms(from)}ms to=${ms(to)}ms: the window must end after it starts`); from = 0; to = Math.max(D.end_ns, 1); }
  t0 = from; t1 = to;
  shown.clear(); for (const n of nodes) shown.add(n);
  $("timers").checked = timers;
  $("note-url").hidden = problems.length === 0;
  $("note-url").textContent = "Ignored in the link: " + problems.join("; ");
}
function writeFragment() {
  const parts = [];
  if (t0 > 0) parts.push(`from=${+ms(t0)}ms`);
  if (t1 !== Math.max(D.end_ns, 1)) parts.push(`to=${+ms(t1)}ms`);
  if (shown.size !== D.nodes.length) parts.push("nodes=" + D.nodes.filter((n) => shown.has(n)).map((n) => "n" + n).join(","));
  if ($("timers").checked) parts.push("timers=1");
  const hash = parts.length ? "#" + parts.join("&") : "";
  // replaceState neither adds a history entry per zoom nor fires hashchange.
  if (hash !== location.hash) history.replaceState(null, "", hash || location.pathname + location.search);
}

const boxes = new Map();
for (const n of D.nodes) {
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.onchange = () => { box.checked ? shown.add(n) : shown.delete(n); redraw(); };
  label.append(box, " n" + n);
  $("nodes").append(label);
  boxes.set(n, box);
}
$("timers").onchange = redraw;
$("all").onclick = () => { for (const n of D.nodes) shown.add(n); redraw(); };
$("none").onclick = () => { shown.clear(); redraw(); };
window.onhashchange = () => { readFragment(); redraw(); };
$("apply").onclick = () => zoom(parseFloat($("t0").value) * 1e6, parseFloat($("t1").value) * 1e6);
$("reset").onclick = () => zoom(0, Math.max(D.end_ns, 1));
if ($("goto")) $("goto").onclick = () => {
  const o = D.ops[D.highlight], e = o[2] === null ? D.end_ns : o[2], pad = Math.max(1e6, (e - o[1]) * 5);
  zoom(o[1] - pad, e + pad);
  $("hist").scrollIntoView();
};
let dragFrom = null;
const toNs = (ev) => t0 + (ev.clientX - $("st").getBoundingClientRect().left - LEFT) / (W - LEFT - 10) * (t1 - t0);
$("st").onmousedown = (ev) => { dragFrom = toNs(ev); };
$("st").onmousemove = (ev) => {
  if (dragFrom === null) return;
  const a = x(Math.min(dragFrom, toNs(ev))), b = x(Math.max(dragFrom, toNs(ev)));
  $("sel").setAttribute("x", a); $("sel").setAttribute("width", b - a);
};
window.onmouseup = (ev) => {
  if (dragFrom === null) return;
  const a = dragFrom, b = toNs(ev);
  dragFrom = null;
  if (Math.abs(x(b) - x(a)) > 4) zoom(Math.min(a, b), Math.max(a, b)); else redraw();
};
readFragment();
redraw();
// Tells a test (and anyone inspecting the page) that the script ran to its end.
document.documentElement.dataset.drawn = "true";
