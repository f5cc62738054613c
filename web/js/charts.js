// Charts drawn by the page itself as SVG (no library, no CDN): a bar
// chart of counts per time bucket and a line chart of a series over time.
// Each SVG scales to its box (viewBox, width 100 %), so it reads on a
// phone, and carries role="img", a <title> and a <desc> that say in words
// what it shows; the page also lists the numbers in a table.

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 260;
// Room for axis labels that stay readable when a phone shrinks the chart
// to about half its drawn size.
const PAD = { left: 60, right: 14, top: 16, bottom: 44 };

function el(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// A round axis top: 1, 2, 5 × 10^n at or above `max`.
export function niceMax(max) {
  if (!(max > 1)) return 2;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

// "14:05" in the viewer's time zone (the stamps are cluster time).
export function clockLabel(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

function frame(svg, yMax, title, desc) {
  svg.append(el("title", {}, title), el("desc", {}, desc));
  const plotH = H - PAD.top - PAD.bottom;
  for (const f of [0, 0.5, 1]) {
    const y = PAD.top + plotH * (1 - f);
    svg.append(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid-line" }));
    const v = yMax * f;
    svg.append(el("text", { x: PAD.left - 8, y: y + 7, "text-anchor": "end", class: "axis" }, Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
}

function xLabels(svg, points, xOf) {
  if (!points.length) return;
  const picks = points.length <= 2 ? points : [points[0], points[Math.floor(points.length / 2)], points[points.length - 1]];
  picks.forEach((p, i) => {
    const anchor = picks.length === 1 ? "middle" : i === 0 ? "start" : i === picks.length - 1 ? "end" : "middle";
    svg.append(el("text", { x: xOf(p), y: H - 12, "text-anchor": anchor, class: "axis" }, clockLabel(p.t)));
  });
}

function blank(title, desc) {
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", width: "100%", preserveAspectRatio: "xMidYMid meet" });
  frame(svg, 1, title, desc);
  svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, "No data yet"));
  return svg;
}

// Bars: points [{t, v}] evenly spaced in time.
export function barChart(points, { title, desc }) {
  if (!points.length) return blank(title, desc);
  const yMax = niceMax(Math.max(...points.map((p) => p.v)));
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", width: "100%", preserveAspectRatio: "xMidYMid meet", class: "bars" });
  frame(svg, yMax, title, desc);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / points.length;
  const bw = Math.max(1, step * 0.8);
  const xOf = (p) => PAD.left + step * points.indexOf(p) + step / 2;
  points.forEach((p, i) => {
    const h = (p.v / yMax) * plotH;
    const bar = el("rect", { x: PAD.left + step * i + (step - bw) / 2, y: PAD.top + plotH - h, width: bw, height: h, class: "bar" });
    bar.append(el("title", {}, `${clockLabel(p.t)}: ${p.v}`));
    svg.append(bar);
  });
  xLabels(svg, points, xOf);
  return svg;
}

// A line: points [{t, v}] at their times.
export function lineChart(points, { title, desc }) {
  if (!points.length) return blank(title, desc);
  const yMax = niceMax(Math.max(...points.map((p) => p.v)));
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", width: "100%", preserveAspectRatio: "xMidYMid meet", class: "line" });
  frame(svg, yMax, title, desc);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const t0 = points[0].t;
  const span = Math.max(1, points[points.length - 1].t - t0);
  const xOf = (p) => (points.length === 1 ? PAD.left + plotW / 2 : PAD.left + ((p.t - t0) / span) * plotW);
  const yOf = (p) => PAD.top + plotH - (p.v / yMax) * plotH;
  const d = points.map((p, i) => `${i ? "L" : "M"}${xOf(p).toFixed(1)},${yOf(p).toFixed(1)}`).join(" ");
  svg.append(el("path", { d, class: "series" }));
  const last = points[points.length - 1];
  svg.append(el("circle", { cx: xOf(last), cy: yOf(last), r: 4, class: "dot" }));
  xLabels(svg, points, xOf);
  return svg;
}
