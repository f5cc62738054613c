//! Two bidders on two nodes; a page whose clock is ten minutes wrong.

use anyhow::{ensure, Context};
use paddle_tests::browser::{Device, Page, UiCluster};

use crate::{approve, lot_view, quick_bid, register, server_now, setup, timed_sale, wait_data};

/// Each bidder, on a different node, sees the other's bid, the outbid
/// state and the new minimum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bidders_on_different_nodes_see_each_other() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let (sale, lots) = timed_sale(
        c,
        "Two rooms",
        30 * 60_000,
        0,
        &[("Brass carriage clock", "10.00"), ("Oak stool", "5.00")],
    )
    .await?;
    let lot = lots[0];
    let ada = Page::open(&env.driver, "two-bidders-ada", Device::Phone, 0).await?;
    let bob = Page::open(&env.driver, "two-bidders-bob", Device::Desktop, 0).await?;
    ada.goto(&format!("{}/#/sale/{sale}", c.url(0))).await?;
    bob.goto(&format!("{}/#/sale/{sale}", c.url(1))).await?;
    for p in [&ada, &bob] {
        wait_data(p, "#badge", "state", "live").await?;
        p.wait_text("#lot-status", "the lot to open", |t| t == "Open for bids")
            .await?;
    }
    ensure!(
        ada.attr("#badge", "data-node").await? != bob.attr("#badge", "data-node").await?,
        "the two pages should be on different nodes"
    );
    let pa = register(&ada, "Ada").await?;
    let pb = register(&bob, "Bob").await?;
    approve(c, &ada, sale, pa).await?;
    approve(c, &bob, sale, pb).await?;

    let (outcome, first) = quick_bid(&ada, 1).await?;
    ensure!(outcome == "accepted", "Ada's first bid: {outcome}");
    wait_data(&ada, "#my-state", "state", "winning").await?;
    wait_data(&bob, "#price", "minor", &first.to_string()).await?;
    bob.wait_text("#leader", "Ada leading on Bob's page", |t| {
        t.contains(&format!("paddle {pa}"))
    })
    .await?;
    wait_data(&bob, "#history li", "paddle", &pa.to_string()).await?;
    let min = lot_view(c, 1, lot).await?["minimum_next"]
        .as_u64()
        .context("minimum_next")?;
    wait_data(&bob, "#min-next", "minor", &min.to_string()).await?;
    ada.shots("winning").await?;

    let (outcome, second) = quick_bid(&bob, 2).await?;
    ensure!(outcome == "accepted", "Bob's bid: {outcome}");
    ensure!(
        second > first,
        "Bob's +2 bid {second} is above Ada's {first}"
    );
    wait_data(&bob, "#my-state", "state", "winning").await?;
    wait_data(&ada, "#my-state", "state", "outbid").await?;
    let lot_now = lot_view(c, 0, lot).await?;
    let (price, min) = (
        lot_now["price"].as_u64().context("price")?,
        lot_now["minimum_next"].as_u64().context("min")?,
    );
    wait_data(&ada, "#price", "minor", &price.to_string()).await?;
    wait_data(&ada, "#min-next", "minor", &min.to_string()).await?;
    wait_data(
        &ada,
        "#quick button[data-steps='1']",
        "minor",
        &min.to_string(),
    )
    .await?;
    wait_data(&ada, "#history li", "paddle", &pb.to_string()).await?;
    for p in [&ada, &bob] {
        let rows = p.eval("return [...document.querySelectorAll('#history li')].map(li => li.dataset.paddle);").await?;
        ensure!(
            rows == serde_json::json!([pb.to_string(), pa.to_string()]),
            "{}: history by paddle {rows}",
            p.name
        );
    }
    ada.shots("outbid").await?;
    bob.shots("winning").await?;

    // Bob sees his own maximum, also after the page is loaded afresh (from
    // `GET /api/v1/me`, which only he can read).
    let mine = |t: &str| t.contains("You are winning — your maximum");
    bob.wait_text("#my-state", "Bob's own maximum", mine)
        .await?;
    bob.goto("about:blank").await?;
    bob.goto(&format!("{}/#/sale/{sale}", c.url(1))).await?;
    bob.wait_text("#my-state", "Bob's own maximum after a reload", mine)
        .await?;
    let ada_text = ada.text("#my-state").await?;
    ensure!(
        !ada_text.contains("maximum"),
        "Ada sees no maximum: {ada_text}"
    );
    for p in [&ada, &bob] {
        p.assert_no_errors(&[]).await?;
    }
    ada.close().await;
    bob.close().await;
    env.cluster.pass();
    Ok(())
}

/// The remaining time a page shows (data-remaining-ms of the ring) is the
/// server's, within a second: bracketed by two readings of the server
/// clock around the page's own reading.
async fn remaining_matches_server(
    c: &UiCluster,
    page: &Page,
    node: usize,
    lot: u64,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    loop {
        let end = lot_view(c, node, lot).await?["effective_end_ms"]
            .as_u64()
            .context("effective_end_ms")?;
        let t0 = server_now(c, node).await?;
        let shown = page
            .attr("#countdown", "data-remaining-ms")
            .await?
            .unwrap_or_default();
        let t1 = server_now(c, node).await?;
        if let Ok(shown) = shown.parse::<i64>() {
            let (lo, hi) = (end as i64 - t1 as i64 - 1000, end as i64 - t0 as i64 + 1000);
            if (lo..=hi).contains(&shown) {
                return Ok(());
            }
            if started.elapsed() > paddle_tests::browser::DEADLINE {
                page.shots("countdown-wrong").await?;
                anyhow::bail!(
                    "{}: shows {shown} ms left; the server says {lo}..{hi}",
                    page.name
                );
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Pages whose clocks are ten minutes fast and ten minutes slow both show
/// the server's remaining time, and both show the extension a late bid
/// causes (the ring is red: the whole lot is inside its soft-close window).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skewed_page_clock_still_counts_down_server_time() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let ten_minutes = 10 * 60_000;
    // Any bid extends: the window (3 min) is longer than the time to close (2 min).
    let (sale, lots) = timed_sale(
        c,
        "Closing soon",
        120_000,
        180_000,
        &[("Silver teapot", "40.00")],
    )
    .await?;
    let lot = lots[0];
    let fast = Page::open(&env.driver, "skew-fast", Device::Phone, ten_minutes).await?;
    let slow = Page::open(&env.driver, "skew-slow", Device::Desktop, -ten_minutes).await?;
    fast.goto(&format!("{}/#/sale/{sale}", c.url(0))).await?;
    slow.goto(&format!("{}/#/sale/{sale}", c.url(1))).await?;
    let skew = fast.eval("return window.__skew;").await?;
    ensure!(
        skew == serde_json::json!(ten_minutes),
        "the fast page's clock is skewed ({skew})"
    );
    for (p, node) in [(&fast, 0), (&slow, 1)] {
        p.wait_text("#lot-status", "the lot to open", |t| t == "Open for bids")
            .await?;
        remaining_matches_server(c, p, node, lot).await?;
        p.wait_js(
            "the ring to be red inside the soft-close window",
            "return document.querySelector('#countdown').classList.contains('closing') || null;",
        )
        .await?;
    }
    fast.shots("before-extension").await?;

    let before = lot_view(c, 0, lot).await?["effective_end_ms"]
        .as_u64()
        .context("end")?;
    let paddle = register(&fast, "Fay").await?;
    approve(c, &fast, sale, paddle).await?;
    let (outcome, _) = quick_bid(&fast, 1).await?;
    ensure!(outcome == "accepted", "the late bid: {outcome}");
    let after = lot_view(c, 0, lot).await?["effective_end_ms"]
        .as_u64()
        .context("end")?;
    ensure!(
        after > before,
        "a bid inside the window extends the lot ({before} -> {after})"
    );
    for (p, node) in [(&fast, 0), (&slow, 1)] {
        wait_data(p, "#extensions", "count", "1").await?;
        p.wait_text("#extensions li", "the extension chip", |t| {
            t.contains("extended")
        })
        .await?;
        remaining_matches_server(c, p, node, lot).await?;
    }
    fast.shots("extended").await?;
    slow.shots("extended").await?;
    for p in [&fast, &slow] {
        p.assert_no_errors(&[]).await?;
    }
    fast.close().await;
    slow.close().await;
    env.cluster.pass();
    Ok(())
}
