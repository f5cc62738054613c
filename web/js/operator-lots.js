// Editing a lot before it opens (`PUT /api/v1/lots/{lot}`): only a
// scheduled lot with no bids, and the body replaces every term at once
// (the same object as when the lot was added). The form starts from the
// lot as the node has it when "Edit…" is pressed: `GET /api/v1/lots/{lot}`
// with the operator's token also carries the terms the public view hides
// (`terms`: the reserve's amount and the seller's paddle), so every field
// is filled in and saving keeps what was not changed. The node's refusal
// (`wrong_status`, `invalid_input`) is shown in the dialog, in its own
// words, with the form kept for a correction.

import { $, h, setText, show } from "./dom.js";
import { parseDecimal, toDecimal, exponentOf } from "./money.js";
import { Suggester } from "./operator-suggest.js";

// The terms a `lot_edited` event sends the console back for.
const TERMS = ["title", "description", "start", "has_reserve", "reserve_met", "buy_now", "minimum_next", "image"];

export class LotEditor {
  constructor({ rest, feed, say, changed }) {
    this.rest = rest;
    this.feed = feed;
    this.say = say;
    this.changed = changed;
    this.lot = null;
    this.opening = null; // the lot whose terms are being fetched
    this.suggester = new Suggester(rest);
  }

  start() {
    $("#op-edit-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.save();
    });
    $("#op-edit-cancel").addEventListener("click", () => $("#op-edit-dialog").close());
    $("#op-edit-dialog").addEventListener("close", () => (this.lot = null));
    this.suggester.start(() => (this.lot === null ? null : { lot: this.lot, sale: this.feed.model?.sale }));
  }

  // Another console (or this one) edited a lot: its terms are fetched again.
  onEvent(e, model) {
    if (e.event.type !== "lot_edited") return;
    const id = e.event.lot;
    this.rest
      .get(`/api/v1/lots/${id}`, { minIndex: e.index })
      .then((r) => {
        const lot = this.feed.model === model ? model.lots.get(id) : null;
        if (!lot) return;
        for (const k of TERMS) if (k in r.lot) lot[k] = r.lot[k];
        this.changed();
      })
      .catch(() => {});
  }

  // "Edit…" while the lot may still be edited; the node has the last word.
  button(l) {
    if (l.status !== "scheduled" || l.bids) return null;
    return h("button", { id: `op-edit-${l.lot}`, class: "btn small", type: "button", onclick: () => this.open(l.lot) }, "Edit…");
  }

  // The lot and its hidden terms are read afresh (at least as new as this
  // console's view), then the dialog opens filled in. Without the terms
  // (not an operator's token) it does not open: saving would drop them.
  async open(lotId) {
    const model = this.feed.model;
    const known = model?.lots.get(lotId);
    const dlg = $("#op-edit-dialog");
    if (!known || !model.sale || dlg.open || this.opening !== null) return;
    const name = `lot ${known.position + 1}`;
    this.opening = lotId;
    let r;
    try {
      r = await this.rest.get(`/api/v1/lots/${lotId}`, { minIndex: model.index });
    } catch (e) {
      return this.say(false, `✕ Could not load ${name} to edit it: ${e.message}`);
    } finally {
      this.opening = null;
    }
    if (this.feed.model !== model || dlg.open) return;
    if (!r.terms) return this.say(false, `✕ The node did not send the reserve and seller of ${name} (they need the operator's token): not opened, so nothing is lost.`);
    const l = { ...known, ...r.lot };
    const sale = model.sale;
    const exp = exponentOf(sale);
    const money = (minor) => (minor == null ? "" : toDecimal(minor, exp));
    this.lot = lotId;
    setText($("#op-edit-h"), `Edit lot ${l.position + 1}: ${l.title}`);
    $("#op-edit-title").value = l.title;
    $("#op-edit-desc").value = l.description ?? "";
    $("#op-edit-start").value = money(l.start);
    $("#op-edit-reserve").value = money(r.terms.reserve);
    $("#op-edit-buy").value = money(l.buy_now);
    $("#op-edit-seller").value = r.terms.seller == null ? "" : String(r.terms.seller);
    // The rules take buy-now prices in timed sales only.
    show($("#op-edit-buy-box"), sale.mode.type === "timed");
    setText($("#op-edit-currency"), `Amounts in ${sale.currency}, like ${toDecimal(l.start, exp)}.`);
    setText($("#op-edit-msg"), "");
    this.suggester.reset(Boolean(l.image));
    dlg.showModal();
    $("#op-edit-title").focus();
  }

  // The lot object of `POST /api/v1/sales/{sale}/lots`, or a message.
  read(sale) {
    const exp = exponentOf(sale);
    const amount = (id) => {
      const t = $(id).value.trim();
      if (!t) return null;
      const minor = parseDecimal(t, exp);
      return minor === null ? undefined : toDecimal(minor, exp);
    };
    const title = $("#op-edit-title").value.trim();
    if (!title) return { error: "A lot needs a title." };
    const start = amount("#op-edit-start");
    const reserve = amount("#op-edit-reserve");
    const buy_now = sale.mode.type === "timed" ? amount("#op-edit-buy") : null;
    if ([start, reserve, buy_now].includes(undefined) || !start) {
      return { error: `Amounts are like 10.00 in ${sale.currency} (at most ${exp} decimals); the start is required.` };
    }
    const s = $("#op-edit-seller").value.trim();
    if (s && !(/^\d{1,10}$/.test(s) && Number(s) >= 1 && Number(s) <= 4294967295)) {
      return { error: "The seller is a paddle number like 12, or empty." };
    }
    const seller = s ? Number(s) : null;
    return { lot: { title, description: $("#op-edit-desc").value.trim(), start, reserve, buy_now, seller } };
  }

  async save() {
    const model = this.feed.model;
    const l = model?.lots.get(this.lot);
    if (!l || !model.sale) return;
    const msg = $("#op-edit-msg");
    const { lot, error } = this.read(model.sale);
    if (error) return setText(msg, error);
    const btn = $("#op-edit-save");
    btn.disabled = true;
    setText(msg, "Saving…");
    const name = `lot ${l.position + 1}`;
    try {
      const r = await this.rest.call("PUT", `/api/v1/lots/${l.lot}`, { body: lot });
      const exp = exponentOf(model.sale);
      const minor = (d) => (d == null ? null : parseDecimal(d, exp));
      Object.assign(l, { title: lot.title, description: lot.description, start: minor(lot.start), buy_now: minor(lot.buy_now) }, r.lot ?? {});
      $("#op-edit-dialog").close();
      this.say(true, `✓ Saved ${name}: “${lot.title}” (index ${r.index})`);
      this.changed();
    } catch (e) {
      setText(msg, `✕ Not saved: ${e.message}`);
      this.say(false, `✕ Editing ${name} refused: ${e.message}`);
    } finally {
      btn.disabled = false;
    }
  }
}
