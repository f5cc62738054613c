// The bidder arena (`/`): the list of sales, registration or sign-in with
// a desk code, and one sale's live view with bidding. Routes are hash based
// (#/ and #/sale/ID) so any node serves every view from the same page.
// The parts live in their own modules: the lot strip (arena-strip.js), the
// watchlist, buy-now (arena-buynow.js), sign-in, the pause; this file
// connects them to the connection and the model.
//
// Ids (sales, lots) start at 0: they are compared with null, never tested
// for truth.

import { $, setText, show, spokenDuration } from "./dom.js";
import { Link } from "./link.js";
import { Rest, store } from "./rest.js";
import { SaleModel, isClosed } from "./sale.js";
import { BidDesk } from "./bids.js";
import { Ring } from "./ring.js";
import { Announcer } from "./speech.js";
import { renderBadge } from "./badge.js";
import { setImageBase } from "./picture.js";
import { formatMoney } from "./money.js";
import { renderSales, renderLot, renderPrice, renderHistory, renderOutcome, renderRefusal } from "./arena-view.js";
import { LotStrip } from "./arena-strip.js";
import { Watchlist, WatchView } from "./watchlist.js";
import { BuyNow } from "./arena-buynow.js";
import { SignIn, takeUrlCode } from "./signin.js";
import { pauseOf, saleNow, renderPauseBanner, markRingPaused } from "./pause.js";
import { wireBidForms } from "./arena-forms.js";
import { ArenaAssistant } from "./arena-assistant.js";
import { MyHistory } from "./arena-mine.js";
import { MyInvoice } from "./arena-invoice.js";

const app = { sale: null, model: null, desk: null, picked: null, me: null, maxes: new Map(), watch: null, onlyWatched: false };
window.__paddle = app; // for the browser tests and for support

// The bidder's token for this sale, asked for at each (re)connect.
const myToken = () => app.me?.token ?? null;
const link = new Link({
  token: myToken,
  onMessage: (m) => onMessage(m),
  onState: (s) => renderBadge($("#badge"), s),
});
const rest = new Rest(() => link.base());
// The same, with the bidder's token: for `GET /api/v1/me` (own maximums).
const mine = new Rest(() => link.base(), () => app.me?.token ?? null);
setImageBase(() => link.base());
const voice = new Announcer($("#mute"), $("#announce"));
const assistant = new ArenaAssistant(mine, voice);
const ring = new Ring($("#countdown"));
const strip = new LotStrip($("#lot-strip"), { onPick: pick, onStar: star });
const watchView = new WatchView({ list: $("#watch-list"), count: $("#watch-count"), empty: $("#watch-empty") }, { onPick: pickWatched, onStar: star });
const signIn = new SignIn(rest, () => app.sale, adopt);
const myHistory = new MyHistory(mine, { box: $("#mine"), line: $("#mine-line"), wins: $("#mine-wins"), lots: $("#mine-lots") }, () => app.sale);
app.myHistory = myHistory;
const buyNow = new BuyNow({ desk: () => app.desk, me: () => app.me, model: () => app.model, lot: currentLot, onChange: render });
app.link = link;
const myInvoice = new MyInvoice(mine);

// Before the first route: a desk code in the address leaves it at once,
// and the page opens on that sale.
const urlCode = takeUrlCode();
addEventListener("hashchange", route);
route();
link.start();
if (urlCode) signIn.redeem(urlCode.sale, urlCode.code);
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
    renderSales($("#sales-list"), sales);
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
  app.maxes = new Map();
  myHistory.clear();
  app.watch = new Watchlist(saleId);
  app.desk = new BidDesk(link, saleId, onBid);
  buyNow.adopt(app.desk);
  show($("#sales-view"), false);
  show($("#sale-view"), true);
  setText($("#sale-title"), `Sale ${saleId}`);
  signIn.render(app.me);
  link.follow(saleId, () => app.model?.index || 0);
  // A token is per sale: reconnect so the node knows who we are here.
  link.token = myToken;
  link.restart();
}

// A bid's news from the desk: a buy-now has its own place on the page.
function onBid(bid) {
  if (bid.buy_now) render();
  else if (bid.bid_id === app.desk.latest && app.model?.sale) renderOutcome(bid, app.model.sale);
}

// Take a bidder's `{sale, paddle, token, index}` (a registration, or a
// desk code redeemed), stored the one way: `bidder.<sale>`.
function adopt(me) {
  const saleId = me.sale ?? app.sale;
  store.set(`bidder.${saleId}`, { ...me, sale: saleId });
  if (saleId !== app.sale) {
    location.hash = `#/sale/${saleId}`;
    return;
  }
  app.me = { ...me, sale: saleId };
  app.maxes = new Map();
  myHistory.soon(me.index ?? 0);
  // A refused token earlier (`unauthorized`) left the link without one.
  link.token = myToken;
  link.restart();
  render();
}

// The node refused this phone's token: replaced at the desk (a lost phone,
// a new code), or unknown here. Drop it, carry on as a watcher, and offer
// the code entry again.
function onReplaced() {
  if (!app.me) return;
  store.set(`bidder.${app.sale}`, null);
  app.me = null;
  app.maxes = new Map();
  myHistory.clear();
  signIn.onReplaced();
  voice.say("Your sign-in on this phone was replaced at the desk. Sign in again with the new code.");
  link.restart();
  // The bidder must see it before trying to bid again.
  render();
  $("#signin-replaced").scrollIntoView({ block: "center" });
}

function onMessage(m) {
  const model = app.model;
  switch (m.type) {
    case "welcome":
      if (m.bidder && app.me && m.bidder.sale === app.sale) {
        app.me = { ...app.me, paddle: m.bidder.paddle, approved: m.bidder.approved, name: m.bidder.name ?? app.me.name };
        store.set(`bidder.${app.sale}`, app.me);
      }
      app.desk?.onWelcome();
      break;
    case "snapshot":
      if (!model || m.sale.sale !== app.sale) return;
      model.applySnapshot(m);
      loadHistory();
      loadMaxes();
      if (app.me?.token) myHistory.soon(m.index);
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
      if (bid?.state === "accepted" && app.me?.token) myHistory.soon(m.index ?? 0);
      // `unauthorized` on a bidder's connection: the token went mid-way.
      if (bid?.state === "rejected" && (bid.code === "token_replaced" || (bid.code === "unauthorized" && link.role === "bidder"))) onReplaced();
      break;
    }
    case "presence":
      if (m.sale === app.sale) setText($("#watchers"), `● ${m.watchers} watching`);
      break;
    case "error":
      // The token is refused (replaced at the desk, or a reset cluster).
      if (m.code === "unauthorized") onReplaced();
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
  const mineToo = ["sold", "outbid", "retracted", "bid_accepted", "lot_opened", "reopened"].includes(ev.type);
  if (mineToo && app.me?.token) myHistory.soon(e.index);
  switch (ev.type) {
    case "lots_added":
      rest
        .get(`/api/v1/sales/${app.sale}/lots`, { minIndex: e.index })
        .then((r) => {
          model.mergeLots(r.lots);
          render();
        })
        .catch(() => {}); // the next snapshot brings them
      break;
    case "lot_opened":
      voice.say(`New lot: ${title}, starting at ${formatMoney(ev.price ?? lot?.start, sale)}`);
      if (sale.mode.type === "live") app.picked = null;
      break;
    case "fair_warning":
      voice.say(`Fair warning on ${title} at ${formatMoney(ev.price, sale)}`);
      break;
    case "sold":
      voice.say(`Sold${ev.buy_now ? " on buy-now" : ""} to ${ev.paddle === 0 ? "the floor" : `paddle ${ev.paddle}`} for ${formatMoney(ev.hammer, sale)}`);
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
    case "sale_paused":
      voice.say(ev.reason ? `The sale is paused: ${ev.reason}` : "The sale is paused");
      break;
    case "sale_resumed":
      voice.say("The sale has resumed. Bidding is open again.");
      break;
    case "lot_extended_by":
      if (ev.reason === "operator" && ev.lot === currentLot()?.lot) voice.say(`The saleroom extended this lot by ${spokenDuration(ev.effective_end_ms - ev.previous_end_ms)}`);
      break;
    case "lot_edited":
      refetchLot(ev.lot);
      break;
    case "lot_introduced":
      assistant.onIntro(ev, currentLot());
      break;
    case "sign_in_replaced":
      // Our own sign-in makes one too, at the index it answered with: only
      // a later one is a replacement.
      if (app.me && ev.paddle === app.me.paddle && e.index > (app.me.index ?? 0)) onReplaced();
      break;
  }
}

// A lot's terms were edited (before it opened): take it afresh, at least as
// new as everything the page has applied, so no later event is undone.
async function refetchLot(lotId, tries = 0) {
  const model = app.model;
  try {
    const r = await rest.get(`/api/v1/lots/${lotId}`, { minIndex: model.index });
    if (app.model !== model) return;
    if (r.applied_index < model.index && tries < 3) return refetchLot(lotId, tries + 1);
    model.replaceLot(r.lot);
    render();
  } catch {
    // The next snapshot (reconnect) carries the edit.
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

// From the watchlist: show that lot, and where it is in the strip.
function pickWatched(lotId) {
  pick(lotId);
  $(`#lot-chip-${lotId}`)?.scrollIntoView({ block: "nearest", inline: "nearest" });
  $("#lot").scrollIntoView({ block: "start" });
}

function star(lotId) {
  const on = app.watch.toggle(lotId);
  const lot = app.model?.lots.get(lotId);
  setText($("#announce"), `${on ? "Watching" : "Stopped watching"} lot ${lot ? lot.position + 1 : ""}`);
  render();
}

// Another tab of this page starred a lot: follow it.
addEventListener("storage", (e) => {
  if (app.watch && e.key === `paddle.${app.watch.key}`) {
    app.watch.load();
    render();
  }
});

$("#watch-filter").addEventListener("click", () => {
  app.onlyWatched = !app.onlyWatched;
  render();
});

$("#signin-replaced-go").addEventListener("click", () => {
  $("#signin-code").focus();
  $("#signin-panel").scrollIntoView({ block: "center" });
});

function render() {
  const model = app.model;
  if (app.sale === null) return;
  signIn.render(app.me);
  if (!model?.ready()) return;
  const sale = model.sale;
  renderPauseBanner($("#paused-banner"), $("#paused-text"), sale);
  const lot = currentLot();
  strip.render(model, lot?.lot, app.watch, app.onlyWatched);
  watchView.render(model, app.watch, lot?.lot);
  const filter = $("#watch-filter");
  filter.setAttribute("aria-pressed", String(app.onlyWatched));
  setText(filter, app.onlyWatched ? "Show every lot in the strip" : "Show only watched lots in the strip");
  if (!lot) return;
  document.title = `${lot.title} — ${sale.title}`;
  renderLot(model, lot);
  const bidOnLot = app.me && model.historyOf(lot.lot).some((b) => b.paddle === app.me.paddle);
  renderPrice(model, lot, app.me, bidOnLot, app.maxes.get(lot.lot));
  renderHistory(model, lot, app.me);
  assistant.render(sale, lot, app.me, bidOnLot);
  buyNow.render(sale, lot);
  const canBid = !!app.me && !isClosed(lot) && lot.status !== "scheduled";
  // Paused: the buttons stay tappable, and a tap says why nothing is sent.
  const paused = !!pauseOf(sale);
  show($("#bid-panel"), !!app.me && !isClosed(lot));
  // The last bid's outcome belongs to its lot, not to whichever is shown.
  const outcome = $("#bid-outcome");
  show(outcome, outcome.dataset.lot === String(lot.lot));
  $("#bid-panel").classList.toggle("paused", paused);
  for (const b of $("#quick").querySelectorAll("button")) {
    b.disabled = !canBid;
    b.setAttribute("aria-disabled", String(paused));
  }
  // A sale that registers at the desk only shows no sign-up form: the
  // desk's code (the panel below) is the way in.
  const selfReg = app.model?.sale?.self_registration !== false;
  show($("#register-panel"), !app.me && !isClosed(lot) && selfReg);
  const name = app.me?.name ? ` (${app.me.name})` : "";
  const meText = !app.me
    ? ""
    : `You are paddle ${app.me.paddle}${name}` + (app.me.approved === false ? " — waiting for the desk to approve you; you can bid once approved." : "");
  setText($("#me"), meText);
  myInvoice.update(app);
  tick();
}

function tick() {
  const model = app.model;
  if (!model?.ready()) return;
  const lot = currentLot();
  const sale = model.sale;
  // Paused: every clock stands at the pause's stamp (pause.js).
  const now = saleNow(sale, link.clock);
  const paused = !!pauseOf(sale);
  ring.update(lot, sale.soft_close?.window_ms ?? 0, now);
  markRingPaused(ring, lot, sale);
  strip.tick(model, now, paused);
  watchView.tick(model, now, paused);
  if (link.state.kind === "stale") renderBadge($("#badge"), link.state);
}

wireBidForms({
  app,
  rest,
  currentLot,
  adopt,
  signIn,
  refuse: renderRefusal,
});
