// One lot's bids for the operator (the staff rows of
// `GET /api/v1/lots/{lot}/bids`: phone line, retraction reason), newest
// first, with "Retract" on each bid that still counts. A retraction asks
// for a reason and a confirmation, then says the lot's new price and
// leader; retracted bids stay listed, struck through, with their reason.
// The list is read again on each of the lot's bid events (several in
// flight are folded into one more read).

import { $, h, setText, show } from "./dom.js";
import { formatMoney } from "./money.js";
import { STATUS_TEXT, isClosed } from "./sale.js";
import { ask } from "./operator-ask.js";
import { clockTime } from "./operator-room.js";

const KIND_TEXT = { online: "internet", floor: "room", absentee: "absentee", commission: "commission", phone: "phone" };
const RELOAD_ON = ["bid_accepted", "retracted", "phone_line", "lot_opened", "reopened", "sold", "passed", "withdrawn"];

export class BidList {
  constructor({ rest, feed, say, changed }) {
    this.rest = rest;
    this.feed = feed;
    this.say = say;
    this.changed = changed;
    this.lot = null;
    this.bids = [];
    this.error = null;
    this.want = 0;
    this.loading = false;
    this.again = false;
  }

  start() {
    $("#op-bids-close").addEventListener("click", () => this.close());
  }

  button(l) {
    const open = this.lot === l.lot;
    return h("button", { id: `op-bids-${l.lot}`, class: `btn small${open ? " primary" : ""}`, type: "button", "aria-pressed": open ? "true" : "false", onclick: () => (open ? this.close() : this.open(l.lot)) }, "Bids");
  }

  open(lotId) {
    this.lot = lotId;
    this.bids = [];
    this.error = null;
    this.want = 0;
    show($("#op-bids"), true);
    this.render();
    this.changed();
    this.load();
    $("#op-bids").scrollIntoView({ block: "nearest" });
  }

  close() {
    this.lot = null;
    show($("#op-bids"), false);
    this.changed();
  }

  onEvent(e) {
    if (this.lot !== null && e.event.lot === this.lot && RELOAD_ON.includes(e.event.type)) this.load(e.index);
  }

  // Read the list at least at `minIndex`; a call while one is out asks for
  // one more read after it rather than racing it.
  async load(minIndex = 0) {
    this.want = Math.max(this.want, minIndex);
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      do {
        this.again = false;
        const lot = this.lot;
        if (lot === null) break;
        try {
          const r = await this.rest.get(`/api/v1/lots/${lot}/bids`, { minIndex: this.want });
          if (lot === this.lot) [this.bids, this.error] = [r.bids, null];
        } catch (err) {
          if (lot === this.lot) this.error = err.message;
        }
        this.render();
      } while (this.again);
    } finally {
      this.loading = false;
    }
  }

  render() {
    const model = this.feed.model;
    const l = model?.lots.get(this.lot);
    if (!l || !model.sale) return;
    const sale = model.sale;
    setText($("#op-bids-h"), `Bids on lot ${l.position + 1}: ${l.title}`);
    const leader = l.leader == null ? "no leader" : `paddle ${l.leader} leads`;
    const lotLine = $("#op-bids-lot");
    lotLine.dataset.minor = l.price ?? "";
    setText(lotLine, `${STATUS_TEXT[l.status] || l.status} · price ${formatMoney(l.price ?? null, sale)} · ${leader}`);
    const noIds = this.bids.some((b) => !b.retracted && !b.bid_id);
    const note = this.error
      ? `✕ Could not read the bids: ${this.error}`
      : !this.bids.length
        ? "No bids on this lot yet."
        : noIds
          ? "This node's bid list gives no bid ids, so bids cannot be retracted from here."
          : "";
    setText($("#op-bids-note"), note);
    const rows = this.bids.map((b, seq) => this.row(b, seq, l, sale)).reverse();
    $("#op-bid-rows").replaceChildren(...rows);
  }

  // One bid; `seq` is its place in the lot's history (oldest is 0).
  row(b, seq, l, sale) {
    const kind = `${KIND_TEXT[b.kind] || b.kind}${b.line != null ? ` · line ${b.line}` : ""}`;
    const state = b.retracted
      ? h("span", { class: "retract-note" }, `Retracted: ${b.retract_reason || "no reason recorded"}`)
      : "Counts";
    const canRetract = !b.retracted && !isClosed(l) && !!b.bid_id;
    const btn = b.retracted
      ? null
      : h(
          "button",
          { id: `op-retract-${l.lot}-${seq}`, class: "btn small danger", type: "button", disabled: !canRetract, title: b.bid_id ? null : "No bid id in the list: cannot retract", onclick: () => this.retract(b, l.lot) },
          "Retract…",
        );
    return h(
      "tr",
      { class: b.retracted ? "retracted" : null, dataset: { seq, paddle: b.paddle, minor: b.shown, retracted: b.retracted ? "true" : "false" } },
      h("td", { class: "num" }, String(seq + 1)),
      h("td", {}, `paddle ${b.paddle}`),
      h("td", { class: "num" }, formatMoney(b.shown, sale)),
      h("td", {}, kind),
      h("td", {}, b.stamp_ms ? clockTime(b.stamp_ms) : "—"),
      h("td", {}, state),
      h("td", {}, btn),
    );
  }

  async retract(b, lotId) {
    const model = this.feed.model;
    const l = model?.lots.get(lotId);
    if (!l || !model.sale) return;
    const sale = model.sale;
    const name = `lot ${l.position + 1}`;
    const what = `paddle ${b.paddle}'s bid of ${formatMoney(b.shown, sale)}`;
    const r = await ask({
      title: `Retract ${what}?`,
      text: `Lot ${l.position + 1}: ${l.title}. A ${KIND_TEXT[b.kind] || b.kind} bid at ${clockTime(b.stamp_ms)}. The price and the leader are worked out again from the other bids. This cannot be undone.`,
      yes: "Retract this bid",
      reason: { label: "Reason (required; staff see it with the bid)", max: 500 },
      run: (reason) => this.rest.post(`/api/v1/lots/${lotId}/retract`, { paddle: b.paddle, bid_id: b.bid_id, reason }),
      onError: (e) => this.say(false, `✕ Retracting ${what} on ${name} refused: ${e.message}`),
    });
    if (!r) return;
    Object.assign(l, r.lot ?? {});
    const now = l.price == null ? "no bid stands now" : `the price is now ${formatMoney(l.price, sale)}, paddle ${l.leader} leads`;
    this.say(true, `✓ Retracted ${what} on ${name}: ${now} (index ${r.index})`);
    this.changed();
    this.load(r.index);
  }
}
