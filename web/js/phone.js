// The phone clerk's page (`/phone`): a clerk on a telephone line relays a
// bidder who is not in the room. It follows the lot on the rostrum (or one
// picked by hand), shows the price, the asking price and who leads, and one
// big button bids the asking price for the bidder's paddle on this line.
// Made for a phone held in one hand: big targets, one column, no sideways
// scrolling.
//
// Each tap is a new bid with a new bid id. Only "Retry the same bid", shown
// after a send whose outcome is not known, sends an id again: the node then
// answers with that bid's first outcome instead of bidding twice.

import { $, h, setText, show } from "./dom.js";
import { Link } from "./link.js";
import { Rest, store } from "./rest.js";
import { SaleFeed } from "./feed.js";
import { STATUS_TEXT } from "./sale.js";
import { renderBadge } from "./badge.js";
import { signIn, report, pickSale } from "./staff.js";
import { formatMoney } from "./money.js";
import { newBidId, outcomeOpen } from "./bid-id.js";

const token = () => store.get("staff.token");
const link = new Link({ token, onMessage: (m) => feed.handle(m), onState: (s) => renderBadge($("#badge"), s) });
const rest = new Rest(() => link.base(), token);
const feed = new SaleFeed(link, rest, { onEvent, onChange: render });
// pick: a lot chosen by hand (null: follow the rostrum); unsure: the last
// bid sent whose outcome is not known (what "Retry" sends again); asking:
// the asking price last shown, to flash the button when it moves.
const app = { sales: [], pick: null, sending: false, unsure: null, lotsSig: "", asking: null };
window.__paddle = { link, feed, app };

// The paddle and this clerk's line survive a reload: the same phone stays
// on the same line all evening.
$("#phone-paddle").value = store.get("phone.paddle") ?? "";
$("#phone-line").value = store.get("phone.line") ?? "";
for (const [field, key] of [["#phone-paddle", "phone.paddle"], ["#phone-line", "phone.line"]]) {
  $(field).addEventListener("input", (e) => {
    store.set(key, e.target.value.trim() || null);
    render();
  });
}

signIn(["clerk", "operator"]).then(async () => {
  link.start();
  await loadSales();
});

const saleLabel = (s) => `${s.sale} · ${s.title} (${s.mode?.type ?? "?"}, ${s.status})`;

async function loadSales() {
  const live = (s) => s.mode?.type === "live";
  const { sales, chosen } = await pickSale(rest, {
    select: $("#phone-sale"),
    storeKey: "phone.sale",
    msg: $("#phone-outcome"),
    label: saleLabel,
    prefer: [(s) => live(s) && s.status === "running", (s) => live(s) && s.status !== "closed"],
  });
  app.sales = sales;
  if (chosen) choose(chosen.sale);
}

$("#phone-sale").addEventListener("change", (e) => choose(Number(e.target.value)));
$("#phone-lot").addEventListener("change", (e) => {
  app.pick = e.target.value === "" ? null : Number(e.target.value);
  render();
});

function choose(saleId) {
  store.set("phone.sale", saleId);
  app.pick = null;
  app.unsure = null;
  app.lotsSig = "";
  app.asking = null;
  feed.open(saleId);
  $("#nav-clerk").href = `/clerk?sale=${saleId}`;
  $("#nav-desk").href = `/desk?sale=${saleId}`;
  render();
}

// The model keeps price, asking, leader and the pause (sale.paused) from
// the events; an edited lot is fetched again.
function onEvent(e) {
  if (e.event.type === "lot_edited") refetchLot(e.event.lot, e.index);
}

// `lot_edited` says only which lot: its new title comes over REST.
async function refetchLot(lotId, minIndex) {
  try {
    const { lot } = await rest.get(`/api/v1/lots/${lotId}`, { minIndex });
    const known = feed.model?.lots.get(lotId);
    if (known) Object.assign(known, lot);
    render();
  } catch {
    // The next snapshot brings it.
  }
}

function current() {
  const model = feed.model;
  if (!model?.ready()) return null;
  return model.lots.get(app.pick ?? model.focusLot()) ?? null;
}

// A whole number from 1 in a field (digits only: "1e3" is not a paddle),
// or null.
function numberIn(field) {
  const t = $(field).value.trim();
  const n = /^\d{1,9}$/.test(t) ? Number(t) : 0;
  return n >= 1 ? n : null;
}

function render() {
  const model = feed.model;
  if (!model?.ready()) return;
  const sale = model.sale;
  renderLots(model);
  const option = $(`#phone-sale option[value="${sale.sale}"]`);
  if (option) setText(option, saleLabel(sale));
  const l = current();
  const live = sale.mode?.type === "live";
  const paused = sale.paused ?? null;
  setText($("#phone-paused"), paused ? `⏸ Sale paused${paused.reason ? `: ${paused.reason}` : ""}` : "");
  setText($("#phone-note"), live ? "" : "Phone bids are for live sales only: this sale is timed.");
  setText($("#phone-following"), app.pick === null ? "· following the rostrum" : "· picked by hand");
  const button = $("#phone-bid");
  const retry = $("#phone-retry");
  show(retry, !!app.unsure && !app.sending);
  if (app.unsure) setText(retry, `Retry the same bid (paddle ${app.unsure.paddle}, lot ${app.unsure.lotNo})`);
  if (!l) {
    setText($("#phone-lot-no"), "Lot");
    setText($("#phone-title"), "No lot to show yet");
    setText($("#phone-status"), "");
    for (const id of ["#phone-price", "#phone-asking"]) setText($(id), "—");
    setText($("#phone-leader"), "");
    renderLeading(null, null, sale);
    button.disabled = true;
    setText(button, "No lot to bid on");
    return;
  }
  setText($("#phone-lot-no"), `Lot ${l.position + 1}`);
  setText($("#phone-title"), l.title);
  $("#phone-title").title = l.title; // a phone shows three lines of it
  const st = $("#phone-status");
  st.className = `pill st-${l.status}`;
  setText(st, STATUS_TEXT[l.status] || l.status);
  const price = $("#phone-price");
  price.dataset.minor = String(l.price ?? "");
  setText(price, l.status === "sold" ? `SOLD ${formatMoney(l.result?.hammer ?? l.price, sale)}` : formatMoney(l.price ?? l.start, sale));
  setText($("#phone-leader"), l.leader == null ? "no bids yet: starting price" : `paddle ${l.leader}`);
  const open = l.status === "open" || l.status === "fair_warning";
  const can = live && open && !paused;
  const asking = $("#phone-asking");
  asking.dataset.minor = open ? String(l.minimum_next) : "";
  setText(asking, open ? formatMoney(l.minimum_next, sale) : "—");
  renderLeading(l, open, sale);
  button.disabled = !can || app.sending;
  button.dataset.minor = can ? String(l.minimum_next) : "";
  let text = `Bid ${formatMoney(l.minimum_next, sale)}`;
  if (app.sending) text = "Sending…";
  else if (!live) text = "Live sales only";
  else if (paused) text = "Sale paused";
  else if (l.status === "scheduled") text = "Lot not open yet";
  else if (!open) text = `Lot ${(STATUS_TEXT[l.status] || l.status).toLowerCase()}`;
  setText(button, text);
  // A new asking price flashes the button: the tap bids what it says now.
  const shown = can ? `${l.lot}:${l.minimum_next}` : null;
  if (shown && app.asking && shown !== app.asking) {
    button.classList.remove("changed");
    void button.offsetWidth; // restart the animation
    button.classList.add("changed");
  }
  app.asking = shown;
}

// Whether this clerk's bidder leads, in words (and data-leading for tests).
function renderLeading(l, open, sale) {
  const el = $("#phone-leading");
  const paddle = numberIn("#phone-paddle");
  let state = "none";
  let text = "";
  if (l && paddle !== null && l.leader === paddle) {
    state = "yes";
    text = `★ Your bidder, paddle ${paddle}, leads at ${formatMoney(l.price, sale)}`;
  } else if (l && open && paddle !== null && l.leader != null) {
    state = "no";
    text = `Paddle ${l.leader} leads: ask your bidder for ${formatMoney(l.minimum_next, sale)}`;
  }
  el.dataset.leading = state;
  setText(el, text);
}

// The lot picker. Rebuilt only when a lot's title or status changes, so an
// open list is not yanked away by every bid.
function renderLots(model) {
  const lots = model.sortedLots();
  const sig = lots.map((l) => `${l.lot}:${l.status}:${l.title}`).join("|");
  const pick = $("#phone-lot");
  if (sig !== app.lotsSig) {
    app.lotsSig = sig;
    pick.replaceChildren(
      h("option", { value: "" }, "Follow the rostrum (current lot)"),
      ...lots.map((l) => h("option", { value: l.lot }, `Lot ${l.position + 1} · ${l.title} — ${STATUS_TEXT[l.status] || l.status}`)),
    );
  }
  const want = app.pick === null ? "" : String(app.pick);
  if (pick.value !== want) pick.value = want;
}

function pending(el, text) {
  report(el, true, text);
  el.dataset.state = "pending";
}

$("#phone-bid").addEventListener("click", () => {
  const out = $("#phone-outcome");
  const l = current();
  if (!l || app.sending) return;
  const paddle = numberIn("#phone-paddle");
  if (paddle === null) {
    report(out, false, "✕ Type your bidder's paddle number first.");
    return $("#phone-paddle").focus();
  }
  const line = numberIn("#phone-line");
  if (line === null || line > 65535) {
    report(out, false, "✕ Type your phone line number (1, 2, …) first.");
    return $("#phone-line").focus();
  }
  send({ bid_id: newBidId("tel"), lot: l.lot, lotNo: l.position + 1, paddle, line });
});

$("#phone-retry").addEventListener("click", () => {
  if (app.unsure && !app.sending) send(app.unsure, true);
});

// Post one phone bid at the asking price (amount null: the node takes the
// asking price when it applies the bid) and say plainly what became of it.
async function send(bid, retry = false) {
  const out = $("#phone-outcome");
  const sale = feed.model.sale;
  app.sending = true;
  render();
  pending(out, `${retry ? "Sending the same bid again" : "Sending"}: paddle ${bid.paddle} on line ${bid.line}, lot ${bid.lotNo}, at the asking price…`);
  try {
    const r = await rest.post(`/api/v1/lots/${bid.lot}/phone-bids`, { paddle: bid.paddle, amount: null, bid_id: bid.bid_id, line: bid.line });
    app.unsure = null;
    const l = r.lot;
    const leads = l?.leader === bid.paddle;
    report(
      out,
      true,
      leads
        ? `✓ Bid accepted: paddle ${bid.paddle} leads at ${formatMoney(l.price, sale)} (line ${bid.line}, index ${r.index}).`
        : `✓ Bid accepted, but paddle ${l?.leader ?? "?"} still leads at ${formatMoney(l?.price, sale)}: a higher maximum stood. Ask your bidder again (index ${r.index}).`,
    );
  } catch (e) {
    if (outcomeOpen(e)) {
      app.unsure = bid;
      report(out, false, `⚠ Not confirmed: ${e.message}. “Retry the same bid” asks again with the same bid id, so it can never count twice (if this send never arrived, the retry bids the asking price of that moment).`);
      out.dataset.state = "unknown";
    } else {
      app.unsure = null;
      report(out, false, `✕ Bid refused: ${e.message}`);
    }
  } finally {
    app.sending = false;
    render();
  }
}
