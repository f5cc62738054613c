// Shared by the printable invoice and statement: the token to read with
// (staff, else the bidder's own for that sale), the sale, the house header,
// rows and totals. Built with h(): a title or a name never becomes markup.

import { $, h, setText, show, param } from "./dom.js";
import { Rest, store } from "./rest.js";
import { formatMoney } from "./money.js";

export const saleId = Number(param("sale"));

// Staff read every document; a bidder reads their own invoice.
const token = () => store.get("staff.token") || store.get(`bidder.${saleId}`)?.token || null;
export const rest = new Rest(() => "", token);

$("#print").addEventListener("click", () => window.print());

export function fail(e) {
  setText($("#msg"), `Could not load the document: ${e.message}`);
}

// Fill the common parts; `doc` has house_name, house_address, currency.
export async function header(doc, exponent, ref, to) {
  const sale = await rest.get(`/api/v1/sales/${saleId}`);
  const view = { ...(sale.sale ?? sale), currency: doc.currency, currency_exponent: exponent };
  setText($("#house-name"), doc.house_name || "Auction house");
  setText($("#house-address"), doc.house_address || "");
  setText($("#doc-ref"), ref);
  setText($("#doc-sale"), `Sale ${saleId} · ${view.title ?? ""}`);
  setText($("#doc-to"), to);
  document.title = `${ref} — ${doc.house_name || "Paddle"}`;
  return (minor) => formatMoney(minor, view);
}

export function table(head, rows) {
  $("#lines-head").replaceChildren(h("tr", {}, ...head.map(([t, num]) => h("th", { class: num ? "num" : null }, t))));
  $("#lines").replaceChildren(
    ...rows.map((r) => h("tr", {}, ...r.map((c, i) => h("td", { class: head[i][1] ? "num" : null }, c)))),
  );
}

export function totals(pairs) {
  $("#totals").replaceChildren(
    ...pairs.flatMap(([k, v, grand]) => [h("dt", { class: grand ? "grand" : null }, k), h("dd", { class: grand ? "grand" : null }, v)]),
  );
}

export function done(status) {
  setText($("#doc-status"), status);
  setText($("#msg"), "");
  show($("#doc"), true);
  document.body.dataset.ready = "true";
}
