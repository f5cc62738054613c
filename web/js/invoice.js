// A buyer's printable invoice (`/invoice?sale=&paddle=`): staff, or the
// bidder with their own token.

import { $, h, param } from "./dom.js";
import { saleId, rest, fail, header, table, totals, done } from "./doc.js";

const STATUS = { unpaid: "Unpaid", part_paid: "Part paid", paid: "Paid", credit: "In credit" };

async function main() {
  const paddle = Number(param("paddle"));
  const r = await rest.get(`/api/v1/sales/${saleId}/invoices/${paddle}`);
  const inv = r.invoice;
  const money = await header(inv, r.currency_exponent, `Invoice ${saleId}-${paddle}`, `Paddle ${paddle}\n${inv.name}`);
  const bp = (v) => `${Math.floor(v / 100)}.${String(v % 100).padStart(2, "0")} %`;
  table(
    [["Lot"], ["Description"], ["Hammer", 1], [`Premium ${bp(inv.premium_bp)}`, 1], [`Tax ${bp(inv.tax_bp)}`, 1], ["Total", 1]],
    inv.lines.map((l) => [l.position + 1, l.title + (l.collected ? " (collected)" : ""), money(l.hammer), money(l.premium), money(l.tax), money(l.total)]),
  );
  totals([
    ["Hammer", money(inv.hammer)],
    ["Buyer's premium", money(inv.premium)],
    ["Tax", money(inv.tax)],
    ["Total", money(inv.total), true],
    ["Paid", money(inv.paid)],
    ["Balance due", money(inv.balance), true],
  ]);
  if (inv.payments.length) {
    $("#extra").replaceChildren(
      h("h3", {}, "Payments"),
      h("ul", {}, ...inv.payments.map((p) => h("li", {}, `${money(p.amount)} · ${p.method}${p.reference ? ` · ${p.reference}` : ""}`))),
    );
  }
  done(STATUS[inv.status] || inv.status);
}

main().catch(fail);
