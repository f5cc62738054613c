// Following one sale for the consoles and the venue screen: snapshot,
// events (single or grouped), lots added later, presence. The page gets
// onEvent(event, model) for each new event and onChange() after any.

import { SaleModel } from "./sale.js";

export class SaleFeed {
  constructor(link, rest, { onEvent = () => {}, onChange = () => {} } = {}) {
    this.link = link;
    this.rest = rest;
    this.onEvent = onEvent;
    this.onChange = onChange;
    this.model = null;
    this.watchers = null;
  }

  open(saleId) {
    if (this.model?.id === saleId) return;
    if (this.model) this.link.unfollow(this.model.id);
    this.model = new SaleModel(saleId);
    this.watchers = null;
    this.link.follow(saleId, () => this.model?.index || 0);
    this.onChange();
  }

  // Handle a message if it is about our sale; the page sees the rest.
  handle(m) {
    const model = this.model;
    if (!model) return;
    if (m.type === "snapshot" && m.sale.sale === model.id) {
      model.applySnapshot(m);
    } else if (m.type === "event" && m.sale === model.id) {
      this.take(m);
    } else if (m.type === "events" && m.sale === model.id) {
      for (const e of m.events) this.take(e);
    } else if (m.type === "presence" && m.sale === model.id) {
      this.watchers = m.watchers;
    } else {
      return;
    }
    this.onChange();
  }

  take(e) {
    const model = this.model;
    if (!model.apply(e)) return;
    if (e.event.type === "lots_added") {
      this.rest
        .get(`/api/v1/sales/${model.id}/lots`, { minIndex: e.index })
        .then((r) => {
          model.mergeLots(r.lots);
          this.onChange();
        })
        .catch(() => {});
    }
    this.onEvent(e, model);
  }
}
