// The sale analytics dashboard (`/analytics`, `/analytics?sale=N`; add
// `&view=public` for the venue screen). Anyone sees the public subset
// (paddle numbers only); with a clerk or operator token (the consoles'
// own, or signed in here) it adds names and the per-bidder table.
//
// How it stays live: the page follows the sale on the WebSocket like the
// venue screen does. Every event marks the figures stale, and they are
// fetched again (`GET /api/v1/sales/{sale}/analytics` with the event's
// index as `min_index`) at most every 2 s; presence frames move the
// "watching now" tile at once; a fetch every 30 s picks up the node's new
// watcher samples when the sale is quiet. The figures are the server's,
// computed from the replicated log, so every node shows the same ones.

import { $, h, param, setText, show } from "./dom.js";
import { Link } from "./link.js";
import { Rest, store } from "./rest.js";
import { renderBadge } from "./badge.js";
import { renderAll } from "./analytics-view.js";

const publicOnly = param("view") === "public";
const app = { sale: null, index: 0, data: null, staff: false, watchers: null, timer: null, lastFetch: 0, fetching: false };
const link = new Link({ onMessage, onState: (s) => renderBadge($("#badge"), s) });
const token = () => (publicOnly || !app.staff ? null : store.get("staff.token"));
const rest = new Rest(() => link.base(), token);
window.__paddle = { link, app };

start();

async function start() {
  link.start();
  if (publicOnly) document.body.classList.add("public-screen");
  await checkStaff();
  wireSignIn();
  for (const b of document.querySelectorAll("button.csv")) b.addEventListener("click", () => download(b.dataset.table));
  $("#an-sale").addEventListener("change", () => open(Number($("#an-sale").value)));
  await loadSales();
  setInterval(() => refresh(), 30000);
}

// A stored staff token makes this the staff view (never with view=public).
async function checkStaff() {
  app.staff = false;
  const t = store.get("staff.token");
  if (t && !publicOnly) {
    try {
      const me = await new Rest(() => link.base(), () => t).get("/api/v1/me");
      app.staff = me.role === "clerk" || me.role === "operator";
      setText($("#who"), app.staff ? (me.role === "clerk" ? `Clerk ${me.label || ""}`.trim() : "Operator") : "");
    } catch {
      app.staff = false;
    }
  }
  const view = $("#an-view");
  view.dataset.audience = app.staff ? "staff" : "public";
  setText(view, app.staff ? "Staff view: names shown" : "Public view: paddle numbers only");
  show($("#staff-in"), !app.staff && !publicOnly);
  show($("#logout"), app.staff);
}

function wireSignIn() {
  const form = $("#login");
  $("#staff-in").addEventListener("click", () => show(form, true));
  $("#login-cancel").addEventListener("click", () => show(form, false));
  $("#logout").addEventListener("click", async () => {
    store.set("staff.token", null);
    await checkStaff();
    refresh(true);
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    store.set("staff.token", $("#token").value.trim());
    await checkStaff();
    if (!app.staff) {
      store.set("staff.token", null);
      setText($("#login-msg"), "That is not a clerk or operator token of this cluster.");
      return;
    }
    show(form, false);
    refresh(true);
  });
}

async function loadSales() {
  let sales;
  try {
    sales = (await rest.get("/api/v1/sales?limit=200")).sales;
  } catch (e) {
    say(false, `✕ Could not load the sales: ${e.message} (trying again)`);
    setTimeout(loadSales, 5000);
    return;
  }
  const select = $("#an-sale");
  select.replaceChildren(...sales.map((s) => h("option", { value: s.sale }, `#${s.sale} ${s.title} (${s.status})`)));
  const wanted = param("sale") !== null ? Number(param("sale")) : null;
  const chosen = sales.find((s) => s.sale === wanted) || sales.find((s) => s.status === "running") || sales[0];
  if (!chosen) {
    say(false, "There is no sale yet.");
    setTimeout(loadSales, 5000);
    return;
  }
  select.value = String(chosen.sale);
  open(chosen.sale);
}

function open(sale) {
  if (app.sale === sale) return;
  if (app.sale !== null) link.unfollow(app.sale);
  app.sale = sale;
  app.index = 0;
  app.data = null;
  app.watchers = null;
  link.follow(sale, () => app.index);
  refresh(true);
}

function onMessage(m) {
  if (app.sale === null) return;
  if (m.type === "snapshot" && m.sale.sale === app.sale) {
    app.index = Math.max(app.index, m.index);
    refresh();
  } else if ((m.type === "event" || m.type === "events") && m.sale === app.sale) {
    for (const e of m.type === "event" ? [m] : m.events) app.index = Math.max(app.index, e.index);
    refresh();
  } else if (m.type === "presence" && m.sale === app.sale) {
    app.watchers = m.watchers;
    if (app.data) renderAll(app, { staff: app.staff });
  }
}

// Fetch again now, or as soon as 2 s have passed since the last fetch.
function refresh(now = false) {
  if (app.sale === null) return;
  const wait = now ? 0 : Math.max(0, app.lastFetch + 2000 - Date.now());
  if (app.timer) return;
  app.timer = setTimeout(fetchNow, wait);
}

async function fetchNow() {
  app.timer = null;
  if (app.fetching) return refresh();
  app.fetching = true;
  app.lastFetch = Date.now();
  const sale = app.sale;
  try {
    const r = await rest.get(`/api/v1/sales/${sale}/analytics`, { minIndex: app.index });
    if (sale !== app.sale) return;
    app.data = r;
    app.index = Math.max(app.index, r.applied_index);
    renderAll(app, { staff: app.staff && r.audience === "staff" });
    say(true, "");
  } catch (e) {
    say(false, `✕ Could not load the figures: ${e.message}`);
  } finally {
    app.fetching = false;
  }
}

// A table as CSV, fetched with this page's token (a link could not send
// it) and saved under the server's name.
async function download(table) {
  if (app.sale === null) return;
  const headers = {};
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  try {
    const res = await fetch(`${link.base()}/api/v1/sales/${app.sale}/analytics.csv?table=${table}`, { headers, cache: "no-store" });
    if (!res.ok) throw new Error(`${res.status}`);
    const blob = await res.blob();
    const a = h("a", { href: URL.createObjectURL(blob), download: `sale-${app.sale}-${table}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (e) {
    say(false, `✕ Could not download the ${table} table: ${e.message}`);
  }
}

function say(ok, text) {
  const el = $("#an-msg");
  el.dataset.state = text ? (ok ? "ok" : "error") : "none";
  el.className = `outcome ${ok ? "accepted" : "rejected"}`;
  setText(el, text);
}
