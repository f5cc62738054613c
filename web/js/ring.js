// The countdown ring. Remaining time comes from the server clock (never
// the phone's); the ring turns red inside the soft-close window (with the
// words "Closing", so colour is not the only signal), and each extension
// shows as a chip ("+0:30") that the lot was extended.

import { h, setText, formatDuration } from "./dom.js";

const R = 52;
const LIVE_WORDS = { scheduled: "Soon", open: "Live", fair_warning: "Last call", sold: "Sold", passed: "Passed", withdrawn: "Out" };
const C = 2 * Math.PI * R;

export class Ring {
  constructor(root) {
    this.root = root;
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 120 120");
    svg.setAttribute("aria-hidden", "true");
    svg.innerHTML = `<circle class="ring-track" cx="60" cy="60" r="${R}"/><circle class="ring-arc" cx="60" cy="60" r="${R}" stroke-dasharray="${C}" stroke-dashoffset="0" transform="rotate(-90 60 60)"/>`;
    this.arc = svg.querySelector(".ring-arc");
    this.time = h("span", { class: "ring-time", id: root.dataset.timeId || null });
    this.label = h("span", { class: "ring-label" });
    root.append(svg, h("div", { class: "ring-text" }, this.time, this.label));
  }

  // lot: effective_end_ms, opens_at_ms, status; windowMs: soft close;
  // now: server time (or null before the first clock estimate).
  update(lot, windowMs, now) {
    const root = this.root;
    root.classList.toggle("warning", lot?.status === "fair_warning");
    if (lot && lot.effective_end_ms == null) {
      // A live lot has no deadline: the clerk closes it. Say where it is.
      root.dataset.remainingMs = "";
      root.classList.remove("closing");
      this.arc.style.strokeDashoffset = "0";
      setText(this.time, LIVE_WORDS[lot.status] ?? "—");
      setText(this.label, lot.status === "open" ? "with the auctioneer" : "");
      return;
    }
    if (!lot || now == null) {
      root.dataset.remainingMs = "";
      root.classList.remove("closing");
      setText(this.time, lot ? "…" : "—");
      setText(this.label, lot ? "syncing clock" : "");
      return;
    }
    const remaining = Math.max(0, lot.effective_end_ms - now);
    const open = lot.status === "open" || lot.status === "fair_warning";
    root.dataset.remainingMs = open ? String(Math.round(remaining)) : "0";
    const span = Math.max(1, lot.effective_end_ms - (lot.opens_at_ms ?? lot.effective_end_ms - 3600000));
    const closing = open && windowMs > 0 && remaining <= windowMs;
    const scale = closing ? windowMs : span;
    const frac = open ? Math.min(1, remaining / scale) : 0;
    this.arc.style.strokeDashoffset = String(C * (1 - frac));
    root.classList.toggle("closing", closing);
    if (!open) {
      setText(this.time, lot.status === "scheduled" ? "Soon" : "Closed");
      setText(this.label, "");
    } else {
      setText(this.time, formatDuration(remaining));
      setText(this.label, remaining === 0 ? "Closing…" : closing ? "Closing — bids extend" : "left");
    }
  }
}

// "+0:30 extended" chips, newest first, for one lot's extensions.
export function renderExtensions(root, extensions) {
  root.dataset.count = String(extensions.length);
  root.replaceChildren(
    ...extensions
      .slice(-3)
      .reverse()
      .map((x) => h("li", { class: "chip chip-ext" }, `+${formatDuration(x.to - x.from)} extended`)),
  );
}
