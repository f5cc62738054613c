// The clerk console (`/clerk`): runs a live sale from the rostrum. The
// current lot with its price and asking price, big buttons for floor bid,
// fair warning, sold, pass, next lot and reopen, an increment override, and
// the bids as they come, each marked with where it came from (internet,
// phone line, commission, floor) so the clerk can call them.

import { $, h, setText, show } from "./dom.js";
import { Link } from "./link.js";
import { Rest, store } from "./rest.js";
import { SaleFeed } from "./feed.js";
import { STATUS_TEXT, isClosed } from "./sale.js";
import { renderBadge } from "./badge.js";
import { signIn, report } from "./staff.js";
import { formatMoney, toDecimal, parseDecimal, exponentOf } from "./money.js";

const token = () => store.get("staff.token");
const link = new Link({ token, onMessage: (m) => feed.handle(m), onState: (s) => renderBadge($("#badge"), s) });
const rest = new Rest(() => link.base(), token);
const feed = new SaleFeed(link, rest, { onEvent, onChange: render });
const app = { picked: null, bids: [], bidsFor: null, flaggedUpTo: 0, floorSeq: 0 };
window.__paddle = { link, feed, app };

signIn(["clerk", "operator"]).then(async () => {
  link.start();
  await loadSales();
  setInterval(loadBidders, 5000);
});

async function loadSales() {
  const { sales } = await rest.get("/api/v1/sales?limit=200");
  const pick = $("#sale-pick");
  pick.replaceChildren(...sales.map((s) => h("option", { value: s.sale }, `${s.sale} · ${s.title} (${s.status})`)));
  const fromUrl = new URLSearchParams(location.search).get("sale");
  const wanted = fromUrl !== null ? Number(fromUrl) : store.get("clerk.sale");
  const chosen = sales.find((s) => s.sale === wanted) || sales.find((s) => s.status !== "closed" && s.mode.type === "live") || sales[0];
  if (chosen) {
    pick.value = String(chosen.sale);
    choose(chosen.sale);
  }
}

$("#sale-pick").addEventListener("change", (e) => choose(Number(e.target.value)));

function choose(saleId) {
  store.set("clerk.sale", saleId);
  app.picked = null;
  app.bids = [];
  app.bidsFor = null;
  feed.open(saleId);
  loadBidders();
}

function lot() {
  const model = feed.model;
  if (!model?.ready()) return null;
  return model.lots.get(app.picked ?? model.focusLot()) ?? null;
}

function onEvent(e, model) {
  const ev = e.event;
  if (ev.type === "bid_accepted" && ev.lot === lot()?.lot) addBid(ev, e);
  if (ev.type === "phone_line") noteLine(ev, e);
  if (ev.type === "retracted" && ev.lot === lot()?.lot) loadBids(e.index);
  if (ev.type === "lot_opened") {
    app.picked = null;
    app.bids = [];
    loadBids(e.index);
  }
  if (ev.type === "bidder_registered") loadBidders();
  void model;
}

// A bid from the live event (its kind says online, absentee, floor,
// commission or phone): flag an internet bid as it arrives. A phone bid's
// line follows in `phone_line`.
function addBid(ev, e) {
  const b = { lot: ev.lot, paddle: ev.paddle, shown: ev.shown, kind: ev.kind, line: null, index: e.index, stamp_ms: e.stamp_ms };
  if (b.kind === "online") {
    setText($("#announce"), `Internet bid: paddle ${b.paddle}, ${formatMoney(b.shown, feed.model.sale)}`);
  }
  app.flaggedUpTo = Math.max(app.flaggedUpTo, b.index);
  app.bids.unshift(b);
  render();
}

// The line of a phone bid: the `phone_line` event, which only staff
// connections get. It follows its `bid_accepted` in the same log entry, so
// it belongs to the phone bid of that paddle at that index (its `seq` is
// the bid's place in the lot, which `bid_accepted` does not carry); failing
// that, to the newest phone bid of the paddle still waiting for its line.
function noteLine(ev, e) {
  if (ev.lot !== lot()?.lot) return;
  const waiting = app.bids.filter((b) => b.kind === "phone" && b.paddle === ev.paddle && b.line == null && (b.lot ?? ev.lot) === ev.lot);
  const b = waiting.find((x) => x.index === e.index) ?? waiting[0];
  if (!b) return;
  b.line = ev.line;
  render();
}

// The lot's whole history from REST: when a lot is first shown (also
// after a reload in the middle of one), when it opens, and after a
// retraction changes it. Staff rows carry a phone bid's `line`.
async function loadBids(minIndex) {
  const current = lot();
  if (!current) return;
  app.bidsFor = current.lot;
  try {
    const r = await rest.get(`/api/v1/lots/${current.lot}/bids`, { minIndex });
    if (lot()?.lot !== current.lot) return;
    const fresh = r.bids.filter((b) => b.kind === "online" && b.index > app.flaggedUpTo);
    if (fresh.length && app.bids.length) {
      const b = fresh[fresh.length - 1];
      setText($("#announce"), `Internet bid: paddle ${b.paddle}, ${formatMoney(b.shown, feed.model.sale)}`);
    }
    app.flaggedUpTo = Math.max(app.flaggedUpTo, ...r.bids.map((b) => b.index), 0);
    // Bids that arrived as events after the state this answer reflects stay.
    const newer = app.bids.filter((b) => b.index > r.applied_index && (b.lot ?? current.lot) === current.lot);
    app.bids = [...newer, ...r.bids.slice().sort((a, b) => b.index - a.index)];
    render();
  } catch {
    // The next render (the next event or presence) asks again.
    if (app.bidsFor === current.lot) app.bidsFor = null;
  }
}

async function loadBidders() {
  const model = feed.model;
  if (!model) return;
  try {
    const { bidders } = await rest.get(`/api/v1/sales/${model.id}/bidders`);
    $("#bidders").replaceChildren(
      ...bidders.map((b) =>
        h(
          "tr",
          { dataset: { paddle: b.paddle } },
          h("td", {}, String(b.paddle)),
          h("td", {}, b.name),
          h("td", {}, b.approved ? "✓ approved" : "○ waiting"),
          h("td", {}, h("button", { class: `btn small ${b.approved ? "" : "ok"}`, type: "button", onclick: () => approve(b.paddle, !b.approved) }, b.approved ? "Revoke" : "Approve")),
        ),
      ),
    );
  } catch {
    // Shown again on the next refresh.
  }
}

async function approve(paddle, approved) {
  await act(`Paddle ${paddle} ${approved ? "approved" : "no longer approved"}`, () =>
    rest.post(`/api/v1/sales/${feed.model.id}/bidders/${paddle}/approve`, { approved }),
  );
  loadBidders();
}

function render() {
  const model = feed.model;
  if (!model?.ready()) return;
  const sale = model.sale;
  const l = lot();
  const lots = model.sortedLots();
  $("#lots").replaceChildren(
    ...lots.map((x) =>
      h(
        "tr",
        { class: x.lot === l?.lot ? "current" : null, dataset: { lot: x.lot } },
        h("td", {}, String(x.position + 1)),
        h("td", {}, x.title),
        h("td", {}, h("span", { class: `pill st-${x.status}` }, STATUS_TEXT[x.status] || x.status)),
        h("td", { class: "num" }, formatMoney(x.price ?? null, sale)),
        h("td", {}, x.status === "scheduled" ? h("button", { class: "btn small", type: "button", onclick: () => openLot(x.lot) }, "Open") : h("button", { class: "btn small ghost", type: "button", onclick: () => ((app.picked = x.lot), loadBids(), render()) }, "Show")),
      ),
    ),
  );
  if (!l) return;
  // The lot's history once per lot shown (also after a reload mid-lot);
  // events add to it from then on.
  if (app.bidsFor !== l.lot) loadBids();
  setText($("#cur-no"), `Lot ${l.position + 1}`);
  setText($("#cur-title"), l.title);
  const st = $("#cur-status");
  st.className = `pill st-${l.status}`;
  setText(st, STATUS_TEXT[l.status] || l.status);
  const reserve = $("#cur-reserve");
  show(reserve, l.has_reserve);
  reserve.dataset.met = String(!!l.reserve_met);
  setText(reserve, l.reserve_met ? "✓ Reserve met" : "Reserve not met");
  setText($("#cur-bids"), `${l.bids || 0} bids`);
  const price = $("#cur-price");
  price.dataset.minor = String(l.price ?? "");
  setText(price, l.status === "sold" ? `SOLD ${formatMoney(l.result?.hammer ?? l.price, sale)}` : formatMoney(l.price ?? l.start, sale));
  setText($("#cur-leader"), l.leader == null ? "no bids yet: starting price" : `paddle ${l.leader}`);
  const asking = $("#cur-asking");
  asking.dataset.minor = String(l.minimum_next);
  setText(asking, isClosed(l) ? "—" : formatMoney(l.minimum_next, sale));
  const option = $(`#sale-pick option[value="${sale.sale}"]`);
  if (option) setText(option, `${sale.sale} · ${sale.title} (${sale.status})`);
  setText($("#cur-inc"), l.asking_increment ? `increment ${formatMoney(l.asking_increment, sale)} (override)` : "increment from the table");
  const open = l.status === "open" || l.status === "fair_warning";
  $("#btn-floor").disabled = !open;
  $("#btn-warn").disabled = l.status !== "open";
  $("#btn-sell").disabled = !open;
  $("#btn-pass").disabled = !open;
  $("#btn-reopen").disabled = !(l.status === "sold" || l.status === "passed");
  $("#btn-withdraw").disabled = isClosed(l);
  $("#btn-next").disabled = !nextLot() || open;
  const lastSeen = app.bids[0]?.index;
  $("#feed").replaceChildren(
    ...app.bids.map((b) => {
      const badge = kindBadge(b);
      return h(
        "li",
        { class: `bid ${b.kind} from-${badge.from}${b.index === lastSeen ? " newest" : ""}${b.retracted ? " retracted" : ""}`, dataset: { kind: b.kind, from: badge.from, line: b.line ?? "", paddle: b.paddle, minor: b.shown } },
        h("span", { class: `kind kind-${badge.from}`, title: badge.title }, badge.text),
        h("span", {}, b.paddle === 0 ? "House" : `Paddle ${b.paddle}`),
        h("strong", {}, formatMoney(b.shown, sale)),
      );
    }),
  );
  if (!app.bids.length) $("#feed").replaceChildren(h("li", { class: "muted" }, "No bids yet."));
}

// Where a bid came from, as the clerk says it: a word and a symbol, not only
// a colour. Internet covers bids placed live on the web and the absentee
// maxes left there before the lot opened; a phone bid shows its line once
// `phone_line` (or the staff bid list) tells it.
function kindBadge(b) {
  switch (b.kind) {
    case "online":
      return { from: "internet", text: "◆ INTERNET", title: "Placed on the web during the lot" };
    case "absentee":
      return { from: "internet", text: "◆ INTERNET", title: "Absentee: left on the web before the lot opened" };
    case "phone":
      return { from: "phone", text: b.line == null ? "☎ PHONE" : `☎ PHONE line ${b.line}`, title: "Relayed by a phone clerk" };
    case "commission":
      return { from: "commission", text: "✎ COMMISSION", title: "A maximum left with the office" };
    default:
      return { from: "floor", text: "▲ FLOOR", title: "In the room" };
  }
}

function nextLot() {
  return feed.model?.sortedLots().find((x) => x.status === "scheduled") ?? null;
}

// Run a clerk action and say what happened, with the node's message on a refusal.
async function act(what, call) {
  const msg = $("#act-msg");
  report(msg, true, `${what}…`);
  msg.dataset.state = "pending";
  try {
    const r = await call();
    report(msg, true, `✓ ${what} (index ${r?.index ?? "?"})`);
    return r;
  } catch (e) {
    report(msg, false, `✕ ${what} refused: ${e.message}`);
    return null;
  }
}

async function lotAction(action, label) {
  const l = lot();
  if (!l) return;
  await act(`${label} — lot ${l.position + 1}`, () => rest.post(`/api/v1/lots/${l.lot}/${action}`));
}

async function openLot(lotId) {
  app.picked = null;
  await act(`Opened lot ${feed.model.lots.get(lotId)?.position + 1}`, () => rest.post(`/api/v1/lots/${lotId}/open`));
}

$("#btn-warn").addEventListener("click", () => lotAction("fair-warning", "Fair warning"));
$("#btn-sell").addEventListener("click", () => lotAction("sell", "Sold"));
$("#btn-pass").addEventListener("click", () => lotAction("pass", "Passed"));
$("#btn-reopen").addEventListener("click", () => lotAction("reopen", "Reopened"));
$("#btn-withdraw").addEventListener("click", () => confirm("Withdraw this lot from the sale?") && lotAction("withdraw", "Withdrawn"));
$("#btn-next").addEventListener("click", () => {
  const n = nextLot();
  if (n) openLot(n.lot);
});

$("#floor-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const l = lot();
  const sale = feed.model?.sale;
  if (!l || !sale) return;
  const paddleText = $("#floor-paddle").value.trim();
  const amountText = $("#floor-amount").value.trim();
  const paddle = paddleText === "" ? null : Number(paddleText);
  if (paddle !== null && !(Number.isInteger(paddle) && paddle >= 0)) return report($("#act-msg"), false, "✕ The paddle is a whole number (empty for the house).");
  let amount = null;
  if (amountText) {
    const minor = parseDecimal(amountText, exponentOf(sale));
    if (minor === null) return report($("#act-msg"), false, `✕ ${amountText} is not an amount in ${sale.currency}.`);
    amount = toDecimal(minor, exponentOf(sale));
  }
  const bid_id = `floor-${Date.now().toString(36)}-${++app.floorSeq}`;
  const r = await act(`Floor bid ${paddle === null ? "(house)" : `paddle ${paddle}`} at ${amount ?? "asking"}`, () =>
    rest.post(`/api/v1/lots/${l.lot}/floor-bid`, { bid_id, paddle, amount }),
  );
  if (r) {
    $("#floor-paddle").value = "";
    $("#floor-amount").value = "";
  }
});

$("#inc-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const l = lot();
  const sale = feed.model?.sale;
  if (!l || !sale) return;
  const minor = parseDecimal($("#inc-input").value, exponentOf(sale));
  if (!minor) return report($("#act-msg"), false, "✕ Type an increment like 25.00.");
  await act(`Increment set to ${formatMoney(minor, sale)}`, () => rest.post(`/api/v1/lots/${l.lot}/asking-increment`, { increment: toDecimal(minor, exponentOf(sale)) }));
});
$("#inc-clear").addEventListener("click", async () => {
  const l = lot();
  if (l) await act("Increment back to the table", () => rest.post(`/api/v1/lots/${l.lot}/asking-increment`, { increment: null }));
});
