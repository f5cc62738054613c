// Settlement setup on the operator console: the selected sale's terms (tax
// and its basis, seller commission, the house's name and address for
// invoices and statements), the consignors (add, edit), which consignor
// each lot belongs to, links to each consignor's printable statement, and
// the sale's summary (hammer, premium, tax, commission, sell-through, paid,
// outstanding). Rates are typed as percentages and sent as basis points;
// amounts come as integer minor units and are shown with the sale's
// currency exponent (money.js).

import { $, h, setText, show } from "./dom.js";
import { report } from "./staff.js";
import { formatMoney, formatBp, parseDecimal } from "./money.js";

const BASIS = { none: "charged on nothing", premium: "on the premium", hammer_and_premium: "on hammer and premium" };

// "12.5" -> 1250 basis points; "" -> null; anything else -> undefined.
function rate(text) {
  const t = text.trim().replace(/\s*%$/, "");
  if (!t) return null;
  const bp = parseDecimal(t, 2);
  return bp === null || bp > 10000 ? undefined : bp;
}
// 1250 -> "12.5" for a field.
const rateText = (bp) => (bp == null ? "" : formatBp(bp).replace(" %", ""));

export class Settle {
  constructor({ rest, feed, say }) {
    this.rest = rest;
    this.feed = feed;
    this.sayTop = say;
    this.sale = null; // the sale id shown
    this.exp = null; // currency_exponent from the settlement read
    this.consignors = [];
    this.owner = new Map(); // lot id -> consignor id
  }

  start() {
    $("#st-terms").addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveTerms();
    });
    $("#st-cons-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveConsignor();
    });
    $("#st-cons-cancel").addEventListener("click", () => this.editConsignor(null));
    $("#st-refresh").addEventListener("click", () => this.load());
  }

  say(ok, text) {
    report($("#st-msg"), ok, text);
    this.sayTop(ok, text);
  }

  // The operator picked a sale.
  choose(saleId) {
    if (this.sale !== saleId) this.fillTerms = true;
    this.sale = saleId;
    show($("#st-body"), true);
    setText($("#st-none"), "");
    this.load();
  }

  onEvent(e) {
    if (["sold", "passed", "withdrawn", "reopened", "lots_added", "bid_retracted"].includes(e.event.type)) this.load(e.index);
  }

  // Lots changed on the feed (added, renamed): redraw their consignors.
  changed() {
    this.renderLots();
  }

  money(minor) {
    const sale = this.feed.model?.sale;
    const currency = sale?.currency ?? "";
    return formatMoney(minor, { currency, currency_exponent: this.exp ?? sale?.currency_exponent });
  }

  async load(minIndex) {
    const id = this.sale;
    if (id === null) return;
    try {
      const [st, cons, stm] = await Promise.all([
        this.rest.get(`/api/v1/sales/${id}/settlement`, { minIndex }),
        this.rest.get("/api/v1/consignors", { minIndex }),
        this.rest.get(`/api/v1/sales/${id}/statements`, { minIndex }),
      ]);
      if (id !== this.sale) return;
      this.exp = st.currency_exponent;
      this.terms = st.terms;
      this.summary = st.summary;
      this.consignors = cons.consignors;
      this.statements = stm.statements;
      this.owner = new Map(stm.statements.flatMap((s) => s.lines.map((l) => [l.lot, s.consignor.id])));
      if (this.fillTerms) this.renderTerms();
      this.fillTerms = false;
      this.renderSummary();
      this.renderConsignors();
      this.renderLots();
    } catch (e) {
      report($("#st-msg"), false, `✕ Could not load the settlement: ${e.message}`);
    }
  }

  renderTerms() {
    const t = this.terms;
    $("#st-tax").value = rateText(t.tax_bp);
    $("#st-basis").value = t.tax_on;
    $("#st-commission").value = rateText(t.commission_bp);
    $("#st-house-name").value = t.house_name;
    $("#st-house-address").value = t.house_address;
    setText($("#st-terms-now"), `Now: tax ${formatBp(t.tax_bp)} (${BASIS[t.tax_on] ?? t.tax_on}), commission ${formatBp(t.commission_bp)}${t.house_name ? `, ${t.house_name}` : ""}.`);
  }

  renderSummary() {
    const s = this.summary;
    const rows = [
      ["Lots sold", `${s.sold} of ${s.lots} (${s.passed} passed)`],
      ["Sell-through", formatBp(s.sell_through_bp)],
      ["Hammer", this.money(s.hammer)],
      ["Premium", this.money(s.premium)],
      ["Tax", this.money(s.tax)],
      ["Invoiced", this.money(s.invoiced)],
      ["Commission", this.money(s.commission)],
      ["Paid", this.money(s.paid)],
      ["Outstanding", this.money(s.outstanding)],
      ["Invoices paid", `${s.invoices_paid} of ${s.invoices}`],
    ];
    $("#st-summary").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { key: k.toLowerCase().replace(/[^a-z]+/g, "-") } }, v)]));
  }

  renderConsignors() {
    const net = new Map((this.statements || []).map((s) => [s.consignor.id, s]));
    $("#st-cons-rows").replaceChildren(
      ...this.consignors.map((c) => {
        const st = net.get(c.id);
        return h(
          "tr",
          { dataset: { consignor: c.id } },
          h("td", {}, String(c.id)),
          h("td", {}, c.name),
          h("td", {}, c.contact || "—"),
          h("td", { class: "num" }, c.commission_bp == null ? "sale's" : formatBp(c.commission_bp)),
          h("td", { class: "num" }, st ? `${st.sold} sold, net ${this.money(st.net)}` : "no lots"),
          h(
            "td",
            {},
            h("a", { class: "btn small", href: `/statement?sale=${this.sale}&consignor=${c.id}`, target: "_blank", rel: "noopener" }, "Statement"),
            " ",
            h("button", { class: "btn small", type: "button", onclick: () => this.editConsignor(c) }, "Edit"),
          ),
        );
      }),
    );
    setText($("#st-cons-note"), this.consignors.length ? "" : "No consignors yet: add one below.");
  }

  renderLots() {
    const model = this.feed.model;
    if (!model?.ready() || model.id !== this.sale) return;
    // Redrawn only when something it shows changed (not on every bid), so
    // a select the operator has open stays open.
    const lots = model.sortedLots();
    const key = JSON.stringify([lots.map((l) => [l.lot, l.title]), this.consignors.map((c) => [c.id, c.name]), [...this.owner]]);
    if (key === this.lotsKey) return;
    this.lotsKey = key;
    const options = (lot) => [
      h("option", { value: "" }, "— none —"),
      ...this.consignors.map((c) => {
        const o = h("option", { value: String(c.id) }, c.name);
        o.selected = this.owner.get(lot) === c.id;
        return o;
      }),
    ];
    $("#st-lot-rows").replaceChildren(
      ...lots.map((l) =>
        h(
          "tr",
          { dataset: { lot: l.lot } },
          h("td", {}, String(l.position + 1)),
          h("td", {}, l.title),
          h(
            "td",
            {},
            h("select", { id: `st-lot-${l.lot}`, "aria-label": `Consignor of lot ${l.position + 1}`, onchange: (e) => this.setOwner(l, e.target) }, ...options(l.lot)),
          ),
        ),
      ),
    );
  }

  async saveTerms() {
    const tax = rate($("#st-tax").value);
    const commission = rate($("#st-commission").value);
    if (tax === undefined) return this.say(false, "✕ Tax: a percentage from 0 to 100 with at most 2 decimals, like 20 or 5.5.");
    if (commission === undefined) return this.say(false, "✕ Commission: a percentage from 0 to 100 with at most 2 decimals, like 15.");
    const terms = {
      tax_bp: tax ?? 0,
      tax_on: $("#st-basis").value,
      commission_bp: commission ?? 0,
      house_name: $("#st-house-name").value.trim(),
      house_address: $("#st-house-address").value.trim(),
    };
    try {
      const r = await this.rest.post(`/api/v1/sales/${this.sale}/settlement`, terms);
      this.say(true, `✓ Settlement terms saved (index ${r.index})`);
      this.fillTerms = true;
      await this.load(r.index);
    } catch (e) {
      this.say(false, `✕ Saving the terms refused: ${e.message}`);
    }
  }

  editConsignor(c) {
    $("#st-cons-form").dataset.edit = c ? String(c.id) : "";
    $("#st-cons-name").value = c?.name ?? "";
    $("#st-cons-contact").value = c?.contact ?? "";
    $("#st-cons-commission").value = rateText(c?.commission_bp);
    setText($("#st-cons-h"), c ? `Edit consignor ${c.id}` : "Add a consignor");
    setText($("#st-cons-save"), c ? "Save changes" : "Add consignor");
    show($("#st-cons-cancel"), !!c);
    if (c) $("#st-cons-name").focus();
  }

  async saveConsignor() {
    const name = $("#st-cons-name").value.trim();
    const commission = rate($("#st-cons-commission").value);
    if (!name || name.length > 100) return this.say(false, "✕ A consignor needs a name of 1 to 100 characters.");
    if (commission === undefined) return this.say(false, "✕ Commission: empty for the sale's, or a percentage from 0 to 100 like 12.5.");
    const body = { name, contact: $("#st-cons-contact").value.trim(), commission_bp: commission };
    const edit = $("#st-cons-form").dataset.edit;
    try {
      const r = edit ? await this.rest.call("PUT", `/api/v1/consignors/${edit}`, { body }) : await this.rest.post("/api/v1/consignors", body);
      this.say(true, `✓ Consignor “${r.consignor.name}” ${edit ? "saved" : `added as ${r.consignor.id}`} (index ${r.index})`);
      this.editConsignor(null);
      await this.load(r.index);
    } catch (e) {
      this.say(false, `✕ ${edit ? "Saving" : "Adding"} the consignor refused: ${e.message}`);
    }
  }

  async setOwner(lot, select) {
    const consignor = select.value === "" ? null : Number(select.value);
    const who = consignor === null ? "no consignor" : this.consignors.find((c) => c.id === consignor)?.name;
    select.disabled = true;
    try {
      const r = await this.rest.post(`/api/v1/sales/${this.sale}/lot-consignors`, { lots: [{ lot: lot.lot, consignor }] });
      this.say(true, `✓ Lot ${lot.position + 1}: ${who} (index ${r.index})`);
      await this.load(r.index);
    } catch (e) {
      this.say(false, `✕ Setting lot ${lot.position + 1}'s consignor refused: ${e.message}`);
      this.lotsKey = null;
      this.renderLots();
    } finally {
      select.disabled = false;
    }
  }
}
