//! The venue assistant in the browser: the screen speaks the lot's
//! introduction (the call to speechSynthesis is observed) and shows it, as
//! does the bidder's page; an outbid bidder asks "Who's leading?" and gets
//! the leading paddle's style by number only; the sale turns that off.

use anyhow::{ensure, Context};
use paddle_tests::browser::{Device, Page};
use serde_json::json;

use crate::{approve, live_sale, quick_bid, register, setup_with, wait_data};

/// Record what the page asks speechSynthesis to say, instead of saying it.
const SPEECH_SPY: &str = "window.__spoken = []; \
    try { speechSynthesis.speak = (u) => window.__spoken.push(u.text); } catch (e) {}";

async fn wait_shown(page: &Page, css: &str, shown: bool) -> anyhow::Result<()> {
    let test = if shown {
        "e && !e.hidden"
    } else {
        "!e || e.hidden"
    };
    page.wait_js(
        &format!("{css} {}", if shown { "shown" } else { "hidden" }),
        &format!("const e = document.querySelector({css:?}); return !!({test}) || null;"),
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_speaks_the_introduction_and_an_outbid_bidder_sees_who_leads(
) -> anyhow::Result<()> {
    let env = setup_with(1, &["--assistant-enabled", "true"]).await?;
    let c = &env.cluster;
    let (sale, lots) = live_sale(
        c,
        "Assistant evening",
        &[("Walnut mantel clock", "10.00"), ("Brass lamp", "10.00")],
    )
    .await?;
    let base = c.url(0);

    let screen = Page::open(&env.driver, "assistant-screen", Device::Desktop, 0).await?;
    screen
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": SPEECH_SPY }),
        )
        .await?;
    screen.goto(&format!("{base}/screen?sale={sale}")).await?;
    wait_data(&screen, "#badge", "state", "live").await?;

    let bidder = Page::open(&env.driver, "assistant-bidder", Device::Phone, 0).await?;
    bidder
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": SPEECH_SPY }),
        )
        .await?;
    bidder.goto(&format!("{base}/#/sale/{sale}")).await?;
    wait_data(&bidder, "#badge", "state", "live").await?;
    let paddle = register(&bidder, "Rita").await?;
    approve(c, &bidder, sale, paddle).await?;

    // The clerk opens the lot: the leader introduces it through the log.
    c.post(&format!("{base}/api/v1/lots/{}/open", lots[0]), json!({}))
        .await?;
    let spoken = screen
        .wait_js(
            "the screen to speak the introduction",
            "return (window.__spoken || []).find((t) => t.includes('Walnut mantel clock')) || null;",
        )
        .await?;
    let spoken = spoken.as_str().context("spoken text")?.to_owned();
    let events = c.get(&format!("{base}/api/v1/sales/{sale}/events")).await?;
    let intro = events["events"]
        .as_array()
        .context("events")?
        .iter()
        .find(|e| e["event"]["type"] == "lot_introduced")
        .context("a lot_introduced event")?["event"]["text"]
        .as_str()
        .context("its text")?
        .to_owned();
    ensure!(
        spoken == intro,
        "the screen says the replicated words: {spoken:?} vs {intro:?}"
    );
    screen
        .wait_text("#intro", "the introduction shown on the screen", |t| {
            t == intro
        })
        .await?;
    bidder
        .wait_text(
            "#intro-text",
            "the introduction on the bidder's page",
            |t| t == intro,
        )
        .await?;

    // Rita bids, Otto (the desk's bidder) outbids her: she may ask who leads.
    let (outcome, _) = quick_bid(&bidder, 1).await?;
    ensure!(outcome == "accepted", "Rita's bid: {outcome}");
    let otto = c
        .post(
            &format!("{base}/api/v1/sales/{sale}/bidders"),
            json!({"name": "Otto Secretname", "approved": true}),
        )
        .await?;
    let (otto_paddle, otto_token) = (
        otto["paddle"].as_u64().context("Otto's paddle")?,
        otto["token"].as_str().context("Otto's token")?.to_owned(),
    );
    let r = c
        .http
        .post(format!("{base}/api/v1/lots/{}/bids", lots[0]))
        .bearer_auth(&otto_token)
        .json(&json!({"bid_id": "otto-1", "max": "40.00"}))
        .send()
        .await?;
    ensure!(r.status().is_success(), "Otto's bid: {}", r.text().await?);
    wait_shown(&bidder, "#rival", true).await?;
    bidder.click("#rival-ask").await?;
    let line = bidder
        .wait_text("#rival-text", "the rival profile", |t| {
            t.starts_with(&format!("Paddle {otto_paddle} "))
        })
        .await?;
    ensure!(
        !line.contains("Otto") && !line.contains("Secretname"),
        "no names: {line}"
    );
    bidder.shots("rival").await?;
    screen.shots("introduced").await?;

    // Staff turn rival profiles off: the question goes away.
    c.post(
        &format!("{base}/api/v1/sales/{sale}/rival-profiles"),
        json!({"on": false}),
    )
    .await?;
    wait_shown(&bidder, "#rival", false).await?;
    bidder.shots("rival-off").await?;
    for p in [&screen, &bidder] {
        p.assert_no_errors(&[]).await?;
    }
    screen.close().await;
    bidder.close().await;
    env.cluster.pass();
    Ok(())
}

/// The operator's lot editor: "Suggest" on a lot with a photo answers
/// from comparable lots sold here (no model server), with its note and
/// comparables; "Use these" only fills the form, and saving is the
/// ordinary edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_asks_for_a_suggestion_and_applies_it_as_an_edit() -> anyhow::Result<()> {
    let env = setup_with(1, &["--assistant-enabled", "true"]).await?;
    let c = &env.cluster;
    let base = c.url(0);
    let (sale, lots) = live_sale(
        c,
        "Suggest evening",
        &[
            ("Walnut mantel clock", "10.00"),
            ("Walnut mantel clock, French", "10.00"),
            ("Walnut mantel clock with key", "20.00"),
        ],
    )
    .await?;
    for (lot, price) in [(lots[0], "120.00"), (lots[1], "160.00")] {
        c.post(&format!("{base}/api/v1/lots/{lot}/open"), json!({}))
            .await?;
        c.post(
            &format!("{base}/api/v1/lots/{lot}/floor-bid"),
            json!({"bid_id": format!("f{lot}"), "amount": price}),
        )
        .await?;
        c.post(&format!("{base}/api/v1/lots/{lot}/sell"), json!({}))
            .await?;
    }
    let r = c
        .http
        .put(format!("{base}/api/v1/lots/{}/image", lots[2]))
        .bearer_auth(&c.operator_token)
        .header("content-type", "image/png")
        .body(paddle_tests::TINY_PNG.to_vec())
        .send()
        .await?;
    ensure!(r.status().is_success(), "photo upload: {}", r.text().await?);

    let op = Page::open(&env.driver, "assistant-operator", Device::Desktop, 0).await?;
    op.goto(&format!("{base}/operator")).await?;
    crate::consoles::sign_in(&op, &c.operator_token).await?;
    op.click(&format!("#sales-rows tr[data-sale='{sale}'] button"))
        .await?;
    op.click(&format!("#op-edit-{}", lots[2])).await?;
    op.wait_js(
        "the edit dialog open",
        "return document.querySelector('#op-edit-dialog').open || null;",
    )
    .await?;
    wait_shown(&op, "#op-suggest-box", true).await?;
    op.click("#op-edit-suggest").await?;
    let note = op
        .wait_text("#op-suggest-note", "the suggestion's note", |t| {
            t.contains("comparable")
        })
        .await?;
    ensure!(
        note.contains("no model server is configured"),
        "the note says why: {note}"
    );
    let estimate = op.text("#op-suggest-estimate").await?;
    ensure!(
        estimate.contains("128.00") && estimate.contains("152.00"),
        "estimate: {estimate}"
    );
    op.shots("suggestion").await?;
    // Nothing applied yet.
    let before = c.get(&format!("{base}/api/v1/lots/{}", lots[2])).await?;
    ensure!(
        before["lot"]["start"] == 2000,
        "unchanged until saved: {before}"
    );
    op.click("#op-suggest-use").await?;
    let fields = op
        .eval("return ['#op-edit-title', '#op-edit-start', '#op-edit-desc'].map(f => document.querySelector(f).value);")
        .await?;
    ensure!(
        fields[0] == "Walnut mantel clock with key" && fields[1] == "64.00",
        "filled: {fields}"
    );
    ensure!(
        fields[2]
            .as_str()
            .is_some_and(|d| d.contains("Estimate 128.00–152.00 EUR")),
        "filled: {fields}"
    );
    op.click("#op-edit-save").await?;
    wait_data(&op, "#op-msg", "state", "ok").await?;
    let after = c.get(&format!("{base}/api/v1/lots/{}", lots[2])).await?;
    ensure!(
        after["lot"]["start"] == 6400,
        "the edit saved the suggested start: {after}"
    );
    op.assert_no_errors(&[]).await?;
    op.close().await;
    env.cluster.pass();
    Ok(())
}
