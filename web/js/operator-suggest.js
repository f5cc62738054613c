// The assistant's "Suggest" in the lot editor: `POST
// /api/v1/sales/{sale}/lots/{lot}/suggest` answers a title, description,
// low–high estimate and start price, from the lot's photo (the venue's
// model server) or from comparable lots sold here, with a note saying
// which and why. Nothing is applied: "Use these" only fills the form, and
// the operator saves it as an ordinary edit.

import { $, h, setText, show } from "./dom.js";
import { toDecimal, exponentOf } from "./money.js";

const SOURCES = {
  model: "From the photo, by the venue's model server",
  comparables: "From comparable lots sold here",
  no_comparables: "No comparables",
};

export class Suggester {
  constructor(rest) {
    this.rest = rest;
    this.current = null; // () => { lot, sale } of the open dialog
    this.last = null;
  }

  start(current) {
    this.current = current;
    $("#op-edit-suggest").addEventListener("click", () => this.ask());
  }

  // A new dialog: the assistant box only for a lot with a photo.
  reset(hasPhoto) {
    this.last = null;
    $("#op-suggestion").replaceChildren();
    show($("#op-suggest-box"), hasPhoto);
  }

  async ask() {
    const cur = this.current?.();
    if (!cur?.sale) return;
    const out = $("#op-suggestion");
    const btn = $("#op-edit-suggest");
    btn.disabled = true;
    out.replaceChildren(h("p", { class: "muted" }, "Asking the assistant…"));
    try {
      const r = await this.rest.call("POST", `/api/v1/sales/${cur.sale.sale}/lots/${cur.lot}/suggest`, { body: {} });
      if (this.current?.()?.lot !== cur.lot) return;
      this.last = r.suggestion;
      out.replaceChildren(...this.render(r.suggestion, cur.sale));
    } catch (e) {
      out.replaceChildren(h("p", { class: "error" }, `✕ No suggestion: ${e.message}`));
    } finally {
      btn.disabled = false;
    }
  }

  render(s, sale) {
    const exp = exponentOf(sale);
    const money = (m) => (m == null ? "—" : `${toDecimal(m, exp)} ${sale.currency}`);
    const parts = [
      h("p", { class: "note", id: "op-suggest-note" }, `${SOURCES[s.source] ?? s.source}. ${s.note}`),
      h("dl", { class: "pairs" },
        h("dt", {}, "Title"), h("dd", {}, s.title),
        h("dt", {}, "Estimate"), h("dd", { id: "op-suggest-estimate" }, s.estimate_low == null ? "—" : `${money(s.estimate_low)} – ${money(s.estimate_high)}`),
        h("dt", {}, "Start"), h("dd", {}, money(s.start))),
    ];
    if (s.description) parts.push(h("p", {}, s.description));
    if (s.comparables.length) {
      parts.push(h("p", { class: "muted" }, "Comparables:"),
        h("ul", { class: "comparables" }, ...s.comparables.map((c) =>
          h("li", {}, `${c.title} — ${money(c.hammer)} (sale ${c.sale}, lot ${c.lot}, ${c.similarity_pct} % alike)`))));
    }
    if (s.source !== "no_comparables") {
      parts.push(h("button", { id: "op-suggest-use", class: "btn small", type: "button", onclick: () => this.use(sale) }, "Use these"));
    }
    return parts;
  }

  // Fill the form; the operator still reviews and saves.
  use(sale) {
    const s = this.last;
    if (!s) return;
    const exp = exponentOf(sale);
    $("#op-edit-title").value = s.title;
    let desc = s.description ?? "";
    if (s.estimate_low != null) desc = `${desc}${desc ? "\n\n" : ""}Estimate ${toDecimal(s.estimate_low, exp)}–${toDecimal(s.estimate_high, exp)} ${sale.currency}.`;
    $("#op-edit-desc").value = desc;
    $("#op-edit-start").value = toDecimal(s.start, exp);
    setText($("#op-edit-msg"), "Suggestion filled in: review it, then save.");
  }
}
