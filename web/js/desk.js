// The registration desk (`/desk`): a clerk registers bidders in person and
// hands over their paddle with a printed sign-in code and its QR (shown
// once: desk-card.js), finds bidders again to fix details, approve, set a
// limit or reissue a lost phone's sign-in (desk-bidders.js), and takes
// commission bids: maximums left with the office.

import { $, h, setText } from "./dom.js";
import { Link } from "./link.js";
import { Rest, store } from "./rest.js";
import { SaleFeed } from "./feed.js";
import { STATUS_TEXT, isClosed } from "./sale.js";
import { renderBadge } from "./badge.js";
import { signIn, report, pickSale } from "./staff.js";
import { formatMoney, toDecimal, parseDecimal, exponentOf } from "./money.js";
import { newBidId, outcomeOpen } from "./bid-id.js";
import { SignInCard } from "./desk-card.js";
import { BidderTable } from "./desk-bidders.js";

// Another desk's edits (contact details, limits) send no event to follow.
const REFRESH_MS = 10000;

const token = () => store.get("staff.token");
const link = new Link({ token, onMessage: (m) => feed.handle(m), onState: (s) => renderBadge($("#badge"), s) });
const rest = new Rest(() => link.base(), token);
const feed = new SaleFeed(link, rest, { onEvent, onChange: render });
// commission: the submission waiting for a confirmed outcome, {key, bid_id, sends}.
const app = { sales: [], commission: null, lotsSig: "" };
const card = new SignInCard();
const bidders = new BidderTable({ rest, sale: saleView, card });
window.__paddle = { link, feed, app };

signIn(["clerk", "operator"]).then(async () => {
  link.start();
  await loadSales();
  setInterval(() => document.visibilityState === "visible" && bidders.refresh(), REFRESH_MS);
});

// The sale as the live snapshot has it, or as the sale list said until the
// snapshot comes (currency and decimals are what the forms need).
function saleView() {
  const id = feed.model?.id;
  if (id == null) return null;
  return feed.model.sale ?? app.sales.find((s) => s.sale === id) ?? null;
}

const saleLabel = (s) => `${s.sale} · ${s.title} (${s.status})`;

async function loadSales() {
  const { sales, chosen } = await pickSale(rest, {
    select: $("#desk-sale"),
    storeKey: "desk.sale",
    msg: $("#desk-reg-msg"),
    label: saleLabel,
    prefer: [(s) => s.status !== "closed"],
  });
  app.sales = sales;
  if (chosen) choose(chosen.sale);
}

$("#desk-sale").addEventListener("change", (e) => choose(Number(e.target.value)));

function choose(saleId) {
  store.set("desk.sale", saleId);
  app.commission = null;
  app.lotsSig = "";
  feed.open(saleId);
  bidders.open(saleId);
  $("#nav-clerk").href = `/clerk?sale=${saleId}`;
  $("#nav-phone").href = `/phone?sale=${saleId}`;
  labelCommission();
  render();
}

function onEvent(e) {
  const ev = e.event;
  if (["bidder_registered", "bidder_approved", "sign_in_replaced"].includes(ev.type)) bidders.refresh(e.index);
  if (ev.type === "lot_edited") refetchLot(ev.lot, e.index);
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

function render() {
  const sale = feed.model?.ready() ? feed.model.sale : null;
  const option = sale && $(`#desk-sale option[value="${sale.sale}"]`);
  if (option) setText(option, saleLabel(sale));
  renderLots();
}

// The commission form's lots. Rebuilt only when a lot's title or status
// changes, so the clerk's choice survives the sale's live events.
function renderLots() {
  const model = feed.model;
  const pick = $("#desk-com-lot");
  if (!model?.ready()) {
    if (app.lotsSig !== "loading") pick.replaceChildren(h("option", { value: "" }, "Loading the lots…"));
    app.lotsSig = "loading";
    return;
  }
  const lots = model.sortedLots();
  const sig = lots.map((l) => `${l.lot}:${l.status}:${l.title}`).join("|");
  if (sig === app.lotsSig) return;
  app.lotsSig = sig;
  const keep = pick.value;
  pick.replaceChildren(
    h("option", { value: "" }, lots.length ? "Choose a lot…" : "No lots in this sale yet"),
    // A finished lot takes no bid: listed, so the catalogue numbers stay familiar, but not choosable.
    ...lots.map((l) => h("option", { value: l.lot, disabled: isClosed(l) }, `Lot ${l.position + 1} · ${l.title} — ${STATUS_TEXT[l.status] || l.status}`)),
  );
  if (lots.some((l) => String(l.lot) === keep && !isClosed(l))) pick.value = keep;
}

// A form line in the "working on it" state, like the clerk console's.
function pending(el, text) {
  report(el, true, text);
  el.dataset.state = "pending";
}

function fail(el, text, field) {
  report(el, false, text);
  $(field)?.focus();
}

// Digits only ("1e3" is not a paddle number); NaN otherwise.
function wholeNumber(text) {
  return /^\d{1,9}$/.test(text) ? Number(text) : NaN;
}

// A typed amount as the API's decimal string: null when blank, undefined
// when it is not an amount in the sale's currency.
function amountOf(field, sale) {
  const text = $(field).value.trim();
  if (!text) return null;
  const minor = parseDecimal(text, exponentOf(sale));
  return minor === null || minor <= 0 ? undefined : toDecimal(minor, exponentOf(sale));
}

$("#desk-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const msg = $("#desk-reg-msg");
  const sale = saleView();
  if (!sale) return fail(msg, "✕ Pick the sale first (top of the page).", "#desk-sale");
  const name = $("#desk-name").value.trim();
  if (!name) return fail(msg, "✕ Type the bidder's name.", "#desk-name");
  const paddleText = $("#desk-paddle").value.trim();
  const paddle = paddleText === "" ? null : wholeNumber(paddleText);
  if (paddle !== null && !(paddle >= 1)) {
    return fail(msg, "✕ The paddle is a whole number from 1, or blank for the next free one.", "#desk-paddle");
  }
  const limit = amountOf("#desk-limit", sale);
  if (limit === undefined) {
    return fail(msg, `✕ The spending limit is an amount like 5000.00 in ${sale.currency} (at most ${exponentOf(sale)} decimals), or blank for no limit.`, "#desk-limit");
  }
  const body = {
    name,
    paddle,
    approved: $("#desk-approved").checked,
    limit,
    phone: $("#desk-phone").value.trim(),
    email: $("#desk-email").value.trim(),
    id_checked: $("#desk-id-checked").checked,
    deposit_note: $("#desk-deposit").value.trim(),
  };
  const button = $("#desk-register");
  button.disabled = true;
  pending(msg, `Registering ${name}…`);
  try {
    const r = await rest.post(`/api/v1/sales/${sale.sale}/desk`, body);
    report(msg, true, `✓ ${name} is paddle ${r.paddle}${r.approved ? ", approved to bid" : ", waiting for approval"} (index ${r.index}). Hand over the card.`);
    $("#desk-form").reset();
    card.show({ heading: "New bidder", name, paddle: r.paddle, sale, sign_in: r.sign_in });
    bidders.refresh(r.index);
  } catch (err) {
    // A chosen paddle in use: the node answers 409 `duplicate` (the
    // contract once said `paddle_taken`; either is the same answer).
    if (paddle !== null && (err.code === "duplicate" || err.code === "paddle_taken")) {
      fail(msg, `✕ Paddle ${paddle} is already taken in this sale: choose another number, or leave it blank for the next free one.`, "#desk-paddle");
      $("#desk-paddle").select();
    } else if (outcomeOpen(err)) {
      // A registration has no id of its own: sending it again could make a second paddle.
      report(msg, false, `✕ Not confirmed: ${err.message}. Search for “${name}” below before registering again.`);
    } else {
      report(msg, false, `✕ Not registered: ${err.message}`);
    }
  } finally {
    button.disabled = false;
  }
});

// The commission form as a submission: the same sale, lot, paddle and
// maximum are the same bid (so a resend keeps its id), anything else is a
// new one. null while the form is incomplete.
function commissionOf() {
  const sale = saleView();
  const paddle = wholeNumber($("#desk-com-paddle").value.trim());
  const lot = feed.model?.lots.get(Number($("#desk-com-lot").value || NaN)) ?? null;
  const minor = sale ? parseDecimal($("#desk-com-max").value, exponentOf(sale)) : null;
  if (!sale || !lot || !(Number.isInteger(paddle) && paddle >= 1) || !minor) return { sale, lot, paddle, minor, key: null };
  const max = toDecimal(minor, exponentOf(sale));
  return { sale, lot, paddle, minor, max, key: `${sale.sale}|${lot.lot}|${paddle}|${max}` };
}

// The button says when pressing it resends an unconfirmed bid.
function labelCommission() {
  const resend = app.commission && app.commission.key === commissionOf().key;
  setText($("#desk-com-submit"), resend ? "Resend the same bid" : "Place commission bid");
}

$("#desk-commission").addEventListener("input", labelCommission);
$("#desk-commission").addEventListener("change", labelCommission);

$("#desk-commission").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("#desk-com-outcome");
  const c = commissionOf();
  if (!c.sale) return fail(out, "✕ Pick the sale first (top of the page).", "#desk-sale");
  if (!(Number.isInteger(c.paddle) && c.paddle >= 1)) return fail(out, "✕ The paddle is a whole number from 1.", "#desk-com-paddle");
  if (!c.lot) return fail(out, "✕ Choose the lot.", "#desk-com-lot");
  if (!c.minor) return fail(out, `✕ The maximum is an amount like 300.00 in ${c.sale.currency} (at most ${exponentOf(c.sale)} decimals).`, "#desk-com-max");
  // A retry of the same submission keeps its bid id: if the first send got
  // through, the node answers with its outcome instead of bidding again.
  if (app.commission?.key !== c.key) app.commission = { key: c.key, bid_id: newBidId("com"), sends: 0 };
  const sub = app.commission;
  sub.sends += 1;
  const what = `paddle ${c.paddle}, up to ${formatMoney(c.minor, c.sale)} on lot ${c.lot.position + 1} (${c.lot.title})`;
  pending(out, `${sub.sends > 1 ? "Resending the same" : "Placing the"} commission bid: ${what}…`);
  setText($("#desk-com-id"), `Bid id ${sub.bid_id}`);
  const button = $("#desk-com-submit");
  button.disabled = true;
  try {
    const r = await rest.post(`/api/v1/lots/${c.lot.lot}/commission-bids`, { paddle: c.paddle, max: c.max, bid_id: sub.bid_id });
    app.commission = null;
    report(out, true, `✓ Commission bid accepted: ${what}. ${standing(r.lot, c.paddle, c.sale)} (index ${r.index})`);
    $("#desk-com-paddle").value = "";
    $("#desk-com-max").value = "";
  } catch (err) {
    if (outcomeOpen(err)) {
      report(out, false, `⚠ Commission bid not confirmed: ${err.message}. Press “Resend the same bid”: it keeps its bid id, so it can never count twice.`);
      out.dataset.state = "unknown";
    } else {
      app.commission = null;
      report(out, false, `✕ Commission bid refused: ${err.message}`);
    }
  } finally {
    button.disabled = false;
    labelCommission();
  }
});

// The lot after the bid, in words.
function standing(l, paddle, sale) {
  if (!l) return "";
  if (l.status === "scheduled") return "The lot is not open yet: the bid waits and counts when it opens.";
  if (l.leader == null) return "";
  return `Paddle ${l.leader}${l.leader === paddle ? " (this bidder)" : ""} leads at ${formatMoney(l.price, sale)}.`;
}
