// The connection badge: Live, Reconnecting, Offline, or Stale ("as of
// index N, t s ago"). Each state has its own word and symbol, not only a
// colour. data-state and data-node are there for tests and for support.

import { setText } from "./dom.js";

const WORDS = {
  connecting: ["◌", "Connecting…"],
  live: ["●", "Live"],
  reconnecting: ["↻", "Reconnecting…"],
  offline: ["✕", "Offline"],
  stale: ["⚠", "Stale"],
};

export function renderBadge(el, state) {
  if (!el) return;
  const [icon, word] = WORDS[state.kind] || WORDS.connecting;
  let text = `${icon} ${word}`;
  if (state.kind === "stale") {
    const secs = state.secs == null ? null : state.secs + (performance.now() - state.at) / 1000;
    text += ` — as of index ${state.index}` + (secs == null ? "" : `, ${Math.round(secs)} s ago`);
  }
  el.dataset.state = state.kind;
  el.dataset.node = state.node || "";
  if (state.nodeId != null) el.title = `Connected to node ${state.nodeId} (${state.node})`;
  setText(el, text);
}
