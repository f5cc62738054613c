// One sale's public state as the page knows it: a snapshot, then events
// applied in (index, seq) order. Each event is applied at most once (a
// resume overlaps by one index on purpose), and everything received is
// recorded in `log`, so a test can prove nothing was missed or doubled.

export class SaleModel {
  constructor(saleId) {
    this.id = saleId;
    this.sale = null;
    this.lots = new Map();
    this.history = new Map();
    this.index = 0;
    this.lastSeq = Infinity;
    this.log = [];
    this.dupes = 0;
    this.extensions = new Map();
  }

  ready() {
    return this.sale !== null;
  }

  // A whole state at one index: everything at or below it is in it.
  applySnapshot(msg) {
    this.sale = msg.sale;
    this.lots = new Map((msg.lots || []).map((l) => [l.lot, { ...l }]));
    this.index = msg.index;
    this.lastSeq = Infinity;
    this.log.push({ snapshot: msg.index, reason: msg.reason });
  }

  // Take lots fetched over REST (after `lots_added`), keeping live fields
  // of lots we already follow.
  mergeLots(lots) {
    for (const l of lots) if (!this.lots.has(l.lot)) this.lots.set(l.lot, { ...l });
    if (this.sale) this.sale.lots = this.lots.size;
  }

  sortedLots() {
    return [...this.lots.values()].sort((a, b) => a.position - b.position);
  }

  // Returns the event if it is new (and applies it), null for a repeat.
  apply(e) {
    const newer = e.index > this.index || (e.index === this.index && e.seq > this.lastSeq);
    if (!newer) {
      this.dupes += 1;
      return null;
    }
    this.index = e.index;
    this.lastSeq = e.seq;
    this.log.push({ index: e.index, seq: e.seq, type: e.event.type });
    this.applyEvent(e.event, e);
    return e;
  }

  applyEvent(ev, e) {
    const lot = this.lots.get(ev.lot);
    const set = (fields) => lot && Object.assign(lot, fields);
    const pick = (...keys) => Object.fromEntries(keys.filter((k) => k in ev).map((k) => [k, ev[k]]));
    switch (ev.type) {
      case "lot_opened":
        set({ status: "open", ...pick("price", "leader", "minimum_next", "effective_end_ms") });
        if (this.sale) {
          this.sale.current_lot = ev.lot;
          this.sale.status = "running";
        }
        break;
      case "bid_accepted":
        set(pick("price", "leader", "reserve_met", "minimum_next", "effective_end_ms", "status"));
        if (lot) lot.bids = (lot.bids || 0) + 1;
        this.historyOf(ev.lot).unshift({ paddle: ev.paddle, shown: ev.shown, index: e.index, stamp_ms: e.stamp_ms });
        break;
      case "outbid":
        set(pick("price", "minimum_next"));
        break;
      case "lot_extended":
        set({ effective_end_ms: ev.effective_end_ms });
        this.extensionsOf(ev.lot).push({ from: ev.previous_end_ms, to: ev.effective_end_ms, index: e.index });
        break;
      case "asking_increment_set":
        set({ asking_increment: ev.increment, minimum_next: ev.minimum_next });
        break;
      case "fair_warning":
        set({ status: "fair_warning" });
        break;
      case "warning_lifted":
        set({ status: "open" });
        break;
      case "sold":
        set({
          status: "sold",
          price: ev.hammer,
          leader: ev.paddle,
          result: { winner: ev.paddle, hammer: ev.hammer, premium: ev.premium, total: ev.total, buy_now: ev.buy_now },
        });
        this.closeLot(ev.lot);
        break;
      case "passed":
        set({ status: "passed", result: { pass_reason: ev.reason } });
        this.closeLot(ev.lot);
        break;
      case "reopened":
        set({ status: "open", result: null, ...pick("price", "leader") });
        if (this.sale) this.sale.current_lot = ev.lot;
        break;
      case "sale_scheduled":
        if (this.sale) this.sale.mode = { type: "timed", opens_at_ms: ev.opens_at_ms, closes_at_ms: ev.closes_at_ms, stagger_ms: ev.stagger_ms };
        for (const l of this.lots.values()) {
          const end = ev.closes_at_ms + l.position * ev.stagger_ms;
          Object.assign(l, { opens_at_ms: ev.opens_at_ms, scheduled_end_ms: end, effective_end_ms: end });
        }
        break;
      case "lot_image_set":
        set({ image: ev.image });
        break;
      case "withdrawn":
        set({ status: "withdrawn" });
        this.closeLot(ev.lot);
        break;
      case "retracted":
        set(pick("price", "leader", "reserve_met", "minimum_next"));
        for (const b of this.historyOf(ev.lot)) if (b.paddle === ev.paddle) b.retracted = true;
        break;
      case "sale_paused":
        // Countdowns stand at effective_end_ms - since_ms until the resume.
        if (this.sale) this.sale.paused = { reason: ev.reason, since_ms: ev.since_ms };
        break;
      case "sale_resumed":
        // The new ends follow as lot_extended_by (reason "resume").
        if (this.sale) this.sale.paused = null;
        break;
      case "self_registration_set":
        if (this.sale) this.sale.self_registration = ev.open;
        break;
      case "rival_profiles_set":
        if (this.sale) this.sale.rival_profiles = ev.on;
        break;
      case "lot_extended_by":
        set({ effective_end_ms: ev.effective_end_ms });
        // The time a pause took, given back, is no news for the bidder;
        // an extension by the operator is.
        if (ev.reason !== "resume") {
          this.extensionsOf(ev.lot).push({ from: ev.previous_end_ms, to: ev.effective_end_ms, index: e.index, reason: ev.reason });
        }
        break;
    }
  }

  // A lot fetched again over REST (after `lot_edited`): its terms changed
  // before it opened, so the whole view is taken as it is.
  replaceLot(view) {
    if (this.lots.has(view.lot)) this.lots.set(view.lot, { ...view });
  }

  // A live sale keeps showing the closed lot until the clerk opens the next.
  closeLot() {
    if (this.sale && [...this.lots.values()].every((l) => ["sold", "passed", "withdrawn"].includes(l.status))) {
      this.sale.status = "closed";
    }
  }

  historyOf(lotId) {
    if (!this.history.has(lotId)) this.history.set(lotId, []);
    return this.history.get(lotId);
  }

  extensionsOf(lotId) {
    if (!this.extensions.has(lotId)) this.extensions.set(lotId, []);
    return this.extensions.get(lotId);
  }

  // Replace a lot's history with the REST one (maxes hidden by the node),
  // keeping newer entries that arrived as events while it loaded.
  setHistory(lotId, bids, asOf) {
    const live = this.historyOf(lotId).filter((b) => b.index > asOf);
    const rest = bids
      .slice()
      .sort((a, b) => b.index - a.index)
      .map((b) => ({ paddle: b.paddle, shown: b.shown, index: b.index, stamp_ms: b.stamp_ms, retracted: b.retracted, kind: b.kind }));
    this.history.set(lotId, [...live, ...rest]);
  }

  // The lot a person most likely wants to see: the live sale's current
  // lot, else the open lot that closes first, else the next to come.
  focusLot() {
    if (!this.sale) return null;
    if (this.sale.current_lot != null && this.lots.has(this.sale.current_lot)) return this.sale.current_lot;
    const lots = this.sortedLots();
    const open = lots
      .filter((l) => l.status === "open" || l.status === "fair_warning")
      .sort((a, b) => (a.effective_end_ms ?? Infinity) - (b.effective_end_ms ?? Infinity));
    if (open.length) return open[0].lot;
    const next = lots.find((l) => l.status === "scheduled");
    return (next || lots[lots.length - 1])?.lot ?? null;
  }
}

export const STATUS_TEXT = {
  scheduled: "Not open yet",
  open: "Open for bids",
  fair_warning: "Fair warning",
  sold: "Sold",
  passed: "Passed",
  withdrawn: "Withdrawn",
};

export function isClosed(lot) {
  return ["sold", "passed", "withdrawn"].includes(lot?.status);
}

export function isOpen(lot) {
  return lot?.status === "open" || lot?.status === "fair_warning";
}

// The buy-now price while it can still be taken, else null. The node
// offers it on a timed lot until the first bid (LotView.buy_now turns
// null then, but no event says so: the bid count tells).
export function buyNowOf(sale, lot) {
  if (lot?.buy_now == null || sale?.mode?.type !== "timed") return null;
  return lot.status === "open" && !lot.bids ? lot.buy_now : null;
}
