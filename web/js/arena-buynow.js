// Buy-now on the bidder page. A timed lot may offer a buy-now price until
// its first bid. Taking it ends the lot at once, so it takes two taps:
// "Buy now for PRICE" opens a confirm step that names the price, premium
// and total, then "Confirm buy-now at PRICE" sends it (or Cancel, and
// nothing is sent). It goes as the ordinary bid message with buy_now set
// and max = the price (bids.js: retried with the same bid id until an
// outcome is known, never placed twice), and its outcome is shown here,
// apart from the ordinary bids' line, because it stays visible after the
// lot is sold (when the bid panel is gone).

import { $, setText, show } from "./dom.js";
import { formatMoney, toDecimal, exponentOf, premiumOf } from "./money.js";
import { buyNowOf } from "./sale.js";
import { pauseOf } from "./pause.js";

// Why a buy-now was refused, for the codes a bidder can act on.
const WHY = {
  buy_now_unavailable: "it is no longer offered (a bid came in first, or the lot closed)",
  buy_now_price_mismatch: "the buy-now price has changed; check the new price",
  sale_paused: "the sale is paused; buy-now is taken again when it resumes",
  not_approved: "the desk has not approved your paddle yet",
  token_replaced: "your sign-in was replaced at the desk; sign in with the new code",
  unauthorized: "this phone is not signed in any more",
};

export class BuyNow {
  // ctx: desk(), me(), model(), lot() — the controller's current ones;
  // onChange(): draw again.
  constructor(ctx) {
    this.ctx = ctx;
    this.askLot = null; // the lot whose confirm step is open
    this.outcome = null; // {bid} (a sent buy-now) or {lot, state, code, text}
    $("#buy-now").addEventListener("click", () => this.ask());
    $("#buy-now-confirm").addEventListener("click", () => this.confirm());
    $("#buy-now-cancel").addEventListener("click", () => this.cancel());
  }

  // A buy-now sent before a reload is still being checked: show it.
  adopt(desk) {
    const open = desk.open().filter((b) => b.buy_now);
    this.outcome = open.length ? { bid: open[open.length - 1] } : null;
    this.askLot = null;
  }

  ask() {
    const { lot, sale, price } = this.now();
    if (price == null) return this.note(lot, "rejected", "buy_now_unavailable", "✕ Buy-now is no longer offered on this lot. Nothing was sent.");
    if (!this.ctx.me()) return this.note(lot, "rejected", "not_registered", "Register, or sign in with your code from the desk (below), then tap Buy now again.");
    if (pauseOf(sale)) return this.note(lot, "rejected", "sale_paused", "✕ The sale is paused: buy-now is not taken until it resumes. Nothing was sent.");
    const mine = this.outcome?.bid?.lot === lot.lot ? this.outcome.bid : null;
    // One buy-now at a time: the one sent is still being checked.
    if (mine && (mine.state === "sending" || mine.state === "unknown")) return this.ctx.onChange();
    this.askLot = lot.lot;
    // What an earlier tap said ("cancelled", "not accepted") is over now.
    if (this.outcome && (this.outcome.bid ? this.outcome.bid.lot : this.outcome.lot) === lot.lot) this.outcome = null;
    this.ctx.onChange();
    $("#buy-now-confirm").focus();
  }

  confirm() {
    const { lot, sale, price } = this.now();
    const asked = this.askLot;
    this.askLot = null;
    if (!lot || asked !== lot.lot || price == null) return this.note(lot, "rejected", "buy_now_unavailable", "✕ Buy-now is no longer offered on this lot. Nothing was sent.");
    if (pauseOf(sale)) return this.note(lot, "rejected", "sale_paused", "✕ The sale is paused: buy-now is not taken until it resumes. Nothing was sent.");
    const bid = this.ctx.desk().place(lot.lot, toDecimal(price, exponentOf(sale)), price, { buyNow: true });
    this.outcome = { bid };
    this.ctx.onChange();
  }

  cancel() {
    const { lot } = this.now();
    this.askLot = null;
    this.note(lot, "cancelled", "", "Buy-now cancelled: nothing was sent.");
    $("#buy-now").focus();
  }

  now() {
    const model = this.ctx.model();
    const lot = this.ctx.lot();
    const sale = model?.sale;
    return { lot, sale, price: sale && lot ? buyNowOf(sale, lot) : null };
  }

  note(lot, state, code, text) {
    this.outcome = { lot: lot?.lot, state, code, text };
    this.ctx.onChange();
  }

  render(sale, lot) {
    const price = buyNowOf(sale, lot);
    if (this.askLot !== null && (this.askLot !== lot.lot || price == null)) {
      // The offer went while the bidder was deciding (a bid came first).
      if (this.askLot === lot.lot) this.outcome = { lot: lot.lot, state: "rejected", code: "buy_now_unavailable", text: "✕ Buy-now is no longer offered: a bid came in first. Nothing was sent." };
      this.askLot = null;
    }
    const o = this.outcome;
    const here = o && (o.bid ? o.bid.lot : o.lot) === lot.lot ? o : null;
    const asking = this.askLot === lot.lot;
    show($("#buy-now-box"), price != null || !!here);
    const btn = $("#buy-now");
    show(btn, price != null && !asking);
    btn.setAttribute("aria-expanded", String(asking));
    show($("#buy-now-ask"), asking);
    if (price != null) {
      const text = formatMoney(price, sale);
      btn.dataset.minor = String(price);
      setText(btn, `Buy now for ${text}`);
      const prem = premiumOf(price, sale.premium_bp);
      setText($("#buy-now-sum"), `Buy this lot now for ${text}, plus ${formatMoney(prem, sale)} buyer's premium: ${formatMoney(price + prem, sale)} in total. Bidding on it ends at once and it is yours.`);
      const ok = $("#buy-now-confirm");
      ok.dataset.minor = String(price);
      setText(ok, `Confirm buy-now at ${text}`);
    }
    this.renderOutcome(here, sale);
  }

  renderOutcome(o, sale) {
    const el = $("#buy-now-outcome");
    let state = "none";
    let code = "";
    let text = "";
    if (o?.bid) {
      const bid = o.bid;
      const amount = formatMoney(bid.amount, sale);
      state = bid.state;
      code = bid.code || "";
      text = {
        sending: `Sending your buy-now at ${amount}…`,
        accepted: `✓ Buy-now accepted: this lot is yours for ${amount} (plus the buyer's premium).`,
        rejected: `✕ Buy-now at ${amount} not accepted: ${WHY[code] || bid.message || code}. You have not bought it.`,
        unknown: `↻ No confirmation yet for your buy-now at ${amount}: checking again (the same request, never placed twice)…`,
      }[bid.state];
    } else if (o) {
      ({ state, code, text } = o);
    }
    el.dataset.state = state;
    el.dataset.code = code;
    el.className = `outcome ${state}`;
    setText(el, text || "");
  }
}
