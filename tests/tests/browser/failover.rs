//! The node a page is on dies; the page carries on from another node.
//!
//! Three nodes, not two: with two voters, killing one leaves no majority,
//! so nothing could happen while the page is away and "no event missing"
//! would prove little. With three, the other bidder keeps bidding while
//! the page reconnects, and the page must replay exactly those events.

use anyhow::{ensure, Context};
use paddle_tests::browser::{Device, Page};
use serde_json::Value as Json;

use crate::{approve, quick_bid, register, setup, timed_sale, wait_data};

/// (index, seq) of every event the page applied after its first snapshot,
/// and that snapshot's index.
async fn applied(page: &Page) -> anyhow::Result<(u64, Vec<(u64, u64)>)> {
    let log = page.eval("return window.__paddle.model.log;").await?;
    let log = log.as_array().context("no model log")?;
    let first = log
        .iter()
        .find_map(|e| e["snapshot"].as_u64())
        .context("the page never had a snapshot")?;
    let snapshots = log.iter().filter(|e| e.get("snapshot").is_some()).count();
    ensure!(
        snapshots == 1,
        "{}: the page had to start over ({snapshots} snapshots): {log:?}",
        page.name
    );
    let events = log
        .iter()
        .filter(|e| e.get("index").is_some() && e["type"] != "outbid")
        .map(|e| {
            (
                e["index"].as_u64().unwrap_or(0),
                e["seq"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    Ok((first, events))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_node_a_page_is_on_resumes_on_another() -> anyhow::Result<()> {
    let mut env = setup(3).await?;
    let (sale, lots) = timed_sale(
        &env.cluster,
        "Power cut",
        30 * 60_000,
        0,
        &[("Pair of candlesticks", "20.00")],
    )
    .await?;
    let c = &env.cluster;
    let doomed = c.url(2);
    let ada = Page::open(&env.driver, "failover-ada", Device::Phone, 0).await?;
    let bob = Page::open(&env.driver, "failover-bob", Device::Desktop, 0).await?;
    ada.goto(&format!("{doomed}/#/sale/{sale}")).await?;
    bob.goto(&format!("{}/#/sale/{sale}", c.url(0))).await?;
    for p in [&ada, &bob] {
        wait_data(p, "#badge", "state", "live").await?;
        p.wait_text("#lot-status", "the lot to open", |t| t == "Open for bids")
            .await?;
    }
    let pa = register(&ada, "Ada").await?;
    let pb = register(&bob, "Bob").await?;
    approve(c, &ada, sale, pa).await?;
    approve(c, &bob, sale, pb).await?;
    ensure!(quick_bid(&bob, 1).await?.0 == "accepted", "Bob's first bid");
    ensure!(quick_bid(&ada, 1).await?.0 == "accepted", "Ada's first bid");
    ada.wait_js(
        "Ada's page to know all three nodes",
        "return window.__paddle.link.nodes.length === 3 || null;",
    )
    .await?;
    let mark = ada
        .eval("return window.__paddle.link.history.length;")
        .await?
        .as_u64()
        .unwrap_or(0);
    ada.shots("before-kill").await?;

    env.cluster.kill9(2);
    let c = &env.cluster;
    ada.wait_js(
        "the badge to say Reconnecting",
        &format!("return window.__paddle.link.history.slice({mark}).some(s => s.kind === 'reconnecting') || null;"),
    )
    .await?;
    // While Ada's page is away, Bob outbids her (retrying while the
    // cluster elects a new leader, if the dead node led).
    let mut tries = 0;
    loop {
        tries += 1;
        let (outcome, _) = quick_bid(&bob, 1).await?;
        if outcome == "accepted" {
            break;
        }
        ensure!(
            tries < 30,
            "Bob's bid during the outage kept failing: {}",
            bob.text("#bid-outcome").await?
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let node = ada
        .wait_js(
            "Ada's page live again on another node",
            &format!("const s = window.__paddle.link.state; return s.kind === 'live' && s.node !== '{doomed}' ? s.node : null;"),
        )
        .await?;
    wait_data(&ada, "#my-state", "state", "outbid").await?;
    ada.shots("resumed").await?;
    ensure!(
        quick_bid(&ada, 1).await?.0 == "accepted",
        "Ada's bid on the new node {node}"
    );
    wait_data(&bob, "#my-state", "state", "outbid").await?;

    // Every event since Ada's snapshot, exactly once, in order. The last
    // events reach Ada's node's fan-out a moment after Bob's page shows
    // them: compare until her page has caught up (a gap, a repeat or a
    // wrong order never goes away, so it still fails).
    let started = std::time::Instant::now();
    loop {
        let (from, events) = applied(&ada).await?;
        let all = c
            .get(&format!(
                "{}/api/v1/sales/{sale}/events?since={from}&limit=1000",
                c.url(0)
            ))
            .await?;
        let want: Vec<(u64, u64)> = all["events"]
            .as_array()
            .context("no events")?
            .iter()
            .map(|e| {
                (
                    e["index"].as_u64().unwrap_or(0),
                    e["seq"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        if events == want {
            break;
        }
        let behind = want.starts_with(&events);
        ensure!(
            behind && started.elapsed() < std::time::Duration::from_secs(10),
            "Ada's page applied {events:?}; the cluster's events after {from} are {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let rows = ada.eval("return [...document.querySelectorAll('#history li')].map(li => Number(li.dataset.index));").await?;
    let bids = c
        .get(&format!("{}/api/v1/lots/{}/bids", c.url(0), lots[0]))
        .await?;
    let mut want: Vec<u64> = bids["bids"]
        .as_array()
        .context("bids")?
        .iter()
        .filter_map(|b| b["index"].as_u64())
        .collect();
    want.sort_unstable_by(|a, b| b.cmp(a));
    ensure!(
        rows == Json::from(want.clone()),
        "Ada's history rows {rows} vs the cluster's bids {want:?}"
    );

    ada.shots("after-failover-bid").await?;
    let killed = doomed.trim_start_matches("http://").to_string();
    ada.assert_no_errors(&[&killed]).await?;
    bob.assert_no_errors(&[]).await?;
    ada.close().await;
    bob.close().await;
    env.cluster.pass();
    Ok(())
}
