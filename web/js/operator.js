// The operator console (`/operator`): sales (create, add lots, import a
// CSV, run or schedule, results with CSV export); metrics and the cluster
// are in operator-cluster.js, pause/resume and extending a lot in
// operator-room.js, editing a lot in operator-lots.js, a lot's bids and
// retraction in operator-bids.js, clerk tokens in operator-clerks.js,
// settlement terms, consignors and the sale summary in operator-settle.js.

import { $, $$, h, setText } from "./dom.js";
import { Link } from "./link.js";
import { Rest, store } from "./rest.js";
import { SaleFeed } from "./feed.js";
import { STATUS_TEXT } from "./sale.js";
import { renderBadge } from "./badge.js";
import { signIn, report } from "./staff.js";
import { formatMoney, parseDecimal, toDecimal, exponentOf } from "./money.js";
import { Cluster } from "./operator-cluster.js";
import { Room, exactDuration } from "./operator-room.js";
import { LotEditor } from "./operator-lots.js";
import { BidList } from "./operator-bids.js";
import { Clerks } from "./operator-clerks.js";
import { Settle } from "./operator-settle.js";

const token = () => store.get("staff.token");
const link = new Link({ token, onMessage: (m) => feed.handle(m), onState: (s) => renderBadge($("#badge"), s) });
const rest = new Rest(() => link.base(), token);
const feed = new SaleFeed(link, rest, { onEvent, onChange: renderSale });
const cluster = new Cluster(link, rest, feed, say);
const parts = { rest, feed, say, changed: renderSale };
const room = new Room({ ...parts, clock: link.clock });
const editor = new LotEditor(parts);
const bids = new BidList(parts);
const clerks = new Clerks(parts);
const settle = new Settle(parts);
window.__paddle = { link, feed, cluster, room, bids, clerks, settle };

signIn(["operator"]).then(() => {
  link.start();
  loadSales();
  cluster.start();
  room.start();
  editor.start();
  bids.start();
  clerks.start();
  settle.start();
});

function say(ok, text) {
  report($("#op-msg"), ok, text);
}

async function attempt(what, call) {
  try {
    const r = await call();
    say(true, `✓ ${what}${r?.index ? ` (index ${r.index})` : ""}`);
    return r;
  } catch (e) {
    say(false, `✕ ${what}: ${e.message}`);
    return null;
  }
}

async function loadSales(minIndex) {
  const { sales } = await rest.get("/api/v1/sales?limit=1000", { minIndex });
  $("#sales-rows").replaceChildren(
    ...sales.map((s) =>
      h(
        "tr",
        { class: s.sale === feed.model?.id ? "current" : null, dataset: { sale: s.sale } },
        h("td", {}, String(s.sale)),
        h("td", {}, s.title),
        h("td", {}, s.mode.type),
        h("td", {}, h("span", { class: `pill st-${s.status}` }, s.status), s.paused ? [" ", h("span", { class: "pill st-paused", title: s.paused.reason }, "paused")] : null),
        h("td", { class: "num" }, String(s.lots)),
        h("td", {}, h("button", { class: "btn small", type: "button", onclick: () => choose(s.sale) }, "Select")),
      ),
    ),
  );
  const keep = feed.model?.id ?? store.get("operator.sale");
  if (!feed.model && sales.some((s) => s.sale === keep)) choose(keep);
}

function choose(saleId) {
  store.set("operator.sale", saleId);
  if (feed.model?.id !== saleId) bids.close();
  feed.open(saleId);
  loadResults();
  settle.choose(saleId);
  $("#link-clerk").href = `/clerk?sale=${saleId}`;
  $("#link-desk").href = `/desk?sale=${saleId}`;
  $("#link-phone").href = `/phone?sale=${saleId}`;
  $("#link-screen").href = `/screen?sale=${saleId}`;
  $("#link-analytics").href = `/analytics?sale=${saleId}`;
  $("#csv-export").href = `${link.base()}/api/v1/sales/${saleId}/results.csv`;
  $("#csv-export").setAttribute("download", `sale-${saleId}-results.csv`);
  loadSales();
}

function onEvent(e, model) {
  const t = e.event.type;
  cluster.countEvent(e);
  room.onEvent(e, model);
  editor.onEvent(e, model);
  bids.onEvent(e);
  settle.onEvent(e);
  if (["sold", "passed", "withdrawn", "reopened"].includes(t)) loadResults(e.index);
  if (["lots_added", "lot_opened", "sold", "passed", "sale_paused", "sale_resumed"].includes(t)) loadSales(e.index);
}

// The soft-close rule in words, for the form and the sale's summary.
function softCloseText(sc) {
  if (!sc) return "Hard close: each lot ends exactly on time, whatever comes late.";
  const w = exactDuration(sc.window_ms);
  if (sc.rule.type === "add") return `A bid in a lot's last ${w} adds ${exactDuration(sc.rule.extend_ms)} to its end.`;
  return `A bid in a lot's last ${w} moves its end to ${w} after that bid.`;
}

function renderSale() {
  const model = feed.model;
  room.render();
  if (!model?.ready()) return;
  const sale = model.sale;
  setText($("#sale-h"), `Sale ${sale.sale}: ${sale.title}`);
  const mode = sale.mode;
  const when = (ms) => new Date(ms).toLocaleString();
  setText(
    $("#sale-info"),
    mode.type === "live"
      ? `Live sale in ${sale.currency}, ${sale.lots} lots, ${sale.status}. The clerk opens and closes each lot.`
      : `Timed sale in ${sale.currency}, ${sale.lots} lots, ${sale.status}. Opens ${when(mode.opens_at_ms)}, first lot closes ${when(mode.closes_at_ms)}, then one every ${Math.round(mode.stagger_ms / 1000)} s. ${softCloseText(sale.soft_close)}`,
  );
  $("#btn-run").hidden = mode.type !== "live";
  // A timed sale may move until its first lot opens.
  $("#reschedule").hidden = mode.type !== "timed" || !model.sortedLots().every((l) => l.status === "scheduled");
  // The rules take buy-now prices in timed sales only.
  $("#al-buy").closest("div").hidden = mode.type === "live";
  $("#btn-run").disabled = !model.sortedLots().some((l) => l.status === "scheduled") || model.sortedLots().some((l) => l.status === "open" || l.status === "fair_warning");
  $("#lot-rows").replaceChildren(
    ...model.sortedLots().map((l) =>
      h(
        "tr",
        { dataset: { lot: l.lot } },
        h("td", {}, String(l.position + 1)),
        h("td", {}, l.title),
        h("td", { class: "num" }, formatMoney(l.start, sale)),
        h("td", {}, h("span", { class: `pill st-${l.status}` }, STATUS_TEXT[l.status] || l.status), room.endNote(l, sale)),
        h("td", { class: "num" }, formatMoney(l.price ?? null, sale)),
        h("td", {}, l.leader == null ? "—" : `paddle ${l.leader}`),
        // The photo stays the last cell: the browser tests look for it there.
        h("td", {}, h("div", { class: "lot-actions" }, bids.button(l), editor.button(l), room.extendButton(l, sale))),
        h("td", {}, ...photoCell(l)),
      ),
    ),
  );
  bids.render();
  settle.changed();
  const watchers = feed.watchers;
  setText($("#m-watchers"), watchers == null ? "—" : String(watchers));
}

// A lot's photo: upload (JPEG, PNG, WebP or GIF, at most 256 KiB), or
// remove the one it has.
function photoCell(l) {
  const name = `lot ${l.position + 1}`;
  const input = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp,image/gif", "aria-label": `Photo for ${name}`, dataset: { photo: l.lot } });
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (file) await attempt(`Photo for ${name}`, () => rest.putFile(`/api/v1/lots/${l.lot}/image`, file));
  });
  if (!l.image) return [input];
  const remove = h("button", { type: "button", class: "btn small" }, "Remove");
  remove.addEventListener("click", () => attempt(`Removed the photo of ${name}`, () => rest.delete(`/api/v1/lots/${l.lot}/image`)));
  return [h("span", { class: "muted" }, "✓ has one "), remove, input];
}

async function loadResults(minIndex) {
  const model = feed.model;
  if (!model) return;
  try {
    const r = await rest.get(`/api/v1/sales/${model.id}/results`, { minIndex });
    const sale = { currency: model.sale?.currency ?? "", currency_exponent: r.currency_exponent };
    const title = (lot) => model.lots.get(lot)?.title ?? `lot ${lot}`;
    $("#result-rows").replaceChildren(
      ...r.results.map((x) =>
        h(
          "tr",
          { dataset: { lot: x.lot, status: x.status } },
          h("td", {}, title(x.lot)),
          h("td", {}, h("span", { class: `pill st-${x.status}` }, STATUS_TEXT[x.status] || x.status)),
          h("td", {}, x.winner == null ? "—" : `paddle ${x.winner}`),
          h("td", { class: "num", dataset: { minor: x.hammer ?? "" } }, formatMoney(x.hammer, sale)),
          h("td", { class: "num" }, formatMoney(x.premium, sale)),
          h("td", { class: "num" }, formatMoney(x.total, sale)),
        ),
      ),
    );
  } catch (e) {
    say(false, `✕ Could not load results: ${e.message}`);
  }
}

// The server's time for a schedule: never this laptop's own clock.
async function serverNow() {
  const now = link.clock.now();
  if (now !== null) return Math.round(now);
  return (await rest.get("/api/v1/time")).server_time_ms;
}

function increments(text) {
  const t = text.trim();
  if (!t.includes(":")) return t;
  return t.split(",").map((band) => {
    const [from, increment] = band.split(":").map((s) => s.trim());
    return { from, increment };
  });
}

const num = (id) => Math.max(0, Math.floor(Number($(id).value) || 0));
// A whole number of seconds as typed, or null (no silent rounding here:
// these set how a sale ends).
const seconds = (id) => (/^\d{1,9}$/.test($(id).value.trim()) ? Number($(id).value.trim()) : null);

// The timed fields, and of the soft-close ones those its rule uses
// (`data-rule` lists the rules a field belongs to).
function showTimed() {
  const timed = $("#ns-mode").value === "timed";
  const rule = $("#op-softclose-rule").value;
  for (const el of $$("#new-sale .timed")) el.hidden = !timed || (el.dataset.rule !== undefined && !el.dataset.rule.split(" ").includes(rule));
  const w = seconds("#op-softclose-window");
  const add = seconds("#op-softclose-add");
  const sc = rule === "none" ? null : { window_ms: (w ?? 0) * 1000, rule: rule === "add" ? { type: "add", extend_ms: (add ?? 0) * 1000 } : { type: "reset_to_window" } };
  setText($("#op-softclose-help"), !w && sc ? "Type the window in whole seconds." : softCloseText(sc));
}
// Listened to on each field: a script's `new Event("change")` does not bubble.
for (const id of ["#ns-mode", "#op-softclose-rule"]) $(id).addEventListener("change", showTimed);
for (const id of ["#op-softclose-window", "#op-softclose-add"]) $(id).addEventListener("input", showTimed);
showTimed();

// The timed mode and its soft-close rule from the form, or a message.
async function timedSpec() {
  const stagger = seconds("#op-stagger");
  if (stagger === null) return { error: "Lots close apart: a whole number of seconds (0: all at once)." };
  const rule = $("#op-softclose-rule").value;
  let soft_close = null;
  if (rule !== "none") {
    const w = seconds("#op-softclose-window");
    if (!w) return { error: "The soft-close window is a whole number of seconds, at least 1." };
    soft_close = { window_ms: w * 1000, rule: { type: "reset_to_window" } };
    if (rule === "add") {
      const add = seconds("#op-softclose-add");
      if (!add) return { error: "The time added per late bid is a whole number of seconds, at least 1." };
      soft_close.rule = { type: "add", extend_ms: add * 1000 };
    }
  }
  const opens = (await serverNow()) + num("#ns-opens") * 60000;
  const mode = { type: "timed", opens_at_ms: opens, closes_at_ms: opens + Math.max(1, num("#ns-duration")) * 60000, stagger_ms: stagger * 1000 };
  return { mode, soft_close };
}

$("#new-sale").addEventListener("submit", async (e) => {
  e.preventDefault();
  const premium = parseDecimal($("#ns-premium").value, 2);
  if (premium === null || premium > 10000) return say(false, "✕ The premium is a percentage like 20 or 12.5.");
  const body = { title: $("#ns-title").value.trim(), currency: $("#ns-currency").value, increments: increments($("#ns-incs").value), premium_bp: premium };
  if ($("#ns-mode").value === "timed") {
    const { mode, soft_close, error } = await timedSpec();
    if (error) return say(false, `✕ ${error}`);
    Object.assign(body, { mode, soft_close });
  } else {
    body.mode = { type: "live" };
  }
  const r = await attempt(`Created sale “${body.title}”`, () => rest.post("/api/v1/sales", body));
  if (r) {
    $("#new-sale").reset();
    showTimed();
    await loadSales(r.index);
    choose(r.sale);
  }
});

function amountOrNull(id, exp) {
  const t = $(id).value.trim();
  if (!t) return null;
  const minor = parseDecimal(t, exp);
  return minor === null ? undefined : toDecimal(minor, exp);
}

$("#add-lot").addEventListener("submit", async (e) => {
  e.preventDefault();
  const sale = feed.model?.sale;
  if (!sale) return say(false, "✕ Select a sale first.");
  const exp = exponentOf(sale);
  const lot = { title: $("#al-title").value.trim(), description: $("#al-desc").value.trim(), start: amountOrNull("#al-start", exp), reserve: amountOrNull("#al-reserve", exp), buy_now: amountOrNull("#al-buy", exp), seller: null };
  if ([lot.start, lot.reserve, lot.buy_now].includes(undefined) || !lot.start) return say(false, `✕ Amounts are like 10.00 in ${sale.currency} (at most ${exp} decimals).`);
  const r = await attempt(`Added lot “${lot.title}”`, () => rest.post(`/api/v1/sales/${sale.sale}/lots`, { lots: [lot] }));
  if (r) $("#add-lot").reset();
});

$("#imp-file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (file) $("#imp-text").value = await file.text();
});

$("#import").addEventListener("submit", async (e) => {
  e.preventDefault();
  const model = feed.model;
  if (!model) return say(false, "✕ Select a sale first.");
  const csv = $("#imp-text").value;
  if (!csv.trim()) return say(false, "✕ Choose a CSV file or paste the rows.");
  const r = await attempt("Imported lots", () => rest.postCsv(`/api/v1/sales/${model.id}/lots/import`, csv));
  if (r) {
    say(true, `✓ Imported ${r.lots?.length ?? "the"} lots (index ${r.index})`);
    $("#import").reset();
  }
});

$("#reschedule").addEventListener("submit", async (e) => {
  e.preventDefault();
  const model = feed.model;
  if (!model) return say(false, "✕ Select a sale first.");
  const opens = (await serverNow()) + num("#rs-opens") * 60000;
  const body = { opens_at_ms: opens, closes_at_ms: opens + Math.max(1, num("#rs-duration")) * 60000 };
  await attempt("Rescheduled the sale", () => rest.post(`/api/v1/sales/${model.id}/schedule`, body));
});

$("#btn-run").addEventListener("click", async () => {
  const first = feed.model?.sortedLots().find((l) => l.status === "scheduled");
  if (first) await attempt(`Opened lot ${first.position + 1}: ${first.title}`, () => rest.post(`/api/v1/lots/${first.lot}/open`));
});
