// The bidder's watchlist: lots starred on this device, per sale. It lives
// in localStorage only (nothing is sent: watching is not bidding, and a
// bidder need not be signed in to watch). The "Watching" section lists the
// starred lots with those closing soonest first: open lots by time left,
// then the others in catalogue order.

import { h, setText } from "./dom.js";
import { store } from "./rest.js";
import { isOpen } from "./sale.js";
import { keyedList, keyedRows } from "./keyed.js";
import { shownPrice, priceText, timeLeft, showTime } from "./arena-strip.js";

export class Watchlist {
  constructor(sale) {
    this.key = `watch.${sale}`;
    this.load();
  }

  load() {
    const ids = store.get(this.key);
    this.lots = new Set(Array.isArray(ids) ? ids.filter(Number.isInteger) : []);
  }

  has(lot) {
    return this.lots.has(lot);
  }

  // Star or unstar; returns whether the lot is watched now.
  toggle(lot) {
    if (this.lots.has(lot)) this.lots.delete(lot);
    else this.lots.add(lot);
    store.set(this.key, this.lots.size ? [...this.lots] : null);
    return this.lots.has(lot);
  }
}

// The watched lots the model knows, closing soonest first. All open lots
// share one clock, so ordering by end is ordering by time left; a live lot
// (no end: the auctioneer closes it) comes after the timed ones.
export function watchOrder(model, watch) {
  const lots = model.sortedLots().filter((l) => watch.has(l.lot));
  const open = lots.filter(isOpen).sort((a, b) => (a.effective_end_ms ?? Infinity) - (b.effective_end_ms ?? Infinity) || a.position - b.position);
  return [...open, ...lots.filter((l) => !isOpen(l))];
}

export class WatchView {
  // list: the <ol>; count, empty: its count chip and empty-state line.
  constructor({ list, count, empty }, { onPick, onStar }) {
    this.list = list;
    this.count = count;
    this.empty = empty;
    this.onPick = onPick;
    this.onStar = onStar;
  }

  render(model, watch, selected) {
    const sale = model.sale;
    const lots = watchOrder(model, watch);
    setText(this.count, lots.length ? String(lots.length) : "");
    this.count.dataset.count = String(lots.length);
    this.empty.hidden = lots.length > 0;
    keyedList(
      this.list,
      lots,
      (l) => l.lot,
      (l) => this.makeRow(l),
      (row, l) => {
        row.el.className = `watch-row st-${l.status}`;
        row.open.setAttribute("aria-current", String(l.lot === selected));
        setText(row.title, `Lot ${l.position + 1}: ${l.title}`);
        row.price.dataset.minor = String(shownPrice(l));
        setText(row.price, priceText(l, sale));
        row.remove.setAttribute("aria-label", `Stop watching lot ${l.position + 1}: ${l.title}`);
      },
    );
  }

  makeRow(l) {
    const title = h("span", { class: "watch-title" });
    const price = h("span", { class: "watch-price" });
    const time = h("span", { class: "watch-time" });
    const open = h(
      "button",
      { type: "button", class: "watch-open", id: `watch-open-${l.lot}`, dataset: { lot: l.lot }, onclick: () => this.onPick(l.lot) },
      title,
      h("span", { class: "watch-line" }, price, " ", time),
    );
    const remove = h(
      "button",
      { type: "button", class: "watch-remove", id: `watch-remove-${l.lot}`, dataset: { lot: l.lot }, onclick: () => this.onStar(l.lot) },
      h("span", { "aria-hidden": "true" }, "★"),
    );
    return { el: h("li", { dataset: { lot: l.lot } }, open, remove), open, title, price, time, remove };
  }

  tick(model, now, paused) {
    for (const row of keyedRows(this.list).values()) {
      const lot = model.lots.get(Number(row.key));
      if (!lot) continue;
      const left = timeLeft(lot, model.sale, now, paused);
      // A closed or waiting lot says where it is instead of a time.
      if (!left.text) left.text = { sold: "Sold", passed: "Passed", withdrawn: "Withdrawn", scheduled: "Not open yet" }[lot.status] || "";
      showTime(row.time, left);
    }
  }
}
