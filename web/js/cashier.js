// The cashier (`/cashier`, clerk or operator): find a buyer by paddle or
// name, see their invoice, take payments (a refund is the operator's),
// release goods lot by lot, print the invoice, and for the sale: the
// summary and the CSV exports.
//
// A payment id is made once per payment and kept until the node answers,
// so pressing again after a network error can never take the money twice.

import { $, h, setText, show, param } from "./dom.js";
import { Rest, store } from "./rest.js";
import { signIn, report, pickSale } from "./staff.js";
import { formatMoney, parseDecimal, toDecimal } from "./money.js";
import { newBidId, outcomeOpen } from "./bid-id.js";

const REFRESH_MS = 10000;
const token = () => store.get("staff.token");
const rest = new Rest(() => "", token);
// sale: the sale view; invoices: the list; paddle: the chosen buyer;
// pending: {key, payment_id} of the payment waiting for an answer.
const app = { sale: null, invoices: [], paddle: null, pending: null, role: null };
window.__paddle = { app };

const STATUS = { unpaid: "Unpaid", part_paid: "Part paid", paid: "Paid", credit: "Credit" };
const money = (minor) => formatMoney(minor, app.sale);

signIn(["clerk", "operator"]).then(async ({ me }) => {
  app.role = me.role;
  const { sales, chosen } = await pickSale(rest, {
    select: $("#cash-sale"),
    storeKey: "cashier.sale",
    msg: $("#cash-list-msg"),
    label: (s) => `${s.sale} · ${s.title} (${s.status})`,
    prefer: [(s) => s.status === "closed"],
  });
  app.sales = sales;
  if (chosen) await choose(chosen.sale);
  const wanted = param("paddle");
  if (wanted !== null) pick(Number(wanted));
  setInterval(() => document.visibilityState === "visible" && load(), REFRESH_MS);
});

$("#cash-sale").addEventListener("change", (e) => choose(Number(e.target.value)));

async function choose(saleId) {
  store.set("cashier.sale", saleId);
  app.sale = app.sales.find((s) => s.sale === saleId) || null;
  app.paddle = null;
  app.pending = null;
  show($("#cash-invoice"), false);
  await load();
}

async function load(minIndex) {
  if (!app.sale) return;
  const id = app.sale.sale;
  try {
    const r = await rest.get(`/api/v1/sales/${id}/invoices`, { minIndex });
    app.sale = { ...app.sale, currency_exponent: r.currency_exponent };
    app.invoices = r.invoices;
    renderList();
    if (app.paddle !== null) renderInvoice();
  } catch (e) {
    report($("#cash-list-msg"), false, `✕ Could not load the invoices: ${e.message}`);
  }
  if (app.role === "operator" || app.role === "clerk") loadSummary(id, minIndex);
}

async function loadSummary(id, minIndex) {
  try {
    const r = await rest.get(`/api/v1/sales/${id}/settlement`, { minIndex });
    const s = r.summary;
    const pct = (bp) => `${Math.floor(bp / 100)}.${String(bp % 100).padStart(2, "0")} %`;
    const rows = [
      ["Lots sold", `${s.sold} of ${s.lots} (${pct(s.sell_through_bp)} sell-through)`],
      ["Hammer", money(s.hammer)],
      ["Premium", money(s.premium)],
      ["Tax", money(s.tax)],
      ["Invoiced", money(s.invoiced)],
      ["Commission", money(s.commission)],
      ["Paid", money(s.paid)],
      ["Outstanding", money(s.outstanding)],
    ];
    $("#cash-summary-list").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    const st = await rest.get(`/api/v1/sales/${id}/statements`, { minIndex });
    $("#cash-statements").replaceChildren(
      ...st.statements.map((s) =>
        h(
          "li",
          {},
          h("a", { href: `/statement?sale=${id}&consignor=${s.consignor.id}`, target: "_blank", rel: "noopener" }, s.consignor.name),
          ` · ${s.sold} sold, net ${money(s.net)}`,
        ),
      ),
    );
    show($("#cash-summary"), true);
  } catch {
    show($("#cash-summary"), false);
  }
}

// The buyers that match the search text: a paddle number, or part of a name.
function matching() {
  const q = $("#cash-search").value.trim().toLowerCase();
  if (!q) return app.invoices;
  return app.invoices.filter((i) => String(i.paddle) === q || i.name.toLowerCase().includes(q));
}

function renderList() {
  const rows = matching();
  $("#cash-buyers").replaceChildren(
    ...rows.map((i) =>
      h(
        "tr",
        { "aria-selected": String(i.paddle === app.paddle), dataset: { paddle: i.paddle }, onclick: () => pick(i.paddle) },
        h("td", { class: "paddle-cell" }, i.paddle),
        h("td", {}, h("button", { type: "button", class: "btn ghost small link-like", onclick: () => pick(i.paddle) }, i.name || "—")),
        h("td", { class: "num" }, money(i.total)),
        h("td", { class: "num" }, money(i.balance)),
        h("td", {}, h("span", { class: "pill", dataset: { status: i.status } }, STATUS[i.status] || i.status)),
      ),
    ),
  );
  const n = rows.length;
  report($("#cash-list-msg"), n > 0, n ? `${n} buyer${n === 1 ? "" : "s"}` : "No buyer matches (only buyers who won a lot have an invoice).");
}

$("#cash-search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  renderList();
  const rows = matching();
  if (rows.length === 1) pick(rows[0].paddle);
});

function pick(paddle) {
  if (app.paddle !== paddle) app.pending = null;
  app.paddle = paddle;
  renderList();
  renderInvoice();
}

function current() {
  return app.invoices.find((i) => i.paddle === app.paddle) || null;
}

function renderInvoice() {
  const inv = current();
  show($("#cash-invoice"), !!inv);
  if (!inv) return;
  setText($("#inv-buyer"), `Paddle ${inv.paddle} · ${inv.name}`);
  const st = $("#inv-status");
  st.dataset.status = inv.status;
  setText(st, STATUS[inv.status] || inv.status);
  $("#inv-lines").replaceChildren(
    ...inv.lines.map((l) =>
      h(
        "tr",
        {},
        h("td", {}, l.position + 1),
        h("td", {}, l.title),
        h("td", { class: "num" }, money(l.hammer)),
        h("td", { class: "num" }, money(l.premium)),
        h("td", { class: "num" }, money(l.tax)),
        h("td", { class: "num" }, money(l.total)),
        h(
          "td",
          {},
          l.collected
            ? h("span", { class: "pill", dataset: { status: "paid" } }, "Collected")
            : h("button", { type: "button", class: "btn small", dataset: { lot: l.lot }, onclick: () => release(l) }, "Mark collected"),
        ),
      ),
    ),
  );
  setText($("#inv-total"), money(inv.total));
  setText($("#inv-paid"), money(inv.paid));
  setText($("#inv-balance"), money(inv.balance));
  $("#inv-payments").replaceChildren(
    ...inv.payments.map((p) =>
      h("li", {}, `${money(p.amount)} · ${p.method}${p.reference ? ` · ${p.reference}` : ""}${p.reason ? ` · ${p.reason}` : ""}`),
    ),
  );
  $("#inv-print").href = `/invoice?sale=${inv.sale}&paddle=${inv.paddle}`;
  if (!$("#pay-amount").value && inv.balance > 0) $("#pay-amount").value = toDecimal(inv.balance, app.sale.currency_exponent);
}

$("#pay-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const inv = current();
  if (!inv) return;
  const out = $("#pay-outcome");
  const exp = app.sale.currency_exponent;
  const minor = parseDecimal($("#pay-amount").value, exp);
  if (minor === null || minor === 0) {
    report(out, false, `✕ Type an amount with at most ${exp} decimals.`);
    return;
  }
  const refund = $("#pay-refund").checked;
  const body = {
    amount: (refund ? "-" : "") + toDecimal(minor, exp),
    method: $("#pay-method").value,
    reference: $("#pay-ref").value.trim() || null,
    reason: $("#pay-reason").value.trim() || null,
  };
  // The same payment again (after no answer) keeps its id.
  const key = JSON.stringify([inv.paddle, body]);
  if (app.pending?.key !== key) app.pending = { key, payment_id: newBidId("pay") };
  body.payment_id = app.pending.payment_id;
  report(out, true, "Sending…");
  try {
    const r = await rest.post(`/api/v1/sales/${inv.sale}/invoices/${inv.paddle}/payments`, body);
    app.pending = null;
    $("#pay-amount").value = "";
    $("#pay-ref").value = "";
    $("#pay-reason").value = "";
    $("#pay-refund").checked = false;
    report(out, true, `✓ ${refund ? "Refunded" : "Paid"} ${money(refund ? -minor : minor)}. Balance ${money(r.invoice.balance)} (${STATUS[r.invoice.status]}).`);
    await load(r.index);
  } catch (err) {
    if (!outcomeOpen(err)) app.pending = null;
    report(out, false, outcomeOpen(err) ? `? Not confirmed: ${err.message}. Press again: it will not be taken twice.` : `✕ ${err.message}`);
  }
});

async function release(line) {
  const inv = current();
  const out = $("#pay-outcome");
  try {
    const r = await rest.post(`/api/v1/sales/${inv.sale}/invoices/${inv.paddle}/collected`, { lot: line.lot });
    report(out, true, `✓ Lot ${line.position + 1} released to paddle ${inv.paddle}.`);
    await load(r.index);
  } catch (err) {
    report(out, false, `✕ ${err.message}`);
  }
}

// CSV exports need the token, so they are fetched and handed over as files.
for (const [id, name] of [["csv-invoices", "invoices"], ["csv-payments", "payments"], ["csv-statements", "statements"]]) {
  $(`#${id}`).addEventListener("click", async (e) => {
    e.preventDefault();
    if (!app.sale) return;
    const text = await rest.get(`/api/v1/sales/${app.sale.sale}/${name}.csv`);
    const a = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: `sale-${app.sale.sale}-${name}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
  });
}
