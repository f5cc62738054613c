// After the hammer: what this bidder won and what they owe, from their own
// invoice (their token may read it), with a link to the printable one.
// Fetched again when the lots sold to them change, and every 30 s while
// something is owed (payments at the cashier send no public event).

import { $, h, setText, show } from "./dom.js";
import { formatMoney } from "./money.js";

const AGAIN_MS = 30000;

export class MyInvoice {
  constructor(rest) {
    this.rest = rest;
    this.key = "";
    this.at = 0;
    this.busy = false;
    this.owed = false;
  }

  update(app) {
    const box = $("#my-invoice");
    const model = app.model;
    const me = app.me;
    if (!me || !model?.ready()) return show(box, false);
    const won = [...model.lots.values()].filter((l) => l.status === "sold" && (l.result?.winner ?? l.leader) === me.paddle);
    if (!won.length) {
      this.key = "";
      return show(box, false);
    }
    const key = `${app.sale}:${me.paddle}:${won.map((l) => l.lot).join(",")}`;
    const stale = this.owed && Date.now() - this.at > AGAIN_MS;
    if ((key === this.key && !stale) || this.busy) return;
    this.busy = true;
    this.rest
      .get(`/api/v1/sales/${app.sale}/invoices/${me.paddle}`, { minIndex: model.index })
      .then((r) => {
        this.key = key;
        this.at = Date.now();
        this.owed = r.invoice.balance > 0;
        render(r, model.sale);
      })
      .catch(() => {})
      .finally(() => (this.busy = false));
  }
}

function render(r, sale) {
  const inv = r.invoice;
  const view = { ...sale, currency_exponent: r.currency_exponent };
  const money = (m) => formatMoney(m, view);
  const n = inv.lines.length;
  setText($("#my-invoice-won"), `You won ${n} lot${n === 1 ? "" : "s"}: ${inv.lines.map((l) => l.title).join(", ")}`);
  $("#my-invoice-figures").replaceChildren(
    h("dt", {}, "Total with premium and tax"),
    h("dd", { id: "my-invoice-total" }, money(inv.total)),
    h("dt", {}, "Paid"),
    h("dd", {}, money(inv.paid)),
    h("dt", {}, "To pay"),
    h("dd", { id: "my-invoice-balance" }, money(inv.balance)),
  );
  $("#my-invoice-link").href = `/invoice?sale=${inv.sale}&paddle=${inv.paddle}`;
  show($("#my-invoice"), true);
}
