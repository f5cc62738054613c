// A paused sale, for the bidder page and the room screen. While the
// operator has a sale paused (`SaleView.paused`, or a `sale_paused` event)
// the node refuses every bid and every lot's clock stands still at
// `effective_end_ms - paused.since_ms`. The page does not keep counting:
// it reads the time as the pause's own stamp, so each countdown shows
// exactly what the node will give back on resume (`lot_extended_by`).
//
// The reason is the operator's free text: it only ever goes in as text
// (setText / textContent), never as markup.

import { setText, show } from "./dom.js";

export function pauseOf(sale) {
  return sale?.paused ?? null;
}

// The time countdowns are drawn at: the pause's stamp while paused, else
// the server clock's now (null before the first estimate).
export function saleNow(sale, clock) {
  const paused = pauseOf(sale);
  return paused ? paused.since_ms : clock.now();
}

// The banner: "Paused: <reason>" in `text`, shown only while paused.
// data-since is there for tests and support.
export function renderPauseBanner(banner, text, sale) {
  const paused = pauseOf(sale);
  show(banner, !!paused);
  document.body.classList.toggle("paused", !!paused);
  if (!paused) {
    banner.dataset.since = "";
    return;
  }
  banner.dataset.since = String(paused.since_ms);
  setText(text, paused.reason ? `Paused: ${paused.reason}` : "Paused");
}

// After Ring.update(): say why a running countdown stands still (a ring
// that stops with no word looks like a frozen page).
export function markRingPaused(ring, lot, sale) {
  const paused = !!pauseOf(sale) && lot?.effective_end_ms != null && (lot.status === "open" || lot.status === "fair_warning");
  ring.root.classList.toggle("paused", paused);
  ring.root.dataset.paused = String(paused);
  if (paused) setText(ring.label, "paused");
}
