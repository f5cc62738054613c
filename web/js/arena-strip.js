// The lot strip of the bidder page: every lot with its live price and its
// time left, and a star to watch it. Prices come from the sale's events
// (the model); the time left is counted from the server clock (or stands
// still at the pause's stamp while the sale is paused), never the phone's.
//
// Rows are kept (keyed.js), not rebuilt: the countdowns change four times a
// second and a tap must land on the lot the person aimed at.

import { h, setText, formatDuration } from "./dom.js";
import { formatMoney } from "./money.js";
import { isOpen } from "./sale.js";
import { keyedList, keyedRows } from "./keyed.js";

// Short words: a chip is narrow.
const WORDS = { scheduled: "Soon", open: "Open", fair_warning: "Last call", sold: "Sold", passed: "Passed", withdrawn: "Withdrawn" };

// The price a lot shows: the current (or final) price, else its start.
export function shownPrice(lot) {
  return lot.price ?? lot.start;
}

export function priceText(lot, sale) {
  return lot.price == null ? `from ${formatMoney(lot.start, sale)}` : formatMoney(lot.price, sale);
}

// Time left of a lot at server time `now` (null: no clock yet):
// {ms, text, closing}. `ms` is null when the lot has no running clock.
export function timeLeft(lot, sale, now, paused) {
  // A live lot has no deadline: the auctioneer closes it.
  if (isOpen(lot) && lot.effective_end_ms == null) return { ms: null, text: "live", closing: false };
  if (isOpen(lot)) {
    if (now == null) return { ms: null, text: "syncing clock", closing: false };
    const ms = Math.max(0, lot.effective_end_ms - now);
    const win = sale.soft_close?.window_ms ?? 0;
    const text = paused ? `${formatDuration(ms)} paused` : ms === 0 ? "closing…" : `${formatDuration(ms)} left`;
    return { ms, text, closing: win > 0 && ms <= win };
  }
  if (lot.status === "scheduled" && lot.opens_at_ms != null && now != null && lot.opens_at_ms > now) {
    return { ms: null, text: `opens in ${formatDuration(lot.opens_at_ms - now)}`, closing: false };
  }
  return { ms: null, text: "", closing: false };
}

export class LotStrip {
  // root: the <ol>; onPick(lot), onStar(lot): the controller's.
  constructor(root, { onPick, onStar }) {
    this.root = root;
    this.onPick = onPick;
    this.onStar = onStar;
  }

  // watch: a Watchlist; onlyWatched: the "Watching only" filter.
  render(model, selected, watch, onlyWatched) {
    const sale = model.sale;
    const total = model.lots.size;
    keyedList(
      this.root,
      model.sortedLots(),
      (l) => l.lot,
      (l) => this.makeRow(l),
      (row, l) => {
        const watched = watch.has(l.lot);
        row.el.hidden = onlyWatched && !watched && l.lot !== selected;
        row.chip.className = `lot-chip st-${l.status}`;
        row.chip.setAttribute("aria-current", String(l.lot === selected));
        setText(row.no, `Lot ${l.position + 1}`);
        setText(row.title, l.title);
        row.price.dataset.minor = String(shownPrice(l));
        setText(row.price, priceText(l, sale));
        setText(row.st, WORDS[l.status] || l.status);
        row.star.setAttribute("aria-pressed", String(watched));
        row.star.setAttribute("aria-label", `Watch lot ${l.position + 1} of ${total}: ${l.title}`);
        row.star.title = watched ? "Watching: tap to stop" : "Watch this lot";
        setText(row.starIcon, watched ? "★" : "☆");
      },
    );
  }

  makeRow(l) {
    const no = h("span", { class: "lot-chip-no" });
    const title = h("span", { class: "lot-chip-title" });
    const price = h("span", { class: "lot-chip-price", id: `strip-price-${l.lot}` });
    const st = h("span", { class: "lot-chip-st" });
    const time = h("span", { class: "lot-chip-time", id: `strip-time-${l.lot}` });
    const chip = h(
      "button",
      { type: "button", class: "lot-chip", id: `lot-chip-${l.lot}`, dataset: { lot: l.lot }, onclick: () => this.onPick(l.lot) },
      no,
      title,
      price,
      h("span", { class: "lot-chip-line" }, st, " ", time),
    );
    const starIcon = h("span", { "aria-hidden": "true" }, "☆");
    const star = h(
      "button",
      { type: "button", class: "watch-toggle", id: `watch-toggle-${l.lot}`, dataset: { lot: l.lot }, "aria-pressed": "false", onclick: () => this.onStar(l.lot) },
      starIcon,
    );
    return { el: h("li", { class: "strip-item", dataset: { lot: l.lot } }, chip, star), chip, no, title, price, st, time, star, starIcon };
  }

  // Every 250 ms: only the time left changes.
  tick(model, now, paused) {
    for (const row of keyedRows(this.root).values()) {
      const lot = model.lots.get(Number(row.key));
      if (lot) showTime(row.time, timeLeft(lot, model.sale, now, paused));
    }
  }
}

// One time-left span: text, data-remaining-ms (for tests) and the red
// "closing" look inside the soft-close window.
export function showTime(el, left) {
  setText(el, left.text);
  el.dataset.remainingMs = left.ms == null ? "" : String(Math.round(left.ms));
  el.classList.toggle("closing", left.closing);
}
