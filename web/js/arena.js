// The bidder arena (`/`): the list of sales, registration, and one sale's
// live view with bidding. Routes are hash based (#/ and #/sale/ID) so any
// node serves every view from the same page.
//
// Ids (sales, lots) start at 0: they are compared with null, never tested
// for truth.

import { $, h, setText, show, spokenDuration } from "./dom.js";
import { Link } from "./link.js";
import { Rest, store } from "./rest.js";
import { SaleModel, isClosed } from "./sale.js";
import { BidDesk } from "./bids.js";
import { Ring } from "./ring.js";
import { Announcer } from "./speech.js";
import { renderBadge } from "./badge.js";
import { setImageBase } from "./picture.js";
import { formatMoney, toDecimal, parseDecimal, premiumOf, formatBp, exponentOf } from "./money.js";
import { renderStrip, renderLot, renderPrice, renderHistory, renderOutcome } from "./arena-view.js";

const app = { sale: null, model: null, desk: null, picked: null, me: null, maxes: new Map() };
window.__paddle = app; // for the browser tests and for support

const link = new Link({
  token: () => app.me?.token ?? null,
  onMessage: (m) => onMessage(m),
  onState: (s) => renderBadge($("#badge"), s),
});
const rest = new Rest(() => link.base());
// The same, with the bidder's token: for `GET /api/v1/me` (own maximums).
const mine = new Rest(() => link.base(), () => app.me?.token ?? null);
setImageBase(() => link.base());
const voice = new Announcer($("#mute"), $("#announce"));
const ring = new Ring($("#countdown"));
app.link = link;

addEventListener("hashchange", route);
route();
link.start();
setInterval(tick, 250);

function route() {
  const m = /^#\/sale\/(\d+)/.exec(location.hash);
  if (m) openSale(Number(m[1]));
  else showSales();
}

async function showSales() {
  if (app.sale !== null) link.unfollow(app.sale);
  app.sale = null;
  show($("#sales-view"), true);
  show($("#sale-view"), false);
  document.title = "Paddle — sales";
  try {
    const { sales } = await rest.get("/api/v1/sales?limit=100");
    setText($("#sales-msg"), sales.length ? "" : "No sales yet. Ask the desk when bidding opens.");
    $("#sales-list").replaceChildren(
      ...sales.map((s) =>
        h(
          "li",
          {},
          h(
            "a",
            { class: "card", href: `#/sale/${s.sale}` },
            h("strong", { class: "card-title" }, s.title),
            h("span", { class: `pill st-${s.status}` }, { scheduled: "Coming up", running: "Running", closed: "Closed" }[s.status] || s.status),
            h("span", { class: "muted" }, `${s.lots} lot${s.lots === 1 ? "" : "s"} · ${s.mode.type === "live" ? "live with auctioneer" : "timed online"} · ${s.currency}`),
          ),
        ),
      ),
    );
  } catch (e) {
    setText($("#sales-msg"), `Could not load the sales: ${e.message}. Retrying…`);
    setTimeout(() => app.sale === null && showSales(), 3000);
  }
}

function openSale(saleId) {
  if (app.sale === saleId) return;
  if (app.sale !== null) link.unfollow(app.sale);
  app.sale = saleId;
  app.model = new SaleModel(saleId);
  app.picked = null;
  app.me = store.get(`bidder.${saleId}`);
  app.desk = new BidDesk(link, saleId, (bid) => bid.bid_id === app.desk.latest && renderOutcome(bid, app.model.sale));
  show($("#sales-view"), false);
  show($("#sale-view"), true);
  setText($("#sale-title"), `Sale ${saleId}`);
  link.follow(saleId, () => app.model?.index || 0);
  // A token is per sale: reconnect so the node knows who we are here.
  link.restart();
}

function onMessage(m) {
  const model = app.model;
  switch (m.type) {
    case "welcome":
      if (m.bidder && app.me && m.bidder.sale === app.sale) {
        app.me = { ...app.me, paddle: m.bidder.paddle, approved: m.bidder.approved };
        store.set(`bidder.${app.sale}`, app.me);
      }
      app.desk?.onWelcome();
      break;
    case "snapshot":
      if (!model || m.sale.sale !== app.sale) return;
      model.applySnapshot(m);
      loadHistory();
      loadMaxes();
      break;
    case "event":
      if (model && m.sale === app.sale) onEvent(m);
      break;
    case "events":
      if (model && m.sale === app.sale) for (const e of m.events) onEvent(e);
      break;
    case "bid_result": {
      const bid = app.desk?.onResult(m);
      if (bid?.state === "accepted") app.maxes.set(bid.lot, Math.max(app.maxes.get(bid.lot) ?? 0, bid.amount));
      break;
    }
    case "presence":
      if (m.sale === app.sale) setText($("#watchers"), `● ${m.watchers} watching`);
      break;
    case "error":
      if (m.code === "unauthorized" && app.me) {
        // The token is unknown here (a reset cluster): register again.
        store.set(`bidder.${app.sale}`, null);
        app.me = null;
      }
      break;
  }
  render();
}

function onEvent(e) {
  const model = app.model;
  const applied = model.apply(e);
  if (!applied) return;
  const ev = e.event;
  const lot = model.lots.get(ev.lot);
  const title = lot ? lot.title : `lot ${ev.lot}`;
  const sale = model.sale;
  switch (ev.type) {
    case "lots_added":
      rest.get(`/api/v1/sales/${app.sale}/lots`, { minIndex: e.index }).then((r) => {
        model.mergeLots(r.lots);
        render();
      });
      break;
    case "lot_opened":
      voice.say(`New lot: ${title}, starting at ${formatMoney(ev.price ?? lot?.start, sale)}`);
      if (sale.mode.type === "live") app.picked = null;
      break;
    case "fair_warning":
      voice.say(`Fair warning on ${title} at ${formatMoney(ev.price, sale)}`);
      break;
    case "sold":
      voice.say(`Sold to ${ev.paddle === 0 ? "the floor" : `paddle ${ev.paddle}`} for ${formatMoney(ev.hammer, sale)}`);
      break;
    case "passed":
      voice.say(`${title} passed`);
      break;
    case "lot_extended":
      if (ev.lot === currentLot()?.lot) voice.say(`Extended by ${spokenDuration(ev.effective_end_ms - ev.previous_end_ms)}`);
      break;
    case "outbid":
      if (app.me && ev.paddle === app.me.paddle) voice.say(`You have been outbid on ${title}`);
      break;
    case "bidder_approved":
      if (app.me && ev.paddle === app.me.paddle) {
        app.me.approved = ev.approved;
        store.set(`bidder.${app.sale}`, app.me);
      }
      break;
  }
}

function currentLot() {
  const model = app.model;
  if (!model?.ready()) return null;
  return model.lots.get(app.picked ?? model.focusLot()) ?? null;
}

let historyFor = null;
async function loadHistory() {
  const lot = currentLot();
  if (!lot) return;
  historyFor = lot.lot;
  try {
    const r = await rest.get(`/api/v1/lots/${lot.lot}/bids`, { minIndex: app.model.index });
    if (historyFor === lot.lot) app.model.setHistory(lot.lot, r.bids, r.applied_index);
    render();
  } catch {
    // The events still fill the history; the older part shows on the next load.
  }
}

// This bidder's own standing maximums (only they see them): after a
// reconnect or a reload the page shows "your maximum" again.
async function loadMaxes() {
  if (!app.me?.token) return;
  try {
    const who = await mine.get("/api/v1/me");
    if (who.bidder?.sale !== app.sale) return;
    app.maxes = new Map((who.maxes || []).map((m) => [m.lot, m.max]));
    render();
  } catch {
    // Shown again after the next accepted bid or reconnect.
  }
}

function pick(lotId) {
  app.picked = lotId;
  loadHistory();
  render();
}

function render() {
  const model = app.model;
  if (app.sale === null || !model?.ready()) return;
  const lot = currentLot();
  renderStrip(model, lot?.lot, pick);
  if (!lot) return;
  document.title = `${lot.title} — ${model.sale.title}`;
  renderLot(model, lot);
  const bidOnLot = app.me && model.historyOf(lot.lot).some((b) => b.paddle === app.me.paddle);
  renderPrice(model, lot, app.me, bidOnLot, app.maxes.get(lot.lot));
  renderHistory(model, lot, app.me);
  const canBid = !!app.me && !isClosed(lot) && lot.status !== "scheduled";
  show($("#bid-panel"), !!app.me && !isClosed(lot));
  for (const b of $("#quick").querySelectorAll("button")) b.disabled = !canBid;
  show($("#register-panel"), !app.me && !isClosed(lot));
  const meText = !app.me
    ? ""
    : `You are paddle ${app.me.paddle} (${app.me.name})` + (app.me.approved === false ? " — waiting for the desk to approve you; you can bid once approved." : "");
  setText($("#me"), meText);
  tick();
}

function tick() {
  const model = app.model;
  if (!model?.ready()) return;
  const lot = currentLot();
  ring.update(lot, model.sale.soft_close?.window_ms ?? 0, link.clock.now());
  if (link.state.kind === "stale") renderBadge($("#badge"), link.state);
}

// Quick bids: the amount on the button, as a plain bid (max = amount).
$("#quick").addEventListener("click", (e) => {
  const b = e.target.closest("button");
  const lot = currentLot();
  if (!b || b.disabled || !lot) return;
  const amount = Number(b.dataset.minor);
  app.desk.place(lot.lot, toDecimal(amount, exponentOf(app.model.sale)), amount);
});

// A maximum (proxy) bid, confirmed with the premium and total first.
$("#max-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const lot = currentLot();
  const sale = app.model?.sale;
  if (!lot || !sale) return;
  const exp = exponentOf(sale);
  const max = parseDecimal($("#max-input").value, exp);
  const help = $("#max-help");
  if (max === null) return setText(help, `Type an amount like ${toDecimal(lot.minimum_next, exp)} (at most ${exp} decimals).`);
  if (max < lot.minimum_next) return setText(help, `Your maximum must be at least ${formatMoney(lot.minimum_next, sale)}.`);
  setText(help, "");
  const prem = premiumOf(max, sale.premium_bp);
  setText($("#c-max"), formatMoney(max, sale));
  setText($("#c-prem-label"), `Buyer's premium (${formatBp(sale.premium_bp)})`);
  setText($("#c-prem"), formatMoney(prem, sale));
  setText($("#c-total"), formatMoney(max + prem, sale));
  const dlg = $("#confirm");
  dlg.onclose = () => {
    if (dlg.returnValue !== "ok") return;
    app.desk.place(lot.lot, toDecimal(max, exp), max);
    $("#max-input").value = "";
  };
  dlg.returnValue = "";
  dlg.showModal();
});

$("#register-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = $("#reg-name").value.trim();
  if (!name) return setText($("#reg-msg"), "Please type your name.");
  setText($("#reg-msg"), "Registering…");
  try {
    const r = await rest.post(`/api/v1/sales/${app.sale}/bidders`, { name });
    app.me = { token: r.token, paddle: r.paddle, name, approved: r.approved };
    store.set(`bidder.${app.sale}`, app.me);
    setText($("#reg-msg"), `Welcome! Your paddle number is ${r.paddle}.`);
    link.restart();
    render();
  } catch (err) {
    setText($("#reg-msg"), `Could not register: ${err.message}`);
  }
});
