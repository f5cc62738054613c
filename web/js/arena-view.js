// Drawing the bidder's sale view from the model. Pure rendering: the
// controller (arena.js) owns the connection, the bids and the choices.

import { $, h, setText, show, formatDuration } from "./dom.js";
import { formatMoney, stepsAbove, exponentOf } from "./money.js";
import { STATUS_TEXT, isClosed } from "./sale.js";
import { lotPicture, pictureKey } from "./picture.js";

const paddleName = (p) => (p === 0 ? "the floor" : `paddle ${p}`);

// The list of sales (`#/`): a card per sale; a paused sale says so.
export function renderSales(list, sales) {
  const words = { scheduled: "Coming up", running: "Running", closed: "Closed" };
  list.replaceChildren(
    ...sales.map((s) =>
      h(
        "li",
        {},
        h(
          "a",
          { class: "card", href: `#/sale/${s.sale}` },
          h("strong", { class: "card-title" }, s.title),
          s.paused ? h("span", { class: "pill st-paused" }, "Paused") : h("span", { class: `pill st-${s.status}` }, words[s.status] || s.status),
          h("span", { class: "muted" }, `${s.lots} lot${s.lots === 1 ? "" : "s"} · ${s.mode.type === "live" ? "live with auctioneer" : "timed online"} · ${s.currency}`),
        ),
      ),
    ),
  );
}

// The lot's static part: picture, number, title, description, status.
export function renderLot(model, lot) {
  const sale = model.sale;
  setText($("#sale-title"), sale.title);
  setText($("#lot-no"), `Lot ${lot.position + 1} of ${model.lots.size}`);
  setText($("#lot-title"), lot.title);
  setText($("#lot-desc"), lot.description || "");
  const photo = $("#lot-photo");
  if (photo.dataset.lot !== pictureKey(lot)) {
    photo.dataset.lot = pictureKey(lot);
    photo.replaceChildren(lotPicture(lot));
    photo.setAttribute("aria-label", `Picture for lot ${lot.position + 1}: ${lot.title}`);
  }
  const status = $("#lot-status");
  status.className = `pill st-${lot.status}`;
  setText(status, STATUS_TEXT[lot.status] || lot.status);
  const reserve = $("#reserve");
  show(reserve, lot.has_reserve);
  reserve.dataset.met = String(!!lot.reserve_met);
  setText(reserve, lot.reserve_met ? "✓ Reserve met" : "Reserve not met yet");
}

// Price, leader, minimum next, quick bids, winning/outbid, SOLD banner.
export function renderPrice(model, lot, me, bidOnLot, myMax) {
  const sale = model.sale;
  const price = $("#price");
  const shown = lot.price ?? lot.start;
  if (price.dataset.minor !== String(shown)) {
    const had = price.dataset.minor;
    price.dataset.minor = String(shown);
    setText(price, formatMoney(shown, sale));
    if (had) {
      price.classList.remove("bump");
      void price.offsetWidth; // restart the animation
      price.classList.add("bump");
    }
  }
  setText($("#price-label"), lot.price == null ? "Starting price" : isClosed(lot) ? "Final price" : "Current price");
  const who = `${paddleName(lot.leader)}${me && lot.leader === me.paddle ? " (you)" : ""}`;
  const leader = lot.leader == null ? "No bids yet" : lot.status === "sold" ? `Won by ${who}` : `Leading: ${who}`;
  setText($("#leader"), `${leader} · ${lot.bids || 0} bid${lot.bids === 1 ? "" : "s"}`);

  const min = $("#min-next");
  min.dataset.minor = String(lot.minimum_next);
  setText(min, formatMoney(lot.minimum_next, sale));
  for (const b of $("#quick").querySelectorAll("button")) {
    const steps = Number(b.dataset.steps);
    const amount = stepsAbove(sale, lot, steps);
    b.dataset.minor = String(amount);
    b.replaceChildren(
      h("span", { class: "q-amount" }, formatMoney(amount, sale)),
      h("span", { class: "q-sub" }, steps === 1 ? "next bid" : `+${steps} increments`),
    );
    b.setAttribute("aria-label", `Bid ${formatMoney(amount, sale)}`);
  }

  const banner = $("#sold-banner");
  if (lot.status === "sold" && lot.result) {
    banner.dataset.hammer = String(lot.result.hammer);
    const how = lot.result.buy_now ? " (buy now)" : "";
    banner.dataset.buyNow = String(!!lot.result.buy_now);
    setText(banner, `SOLD${how} to ${paddleName(lot.result.winner)}${me && lot.result.winner === me.paddle ? " (you)" : ""} for ${formatMoney(lot.result.hammer, sale)}`);
    banner.className = "sold-banner sold";
  } else if (lot.status === "passed") {
    setText(banner, "PASSED — not sold");
    banner.className = "sold-banner passed";
  } else if (lot.status === "withdrawn") {
    setText(banner, "WITHDRAWN");
    banner.className = "sold-banner passed";
  }
  show(banner, isClosed(lot));

  const state = $("#my-state");
  let kind = "none";
  let text = "";
  if (me && lot.leader === me.paddle && lot.leader != null) {
    kind = lot.status === "sold" ? "won" : isClosed(lot) ? "none" : "winning";
    text = kind === "won" ? "★ You won this lot" : kind === "winning" ? "✓ You are winning" : "";
    if (kind === "winning" && myMax != null) text += ` — your maximum ${formatMoney(myMax, sale)}`;
  } else if (me && bidOnLot) {
    kind = isClosed(lot) ? "lost" : "outbid";
    text = kind === "outbid" ? "⚠ Outbid — bid again to lead" : "This lot went to another bidder";
  }
  state.dataset.state = kind;
  state.className = `my-state ${kind}`;
  setText(state, text);
  show(state, kind !== "none");
}

export function renderHistory(model, lot, me) {
  const sale = model.sale;
  const list = model.historyOf(lot.lot);
  const ol = $("#history");
  ol.replaceChildren(
    ...list.map((b) =>
      h(
        "li",
        { class: b.retracted ? "retracted" : me && b.paddle === me.paddle ? "mine" : null, dataset: { paddle: b.paddle, minor: b.shown, index: b.index } },
        h("span", { class: "h-paddle" }, b.paddle === 0 ? "Floor" : `Paddle ${b.paddle}`, me && b.paddle === me.paddle ? " (you)" : ""),
        h("span", { class: "h-amount" }, formatMoney(b.shown, sale)),
        h("span", { class: "h-time" }, b.retracted ? "retracted" : b.stamp_ms ? timeOf(b.stamp_ms) : ""),
      ),
    ),
  );
  if (!list.length) ol.replaceChildren(h("li", { class: "muted empty" }, "No bids yet."));
  renderExtensions($("#extensions"), model.extensionsOf(lot.lot));
}

// "+0:30 extended" chips, newest first: soft close (a late bid) or the
// saleroom's own extension ("by the saleroom"). The time a pause took,
// given back on resume, is no chip.
function renderExtensions(root, extensions) {
  root.dataset.count = String(extensions.length);
  root.replaceChildren(
    ...extensions
      .slice(-3)
      .reverse()
      .map((x) =>
        h(
          "li",
          { class: `chip chip-ext${x.reason === "operator" ? " by-operator" : ""}`, dataset: { reason: x.reason || "soft_close" } },
          `+${formatDuration(x.to - x.from)} extended${x.reason === "operator" ? " by the saleroom" : ""}`,
        ),
      ),
  );
}

// The outcome line of the latest bid: never left on "sending".
export function renderOutcome(bid, sale) {
  const el = $("#bid-outcome");
  if (!bid) return;
  const amount = formatMoney(bid.amount, sale);
  const text = {
    sending: `Sending your bid of ${amount}…`,
    // The standing (winning / outbid) is shown above and kept current; this
    // line is the outcome of this one bid.
    accepted: bid.leading ? `✓ Bid of ${amount} accepted.` : `✓ Bid of ${amount} accepted, but another bidder's maximum was higher.`,
    rejected: `✕ Bid of ${amount} not accepted: ${WHY[bid.code] || bid.message || bid.code}`,
    unknown: `↻ No confirmation yet for ${amount} — checking again (the same bid, never placed twice)…`,
  }[bid.state];
  el.dataset.state = bid.state;
  el.dataset.code = bid.code || "";
  // Shown under its own lot only (render() hides it on the others).
  el.dataset.lot = String(bid.lot);
  el.hidden = false;
  el.className = `outcome ${bid.state}`;
  setText(el, text);
}

// A bid the page itself did not send (the sale is paused, say): the same
// line, the same explicit "not accepted", with the node's code for it.
export function renderRefusal(text, code, lot) {
  const el = $("#bid-outcome");
  el.dataset.state = "rejected";
  el.dataset.code = code;
  el.dataset.lot = String(lot);
  el.hidden = false;
  el.className = "outcome rejected";
  // Said again even when the words are the same as last time.
  el.textContent = "";
  el.textContent = text;
}

// The refusals a bidder can do something about, in their words.
const WHY = {
  sale_paused: "the sale is paused; bids are taken again when it resumes",
  token_replaced: "your sign-in was replaced at the desk; sign in with the new code",
  unauthorized: "this phone is not signed in any more",
};

function timeOf(ms) {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

export { exponentOf };
