//! The analytics dashboard: the staff view and the public view render
//! their SVG charts and tables and update after bids and a sale; the
//! bidder page shows the bidder's own bids, wins and spend.

use anyhow::{ensure, Context};
use paddle_tests::browser::{Device, Page};
use serde_json::json;

use crate::{approve, live_sale, quick_bid, register, setup};

/// Wait until the dashboard shows `bids` counted bids in its tiles and at
/// least one bar in its chart.
async fn wait_bids(page: &Page, bids: u64) -> anyhow::Result<()> {
    page.wait_js(
        &format!("the dashboard to count {bids} bids and draw them"),
        &format!(
            "const t = document.querySelector('#an-tiles'); \
             const bars = document.querySelectorAll('#an-bids-chart svg rect.bar').length; \
             return (t && t.dataset.bids === '{bids}' && bars > 0) || null;"
        ),
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_its_charts_and_tables_and_follows_the_sale() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let (sale, lots) =
        live_sale(c, "Gala", &[("Painting", "100.00"), ("Sculpture", "50.00")]).await?;
    let base = c.url(0);
    let floor_paddle = c
        .post(
            &format!("{base}/api/v1/sales/{sale}/bidders"),
            json!({ "name": "Grace Hopper", "approved": true }),
        )
        .await?["paddle"]
        .as_u64()
        .context("no paddle")?;
    c.post(&format!("{base}/api/v1/lots/{}/open", lots[0]), json!({}))
        .await?;

    let staff = Page::open(&env.driver, "analytics-staff", Device::Desktop, 0).await?;
    let public = Page::open(&env.driver, "analytics-public", Device::Phone, 0).await?;
    let bidder = Page::open(&env.driver, "analytics-bidder", Device::Phone, 0).await?;
    staff.goto(&format!("{base}/analytics?sale={sale}")).await?;
    staff.click("#staff-in").await?;
    staff.fill("#token", &c.operator_token).await?;
    staff.click("#login button").await?;
    crate::wait_data(&staff, "#an-view", "audience", "staff").await?;
    public
        .goto(&format!("{}/analytics?sale={sale}&view=public", c.url(1)))
        .await?;
    crate::wait_data(&public, "#an-view", "audience", "public").await?;
    // Before any bid: the chart says so in words and draws no bar.
    public
        .wait_text("#an-bids-cap", "the empty bids caption", |t| {
            t.contains("No bids yet")
        })
        .await?;

    // An internet bid from a phone, then two floor bids for Grace.
    bidder.goto(&format!("{}/#/sale/{sale}", c.url(1))).await?;
    let paddle = register(&bidder, "Ada").await?;
    approve(c, &bidder, sale, paddle).await?;
    let (outcome, _) = quick_bid(&bidder, 1).await?;
    ensure!(outcome == "accepted", "Ada's bid: {outcome}");
    for (i, amount) in ["150.00", "200.00"].iter().enumerate() {
        c.post(
            &format!("{base}/api/v1/lots/{}/floor-bid", lots[0]),
            json!({ "bid_id": format!("g{i}"), "paddle": floor_paddle, "amount": amount }),
        )
        .await?;
    }
    wait_bids(&staff, 3).await?;
    wait_bids(&public, 3).await?;

    // Hammer: the tiles, the lot row and the leaderboards follow.
    c.post(&format!("{base}/api/v1/lots/{}/sell", lots[0]), json!({}))
        .await?;
    for page in [&staff, &public] {
        page.wait_js(
            "the sold lot in the tiles",
            "const t = document.querySelector('#an-tiles [data-key=lots] .value'); return (t && t.textContent.startsWith('1 / 0')) || null;",
        )
        .await?;
    }
    let rows = staff
        .eval("return document.querySelectorAll('#an-lot-rows tr').length;")
        .await?;
    ensure!(rows == json!(2), "two lot rows, got {rows}");
    let first = staff.attr("#an-lot-rows tr", "data-bids").await?;
    ensure!(
        first.as_deref() == Some("3"),
        "the painting's bids: {first:?}"
    );
    // Charts: SVG with a text alternative; the watchers line is this node's.
    let svg = staff
        .eval(
            "const s = document.querySelector('#an-bids-chart svg'); \
             return s ? [s.getAttribute('role'), s.querySelector('title').textContent, s.querySelector('desc').textContent] : null;",
        )
        .await?;
    ensure!(
        svg[0] == "img",
        "the bids chart is an image to assistive tech: {svg}"
    );
    ensure!(
        svg[2].as_str().unwrap_or_default().contains("3 bids"),
        "the chart says what it shows: {svg}"
    );
    staff
        .wait_js(
            "the watchers chart",
            "return document.querySelector('#an-watch-chart svg') ? true : null;",
        )
        .await?;
    // Staff see names; the public see paddle numbers only.
    staff
        .wait_text("#an-spend-rows", "Grace on the spend board", |t| {
            t.contains("Grace Hopper")
        })
        .await?;
    let names = staff.text("#an-bidder-rows").await?;
    ensure!(
        names.contains("Ada") && names.contains("Grace Hopper"),
        "{names}"
    );
    let public_board = public.text("#an-spend-rows").await?;
    ensure!(
        public_board.contains(&format!("#{floor_paddle}")) && !public_board.contains("Grace"),
        "the public board: {public_board}"
    );
    let hidden = public
        .eval("return document.querySelector('#an-bidders').hidden;")
        .await?;
    ensure!(hidden == json!(true), "no bidder table for the public");

    // Ada's own history: one bid, outbid, no win.
    bidder
        .wait_js(
            "Ada's own history",
            "const m = document.querySelector('#mine'); return (m && !m.hidden && m.dataset.bids === '1' && m.dataset.wins === '0') || null;",
        )
        .await?;
    bidder
        .wait_text("#mine-lots", "the lost lot", |t| t.contains("LOST"))
        .await?;

    staff.shots("dashboard").await?;
    public.shots("public").await?;
    bidder.shots("my-history").await?;
    for p in [&staff, &public, &bidder] {
        p.assert_no_errors(&[]).await?;
    }
    staff.close().await;
    public.close().await;
    bidder.close().await;
    env.cluster.pass();
    Ok(())
}
