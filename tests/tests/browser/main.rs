//! The browser UI in real headless Chromium against real local clusters of
//! `paddle serve` processes (issue 6). Each test saves phone and desktop
//! screenshots under `target/screenshots/` and fails on any console error.
//!
//! - bidding: two bidders on different nodes see each other; a page whose
//!   clock is ten minutes off still counts down the server's time, and an
//!   extension shows on both pages.
//! - failover: the node a page is on is killed; the page resumes on another
//!   node with no event missing or doubled.
//! - consoles: the clerk sells from /clerk and everyone sees it; the
//!   operator creates a sale and imports lots from CSV; every page loads
//!   without console errors.
//! - room: the desk's sign-in card signs a phone in and it bids; a phone
//!   clerk's bid shows on the rostrum with its line; the operator's pause
//!   shows on a bidder's page; buy-now sells a lot; the operator edits a
//!   lot and keeps its reserve and seller.
//! - assistant: the screen speaks a lot's introduction (the speech call is
//!   observed) and the bidder page shows it; an outbid bidder asks who
//!   leads and gets a profile by paddle number; the sale turns that off.
//! - settle: the cashier takes a part payment then the rest, releases
//!   the goods, and the invoice prints (A4 and Letter PDFs kept); the
//!   bidder's page shows what they owe and opens their invoice.
//! - https: a node serving a certificate from `paddle cluster cert`; the
//!   bidder page over https in a Chromium trusting exactly that
//!   certificate, its WebSocket over wss, a live sale and an accepted bid.
//!
//! - analytics: the dashboard's staff and public views draw their SVG
//!   charts and tables and follow bids and a sale; a bidder sees their
//!   own bids, wins and spend.
//!
//! These tests need the public API (issue 5). Without it they fail (they
//! never skip), with the reply the page or the harness got.

mod analytics;
mod assistant;
mod bidding;
mod consoles;
mod failover;
mod https;
mod room;
mod settle;

use std::path::Path;

use anyhow::Context;
use paddle_tests::browser::{exclusive, Driver, Page, UiCluster};
use serde_json::{json, Value as Json};

pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_paddle"))
}

/// What every browser test starts from: its turn, a chromedriver and a
/// cluster of `nodes` nodes.
pub struct Env {
    pub driver: Driver,
    pub cluster: UiCluster,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

pub async fn setup(nodes: usize) -> anyhow::Result<Env> {
    setup_with(nodes, &[]).await
}

/// [`setup`] with extra `serve` flags for every node.
pub async fn setup_with(nodes: usize, args: &[&str]) -> anyhow::Result<Env> {
    let turn = exclusive().await;
    let driver = Driver::start().await?;
    let cluster = UiCluster::start_with(bin(), nodes, args).await?;
    Ok(Env {
        driver,
        cluster,
        _turn: turn,
    })
}

/// Server time from node `i` (never this machine's clock for a deadline).
pub async fn server_now(c: &UiCluster, i: usize) -> anyhow::Result<u64> {
    let t = c.get(&format!("{}/api/v1/time", c.url(i))).await?;
    t["server_time_ms"]
        .as_u64()
        .context("no server_time_ms in /api/v1/time")
}

/// Lots as (title, start) pairs, for the sale fixtures.
fn lots_body(lots: &[(&str, &str)]) -> Json {
    json!({ "lots": lots.iter().map(|(t, s)| json!({
        "title": t, "description": format!("{t}, as described in the catalogue"), "start": s,
        "reserve": null, "buy_now": null, "seller": null
    })).collect::<Vec<_>>() })
}

/// A sale with its lots; returns (sale id, lot ids).
async fn sale_with_lots(
    c: &UiCluster,
    sale: Json,
    lots: &[(&str, &str)],
) -> anyhow::Result<(u64, Vec<u64>)> {
    let url = c.url(0);
    let created = c.post(&format!("{url}/api/v1/sales"), sale).await?;
    let id = created["sale"].as_u64().context("no sale id")?;
    let added = c
        .post(&format!("{url}/api/v1/sales/{id}/lots"), lots_body(lots))
        .await?;
    let ids = added["lots"]
        .as_array()
        .context("no lot ids")?
        .iter()
        .filter_map(Json::as_u64)
        .collect();
    Ok((id, ids))
}

/// A live sale (the clerk opens and closes lots) in EUR.
pub async fn live_sale(
    c: &UiCluster,
    title: &str,
    lots: &[(&str, &str)],
) -> anyhow::Result<(u64, Vec<u64>)> {
    let sale = json!({ "title": title, "currency": "EUR", "mode": { "type": "live" },
                       "increments": [{ "from": "0", "increment": "1.00" }, { "from": "100", "increment": "5.00" }],
                       "premium_bp": 2000 });
    sale_with_lots(c, sale, lots).await
}

/// A timed sale open now, closing `closes_in_ms` from now (server time),
/// with a soft-close window (0 = none).
pub async fn timed_sale(
    c: &UiCluster,
    title: &str,
    closes_in_ms: u64,
    window_ms: u64,
    lots: &[(&str, &str)],
) -> anyhow::Result<(u64, Vec<u64>)> {
    let now = server_now(c, 0).await?;
    let mut sale = json!({ "title": title, "currency": "EUR",
                           "mode": { "type": "timed", "opens_at_ms": now, "closes_at_ms": now + closes_in_ms, "stagger_ms": 60_000 },
                           "increments": [{ "from": "0", "increment": "1.00" }, { "from": "100", "increment": "5.00" }],
                           "premium_bp": 2500 });
    if window_ms > 0 {
        sale["soft_close"] =
            json!({ "window_ms": window_ms, "rule": { "type": "reset_to_window" } });
    }
    sale_with_lots(c, sale, lots).await
}

/// Register on the arena's sale view as `name`; returns the paddle.
pub async fn register(page: &Page, name: &str) -> anyhow::Result<u64> {
    page.fill("#reg-name", name).await?;
    page.click("#register-form button").await?;
    let paddle = page
        .wait_js(
            &format!("{name}'s paddle number"),
            "const me = window.__paddle.me; return me && me.paddle != null ? me.paddle : null;",
        )
        .await?;
    paddle.as_u64().context("paddle is not a number")
}

/// The desk approves a bidder (operator token), and the page learns it.
pub async fn approve(c: &UiCluster, page: &Page, sale: u64, paddle: u64) -> anyhow::Result<()> {
    c.post(
        &format!("{}/api/v1/sales/{sale}/bidders/{paddle}/approve", c.url(0)),
        json!({ "approved": true }),
    )
    .await?;
    page.wait_text("#me", "approval to reach the page", |t| {
        t.contains("paddle") && !t.contains("waiting")
    })
    .await?;
    Ok(())
}

/// Tap a quick-bid button (1, 2 or 5 increments) and wait for its explicit
/// outcome; returns (outcome, amount in minor units).
pub async fn quick_bid(page: &Page, steps: u32) -> anyhow::Result<(String, u64)> {
    let css = format!("#quick button[data-steps='{steps}']");
    let amount: u64 = page
        .attr(&css, "data-minor")
        .await?
        .context("no amount on the button")?
        .parse()?;
    page.eval("document.querySelector('#bid-outcome').dataset.state = 'none';")
        .await?;
    page.click(&css).await?;
    let outcome = page
        .wait_js(
            "an explicit bid outcome",
            "const s = document.querySelector('#bid-outcome').dataset.state; return ['accepted', 'rejected'].includes(s) ? s : null;",
        )
        .await?;
    Ok((outcome.as_str().unwrap_or_default().to_string(), amount))
}

/// Wait for `css`'s `data-<key>` to equal `want` on a page.
pub async fn wait_data(page: &Page, css: &str, key: &str, want: &str) -> anyhow::Result<()> {
    page.wait_js(
        &format!("{css} data-{key} = {want}"),
        &format!("const e = document.querySelector({css:?}); return !!(e && e.dataset[{key:?}] === {want:?}) || null;"),
    )
    .await?;
    Ok(())
}

/// The lot as the cluster sees it (REST, from node `i`).
pub async fn lot_view(c: &UiCluster, i: usize, lot: u64) -> anyhow::Result<Json> {
    Ok(c.get(&format!("{}/api/v1/lots/{lot}", c.url(i))).await?["lot"].clone())
}
