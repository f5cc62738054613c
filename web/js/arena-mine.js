// The bidder's own history on the bidder page: my bids, my wins, my
// spend, from `GET /api/v1/me/history` (only this bidder's token reads
// it: it holds their maximums). Loaded when the sale's snapshot arrives
// and again, at most once a second, after anything that changes it: one of
// my bids answered, a lot sold, me outbid, a bid retracted.

import { h, setText, show } from "./dom.js";
import { formatMoney } from "./money.js";
import { STATUS_TEXT } from "./sale.js";

export class MyHistory {
  // rest: a Rest with the bidder's token; els: {box, line, wins, lots};
  // saleId(): the sale on screen.
  constructor(rest, els, saleId) {
    this.rest = rest;
    this.els = els;
    this.saleId = saleId;
    this.timer = null;
    this.minIndex = 0;
    this.data = null;
  }

  // Forget what was shown (another sale, or no sign-in).
  clear() {
    this.data = null;
    show(this.els.box, false);
  }

  // Ask again soon, for a state at least as new as `index`.
  soon(index = 0) {
    this.minIndex = Math.max(this.minIndex, index);
    if (this.timer) return;
    this.timer = setTimeout(() => this.load(), 1000);
  }

  async load() {
    this.timer = null;
    const sale = this.saleId();
    try {
      const r = await this.rest.get("/api/v1/me/history", { minIndex: this.minIndex });
      if (r.history.sale !== sale) return;
      this.data = r;
      this.render();
    } catch {
      // A bidder without a token (or a refused one) has no history here.
    }
  }

  render() {
    const r = this.data;
    if (!r) return;
    const { box, line, wins, lots } = this.els;
    const hist = r.history;
    const sale = { currency: r.currency, currency_exponent: r.currency_exponent };
    const money = (m) => formatMoney(m, sale);
    show(box, true);
    box.dataset.spend = String(hist.spend);
    box.dataset.wins = String(hist.wins.length);
    box.dataset.bids = String(hist.counted_bids);
    setText(line, `${hist.counted_bids} bid${hist.counted_bids === 1 ? "" : "s"} on ${hist.lots.length} lot${hist.lots.length === 1 ? "" : "s"} · ${hist.wins.length} won · spend ${money(hist.spend)} (with premium)`);
    wins.replaceChildren(
      ...(hist.wins.length
        ? hist.wins.map((w) => h("li", {}, h("strong", {}, w.title), ` — hammer ${money(w.hammer)} + premium ${money(w.premium)} = ${money(w.total)}${w.buy_now ? " (buy now)" : ""}`))
        : [h("li", { class: "muted" }, "No lots won yet.")]),
    );
    lots.replaceChildren(
      ...hist.lots.map((l) => {
        const standing = l.status === "sold" ? (l.leading ? "won" : "lost") : l.leading ? "leading" : "outbid";
        return h(
          "li",
          { dataset: { lot: l.lot, standing } },
          h("strong", {}, l.title),
          ` — ${STATUS_TEXT[l.status] || l.status}, price ${money(l.price)}, your maximum ${money(l.max)}, ${l.bids} bid${l.bids === 1 ? "" : "s"}: `,
          h("span", { class: `standing standing-${standing}` }, standing.toUpperCase()),
        );
      }),
    );
  }
}
