// Drawing the analytics dashboard from one answer of
// `GET /api/v1/sales/{sale}/analytics`: the tiles, the two SVG charts with
// their tables, the lots, the leaderboards and (staff) the bidders. Built
// with dom.js's h(), never innerHTML: a lot title or a name cannot inject
// markup.

import { $, h, setText, show, formatDuration } from "./dom.js";
import { formatMoney } from "./money.js";
import { STATUS_TEXT } from "./sale.js";
import { barChart, lineChart, clockLabel } from "./charts.js";

// Basis points as a percentage with two decimals, by integer arithmetic.
export function percent(bp) {
  if (bp === null || bp === undefined) return "—";
  const sign = bp < 0 ? "-" : "";
  const a = Math.abs(bp);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")} %`;
}

const paddleText = (p) => (p === null || p === undefined ? "—" : p === 0 ? "room" : `#${p}`);

function tile(label, value, key) {
  return h("div", { class: "tile", dataset: { key } }, h("span", { class: "label" }, label), h("output", { class: "value" }, value));
}

function cell(text, num = false) {
  return h("td", { class: num ? "num" : null }, text);
}

export function renderAll(app, { staff }) {
  const r = app.data;
  const a = r.analytics;
  const sale = { currency: r.currency, currency_exponent: r.currency_exponent };
  const money = (m) => formatMoney(m, sale);
  const s = a.summary;
  document.body.dataset.index = String(r.applied_index);
  setText($("#an-index"), `as of log index ${r.applied_index}`);

  const watchingNow = app.watchers ?? (r.watchers.samples.length ? r.watchers.samples[r.watchers.samples.length - 1].watchers : null);
  $("#an-tiles").replaceChildren(
    tile("Hammer total", money(s.hammer_total), "hammer"),
    tile("Buyer's premium", money(s.premium_total), "premium"),
    tile("Total", money(s.total), "total"),
    tile("Sell-through", percent(s.sell_through_bp), "sell-through"),
    tile("Lots sold / passed / open", `${s.sold} / ${s.passed} / ${s.open}`, "lots"),
    tile("Lots to come", String(s.scheduled), "scheduled"),
    tile("Bids", String(s.bids), "bids"),
    tile("Active bidders", `${s.active_bidders} of ${s.registered}`, "bidders"),
    tile("Extensions (soft close)", String(s.extensions), "extensions"),
    tile("Watching now", watchingNow === null ? "—" : String(watchingNow), "watchers"),
  );
  $("#an-tiles").dataset.bids = String(s.bids);

  // Bids over time.
  const t = a.bids_over_time;
  const minutes = t.bucket_ms / 60000;
  const per = minutes === 1 ? "per minute" : `per ${minutes} minutes`;
  const bidPoints = t.buckets.map((b) => ({ t: b.start_ms, v: b.bids }));
  const peak = bidPoints.reduce((m, p) => (p.v > m.v ? p : m), { v: 0, t: 0 });
  const bidsDesc = bidPoints.length
    ? `${s.bids} bids from ${clockLabel(bidPoints[0].t)} to ${clockLabel(bidPoints[bidPoints.length - 1].t)}; busiest ${clockLabel(peak.t)} with ${peak.v}.`
    : "No bids yet.";
  $("#an-bids-chart").replaceChildren(barChart(bidPoints, { title: `Bids ${per}`, desc: bidsDesc }));
  setText($("#an-bids-cap"), `Bids ${per}. ${bidsDesc}`);
  $("#an-bids-rows").replaceChildren(...bidPoints.map((p) => h("tr", {}, cell(clockLabel(p.t)), cell(String(p.v), true))));

  // Watchers over time (this node's samples).
  const w = r.watchers;
  const wPoints = w.samples.map((x) => ({ t: x.at_ms, v: x.watchers }));
  const wDesc = wPoints.length
    ? `${wPoints.length} samples by node ${w.node}; now ${wPoints[wPoints.length - 1].v}, most ${Math.max(...wPoints.map((p) => p.v))}.`
    : `No samples yet on node ${w.node}.`;
  $("#an-watch-chart").replaceChildren(lineChart(wPoints, { title: "Watchers over time", desc: wDesc }));
  setText($("#an-watch-cap"), `Watchers, sampled by node ${w.node}. ${wDesc}`);
  $("#an-watch-rows").replaceChildren(...wPoints.map((p) => h("tr", {}, cell(clockLabel(p.t)), cell(String(p.v), true))));

  // Lots.
  $("#an-lot-rows").replaceChildren(
    ...a.lots.map((l) =>
      h(
        "tr",
        { dataset: { lot: l.lot, bids: l.bids } },
        cell(String(l.position + 1)),
        cell(l.title),
        cell(STATUS_TEXT[l.status] || l.status),
        cell(money(l.start), true),
        cell(l.hammer !== null ? money(l.hammer) : l.price !== null ? money(l.price) : "—", true),
        cell(l.rise_bp === null ? "—" : percent(l.rise_bp), true),
        cell(String(l.bids), true),
        cell(String(l.unique_bidders), true),
        cell(l.time_to_first_bid_ms === null ? "—" : formatDuration(l.time_to_first_bid_ms), true),
        cell(String(l.extensions), true),
        cell(paddleText(l.winner)),
        cell(paddleText(l.underbidder)),
      ),
    ),
  );

  // Leaderboards: a name beside the paddle for staff only.
  const who = (row) => (staff && row.name ? `${paddleText(row.paddle)} ${row.name}` : paddleText(row.paddle));
  const empty = (n) => h("tr", {}, h("td", { colspan: n, class: "muted" }, "Nobody yet"));
  $("#an-spend-rows").replaceChildren(
    ...(a.top_by_spend.length
      ? a.top_by_spend.map((x) => h("tr", {}, cell(String(x.rank), true), cell(who(x)), cell(money(x.spend), true), cell(String(x.wins), true), cell(String(x.bids), true)))
      : [empty(5)]),
  );
  $("#an-active-rows").replaceChildren(
    ...(a.top_by_bids.length
      ? a.top_by_bids.map((x) => h("tr", {}, cell(String(x.rank), true), cell(who(x)), cell(String(x.bids), true), cell(String(x.wins), true), cell(money(x.spend), true)))
      : [empty(5)]),
  );

  // Bidders (staff).
  show($("#an-bidders"), staff);
  $("#an-bidder-rows").replaceChildren(
    ...(staff
      ? a.bidders.map((b) =>
          h(
            "tr",
            { dataset: { paddle: b.paddle } },
            cell(paddleText(b.paddle)),
            cell(b.name ?? (b.paddle === 0 ? "the room (house paddle)" : "")),
            cell(String(b.bids), true),
            cell(String(b.lots_bid), true),
            cell(String(b.wins), true),
            cell(money(b.spend), true),
            cell(String(b.outbid), true),
          ),
        )
      : []),
  );
}
