// Every bid gets an explicit outcome on the page: accepted, rejected with
// the node's own message, or "checking" while the outcome is unknown. An
// unknown bid (no answer, a lost connection, or the node's `unknown`) is
// sent again with the SAME bid id until an answer comes: the cluster keeps
// the first outcome of a bid id, so a retry can never make a second bid.
// Pending bids survive a reload (localStorage), for the same reason.
//
// A refusal without a log index ("no_quorum": the node could not reach the
// leader) speaks only for that one request. Once an earlier send of the
// same bid may have reached a leader (it was sent more than once, or
// before a reload), such a refusal settles nothing: the bid stays
// "checking" and is sent again until a node that can tell answers.

import { store } from "./rest.js";

const RESEND_MS = 2000;
const QUIET_MS = 8000;

export class BidDesk {
  // link: a Link; sale: the sale id; onChange(bid): redraw.
  constructor(link, sale, onChange) {
    this.link = link;
    this.sale = sale;
    this.onChange = onChange;
    this.bids = new Map();
    this.counter = 0;
    this.prefix = `web-${randomTag()}`;
    for (const b of store.get(`pending.${sale}`) || []) {
      this.bids.set(b.bid_id, { ...b, state: "unknown", tries: 1, message: "checking the outcome of a bid sent before the reload" });
    }
    setInterval(() => this.tick(), 1000);
  }

  // Place a bid with `max` as a decimal string; `amount` (minor units) is
  // for showing it. `buyNow`: take the lot at its buy-now price (`max` must
  // be that price); its outcome is shown apart, so it is not `latest`.
  place(lot, max, amount, { buyNow = false } = {}) {
    const bid = { bid_id: `${this.prefix}-${++this.counter}`, lot, max, amount, state: "sending", tries: 0 };
    if (buyNow) bid.buy_now = true;
    this.bids.set(bid.bid_id, bid);
    if (!buyNow) this.latest = bid.bid_id;
    this.persist();
    this.send(bid);
    this.onChange(bid);
    return bid;
  }

  send(bid) {
    bid.tries += 1;
    bid.sentAt = performance.now();
    const msg = { type: "bid", bid_id: bid.bid_id, lot: bid.lot, max: bid.max };
    if (bid.buy_now) msg.buy_now = true;
    const ok = this.link.send(msg);
    if (!ok) bid.waiting = true;
  }

  // A bid_result from the node.
  onResult(msg) {
    const bid = this.bids.get(msg.bid_id);
    if (!bid) return null;
    bid.code = msg.code;
    bid.message = msg.message;
    bid.index = msg.index;
    if (msg.outcome === "accepted") {
      bid.state = "accepted";
      bid.leading = msg.leading;
      bid.lotState = msg.lot;
    } else if (msg.outcome === "rejected" && msg.index == null && bid.tries > 1) {
      // This request was refused before reaching the log, but an earlier one
      // may have got there: still unknown.
      bid.state = "unknown";
      bid.message = `${msg.message} — still checking an earlier send of this bid`;
      bid.retryAt = performance.now() + RESEND_MS;
    } else if (msg.outcome === "rejected") {
      bid.state = "rejected";
    } else {
      bid.state = "unknown";
      bid.retryAt = performance.now() + RESEND_MS;
    }
    this.persist();
    this.onChange(bid);
    return bid;
  }

  // After each welcome: send again whatever has no outcome yet.
  onWelcome() {
    for (const bid of this.open()) {
      bid.waiting = false;
      this.send(bid);
      this.onChange(bid);
    }
  }

  open() {
    return [...this.bids.values()].filter((b) => b.state === "sending" || b.state === "unknown");
  }

  tick() {
    const now = performance.now();
    for (const bid of this.open()) {
      if (!this.link.ready()) continue;
      const due = bid.state === "unknown" ? now >= (bid.retryAt || 0) : now - bid.sentAt > QUIET_MS;
      if (due) {
        if (bid.state === "sending") {
          bid.state = "unknown";
          bid.message = "no answer yet";
        }
        bid.retryAt = now + RESEND_MS;
        this.send(bid);
        this.onChange(bid);
      }
    }
  }

  persist() {
    // buy_now is kept too: resent without it, a buy-now would be a plain bid.
    const open = this.open().map(({ bid_id, lot, max, amount, buy_now }) => ({ bid_id, lot, max, amount, buy_now }));
    store.set(`pending.${this.sale}`, open.length ? open : null);
  }
}

function randomTag() {
  const a = new Uint8Array(4);
  crypto.getRandomValues(a);
  return [...a].map((b) => b.toString(16).padStart(2, "0")).join("");
}
