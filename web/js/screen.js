// The venue screen (`/screen`, `/screen?sale=N`): what the projector
// shows the room. The lot, its price, the leading paddle, the countdown and
// a SOLD banner with the hammer price. It follows the live sale's current
// lot (or the timed lot that closes next) by itself; nobody touches it.
//
// It is on a wall for everyone to read: it connects without a token, so it
// only ever gets the public events, and shows paddle numbers, never a name,
// a phone line or a contact. While the sale is paused it says so with the
// operator's reason and its countdown stands still (pause.js).

import { $, setText, show, param } from "./dom.js";
import { Link } from "./link.js";
import { Rest } from "./rest.js";
import { SaleFeed } from "./feed.js";
import { STATUS_TEXT, isClosed } from "./sale.js";
import { Ring } from "./ring.js";
import { renderBadge } from "./badge.js";
import { formatMoney } from "./money.js";
import { lotPicture, pictureKey, setImageBase } from "./picture.js";
import { saleNow, renderPauseBanner, markRingPaused } from "./pause.js";
import { Announcer } from "./speech.js";

const link = new Link({ onMessage: (m) => feed.handle(m), onState: (s) => renderBadge($("#badge"), s) });
const rest = new Rest(() => link.base());
setImageBase(() => link.base());
const feed = new SaleFeed(link, rest, { onEvent, onChange: render });
const ring = new Ring($("#countdown"));
const app = { soldUntil: 0, soldLot: null, intros: new Map() };
// The auctioneer's introductions are spoken here (the mute switch stays).
const voice = new Announcer($("#mute"), null);
window.__paddle = { link, feed };

link.start();
setText($("#url"), `Bid on your phone: ${location.host}`);
pickSale();
setInterval(tick, 250);

// The sale in the address, else the first running one (checked again
// until there is one).
async function pickSale() {
  const wanted = param("sale");
  if (wanted !== null) return feed.open(Number(wanted));
  try {
    const { sales } = await rest.get("/api/v1/sales?status=running&limit=1");
    if (sales.length) return feed.open(sales[0].sale);
  } catch {
    // Try again below.
  }
  setTimeout(pickSale, 5000);
}

function onEvent(e) {
  if (e.event.type === "sold") {
    app.soldLot = e.event.lot;
    // The banner stays until the next lot opens (or 20 s in a timed sale).
    app.soldUntil = performance.now() + 20000;
  }
  if (e.event.type === "lot_opened") app.soldLot = null;
  if (e.event.type === "lot_edited") refetchLot(e.event.lot);
  if (e.event.type === "lot_introduced") {
    app.intros.set(e.event.lot, e.event.text);
    // Spoken for the lot on show while it is open, not on a replay of old news.
    const l = feed.model?.lots.get(e.event.lot);
    if (l && ["open", "fair_warning"].includes(l.status) && l.lot === lot()?.lot) voice.say(e.event.text);
    render();
  }
}

// A lot edited before it opened: take it afresh (at least as new as the
// page, so no later event is undone).
async function refetchLot(lotId, tries = 0) {
  const model = feed.model;
  try {
    const r = await rest.get(`/api/v1/lots/${lotId}`, { minIndex: model.index });
    if (feed.model !== model) return;
    if (r.applied_index < model.index && tries < 3) return refetchLot(lotId, tries + 1);
    model.replaceLot(r.lot);
    render();
  } catch {
    // The next snapshot (reconnect) carries the edit.
  }
}

function lot() {
  const model = feed.model;
  if (!model?.ready()) return null;
  if (app.soldLot && model.lots.has(app.soldLot) && (model.sale.mode.type === "live" || performance.now() < app.soldUntil)) return model.lots.get(app.soldLot);
  return model.lots.get(model.focusLot()) ?? null;
}

function render() {
  const model = feed.model;
  if (!model?.ready()) return;
  const sale = model.sale;
  setText($("#sale-title"), sale.title);
  renderPauseBanner($("#paused-banner"), $("#paused-text"), sale);
  if (feed.watchers != null) setText($("#watchers"), `${feed.watchers} watching`);
  const l = lot();
  if (!l) return;
  setText($("#lot-no"), `Lot ${l.position + 1} of ${model.lots.size}`);
  setText($("#lot-title"), l.title);
  const photo = $("#photo");
  if (photo.dataset.lot !== pictureKey(l)) {
    photo.dataset.lot = pictureKey(l);
    photo.replaceChildren(lotPicture(l));
  }
  const st = $("#lot-status");
  st.className = `pill st-${l.status}`;
  setText(st, STATUS_TEXT[l.status] || l.status);
  setText($("#price-label"), l.price == null ? "Starting at" : isClosed(l) ? "Final" : "Current bid");
  const price = $("#price");
  price.dataset.minor = String(l.price ?? l.start);
  setText(price, formatMoney(l.price ?? l.start, sale));
  setText($("#leader"), l.leader == null ? "No bids yet" : `Paddle ${l.leader === 0 ? "in the room" : l.leader} leads`);
  setText($("#reserve"), l.has_reserve ? (l.reserve_met ? "✓ Reserve met" : "Reserve not yet met") : "");
  const intro = app.intros.get(l.lot);
  setText($("#intro"), intro ?? "");
  show($("#intro"), Boolean(intro));
  const next = model.sortedLots().find((x) => x.status === "scheduled" && x.lot !== l.lot);
  setText($("#next"), next ? `Next: ${next.title}` : "");
  const sold = $("#sold");
  if (l.status === "sold" && l.result) {
    sold.dataset.hammer = String(l.result.hammer);
    setText(sold, `SOLD${l.result.buy_now ? " (BUY NOW)" : ""} — paddle ${l.result.winner} — ${formatMoney(l.result.hammer, sale)}`);
  }
  show(sold, l.status === "sold");
  document.body.classList.toggle("warning", l.status === "fair_warning");
}

function tick() {
  const model = feed.model;
  if (!model?.ready()) return;
  const l = lot();
  ring.update(l, model.sale.soft_close?.window_ms ?? 0, saleNow(model.sale, link.clock));
  markRingPaused(ring, l, model.sale);
  if (link.state.kind === "stale") renderBadge($("#badge"), link.state);
}
