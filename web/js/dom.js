// Tiny DOM helpers: the pages build their dynamic parts with these instead
// of innerHTML, so a lot title or bidder name can never inject markup.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// h("li", {class: "x", dataset: {id: 1}, onclick: f}, "text", child)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Set text only when it changed, so screen readers and animations are not
// triggered by re-renders that change nothing.
export function setText(el, text) {
  const s = String(text);
  if (el && el.textContent !== s) el.textContent = s;
}

export function show(el, visible) {
  if (el) el.hidden = !visible;
}

// "1:05", "12:00", "1:02:03" from milliseconds (never negative).
export function formatDuration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const hr = Math.floor(total / 3600);
  const ss = String(s).padStart(2, "0");
  return hr > 0 ? `${hr}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

// "30 seconds", "2 minutes" for announcements.
export function spokenDuration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} second${s === 1 ? "" : "s"}`;
  return `${Math.round(s / 60)} minutes`;
}

// Read `?key=` from the page's address.
export function param(key) {
  return new URLSearchParams(location.search).get(key);
}
