//! The sale room: the registration desk and its sign-in card, the phone
//! clerk, the operator's pause, and buy-now.

use anyhow::{ensure, Context};
use paddle_tests::browser::{Device, Page, UiCluster};
use serde_json::{json, Value as Json};

use crate::consoles::{clerk_token, sign_in};
use crate::{
    approve, live_sale, lot_view, quick_bid, register, server_now, setup, timed_sale, wait_data,
};

/// Wait until `css` is on the page and shown (`shown`) or not (`!shown`).
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

/// The desk's list of the sale's bidders (staff), one row by paddle.
async fn desk_row(c: &UiCluster, sale: u64, paddle: u64) -> anyhow::Result<Json> {
    let r = c
        .get(&format!("{}/api/v1/sales/{sale}/desk?q={paddle}", c.url(0)))
        .await?;
    r["bidders"]
        .as_array()
        .context("no bidders in the desk list")?
        .iter()
        .find(|b| b["paddle"] == paddle)
        .cloned()
        .with_context(|| format!("paddle {paddle} not in the desk list: {r}"))
}

/// The desk registers a bidder with a chosen paddle and shows the card (QR
/// and code, once); the bidder's own phone opens the card's address, is
/// signed in as that paddle and bids. The same code does not sign in a
/// second phone, and the desk says plainly when a paddle is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_card_signs_a_phone_in_and_it_bids() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let (sale, lots) = timed_sale(
        c,
        "Desk evening",
        30 * 60_000,
        0,
        &[("Walnut bureau", "20.00")],
    )
    .await?;
    let lot = lots[0];
    let desk = Page::open(&env.driver, "room-desk", Device::Desktop, 0).await?;
    desk.goto(&format!("{}/desk?sale={sale}", c.url(0))).await?;
    sign_in(&desk, &clerk_token(c).await?).await?;
    wait_data(&desk, "#badge", "state", "live").await?;
    desk.fill("#desk-name", "Clara Oswald").await?;
    desk.fill("#desk-paddle", "42").await?;
    desk.fill("#desk-phone", "0611 223344").await?;
    desk.click("#desk-register").await?;
    wait_data(&desk, "#desk-reg-msg", "state", "ok").await?;
    wait_data(&desk, "#desk-card", "paddle", "42").await?;
    wait_shown(&desk, "#desk-card", true).await?;
    desk.wait_js(
        "the QR code on the card",
        "const s = document.querySelector('#desk-qr svg'); return !!(s && s.getBoundingClientRect().width > 0) || null;",
    )
    .await?;
    let code = desk.text("#desk-code").await?;
    let ok_code = code.len() == 11
        && code.chars().enumerate().all(|(i, ch)| {
            if i == 5 {
                ch == '-'
            } else {
                ch.is_ascii_digit() || ch.is_ascii_uppercase()
            }
        });
    ensure!(ok_code, "the card's code looks like K7QMT-4ZPXC: {code:?}");
    let url = desk.text("#desk-url").await?;
    ensure!(
        url.starts_with(&format!("{}/?", c.url(0)))
            && url.contains(&format!("sale={sale}"))
            && url.contains("code="),
        "the card's address is this node's bidder page with the code: {url}"
    );
    let row = desk_row(c, sale, 42).await?;
    ensure!(
        row["name"] == "Clara Oswald" && row["approved"] == true && row["sign_in_pending"] == true,
        "the desk registered paddle 42, approved, code not used yet: {row}"
    );
    desk.shots("card").await?;

    // The bidder's phone opens the address on the card (what the QR holds).
    let phone = Page::open(&env.driver, "room-desk-bidder", Device::Phone, 0).await?;
    phone.goto(&url).await?;
    phone
        .wait_text("#signin-status", "signed in as paddle 42", |t| {
            t.contains("Signed in as paddle 42")
        })
        .await?;
    wait_shown(&phone, "#signin-status", true).await?;
    let search = phone.eval("return location.search;").await?;
    ensure!(
        !search.as_str().unwrap_or_default().contains("code"),
        "the code left the address bar: {search}"
    );
    wait_data(&phone, "#badge", "state", "live").await?;
    phone
        .wait_text("#lot-status", "the lot to open", |t| t == "Open for bids")
        .await?;
    phone
        .wait_text("#me", "the page to know its paddle", |t| {
            t.contains("paddle 42")
        })
        .await?;
    let (outcome, amount) = quick_bid(&phone, 1).await?;
    ensure!(
        outcome == "accepted",
        "the desk bidder's bid: {outcome} ({})",
        phone.text("#bid-outcome").await?
    );
    wait_data(&phone, "#my-state", "state", "winning").await?;
    let l = lot_view(c, 1, lot).await?;
    ensure!(
        l["leader"] == 42 && l["price"] == amount,
        "the cluster has paddle 42 leading at {amount}: {l}"
    );
    let bids = c
        .get(&format!("{}/api/v1/lots/{lot}/bids", c.url(0)))
        .await?;
    ensure!(
        bids["bids"].as_array().map(Vec::len) == Some(1) && bids["bids"][0]["paddle"] == 42,
        "one bid, paddle 42's: {bids}"
    );
    let row = desk_row(c, sale, 42).await?;
    ensure!(row["sign_in_pending"] == false, "the code is used: {row}");
    phone.shots("signed-in-and-bid").await?;

    // The code worked once: the same card on another phone is refused.
    let other = Page::open(&env.driver, "room-desk-reuse", Device::Phone, 0).await?;
    other.goto(&url).await?;
    wait_data(&other, "#signin-msg", "code", "unknown_sign_in").await?;
    wait_shown(&other, "#signin-status", false).await?;
    let me = other.eval("return window.__paddle.me;").await?;
    ensure!(me.is_null(), "the second phone is nobody: {me}");
    other.shots("code-used").await?;

    // A paddle already in use: the desk says so, in words.
    desk.click("#desk-done").await?;
    wait_shown(&desk, "#desk-card", false).await?;
    ensure!(
        desk.text("#desk-code").await?.is_empty(),
        "Done clears the code"
    );
    desk.fill("#desk-name", "Someone Else").await?;
    desk.fill("#desk-paddle", "42").await?;
    desk.click("#desk-register").await?;
    wait_data(&desk, "#desk-reg-msg", "state", "error").await?;
    let msg = desk.text("#desk-reg-msg").await?;
    ensure!(
        msg.to_lowercase().contains("paddle 42 is already taken"),
        "the desk's answer to a taken paddle: {msg}"
    );
    wait_shown(&desk, "#desk-card", false).await?;
    desk.shots("paddle-taken").await?;

    // The taken paddle's 409 is logged by the browser as a failed load.
    desk.assert_no_errors(&[
        "desk - Failed to load resource: the server responded with a status of 409",
    ])
    .await?;
    phone.assert_no_errors(&[]).await?;
    // The refused code is a 404 the browser logs as a failed request.
    other
        .assert_no_errors(&["sign-in - Failed to load resource"])
        .await?;
    for p in [desk, phone, other] {
        p.close().await;
    }
    env.cluster.pass();
    Ok(())
}

/// A phone clerk bids the asking price for a registered paddle on the
/// open live lot; the clerk console marks it as a phone bid with its line,
/// from the live events and again after a reload (from the bid list).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_clerk_bids_and_the_rostrum_sees_the_line() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let (sale, lots) = live_sale(
        c,
        "Phone evening",
        &[("Marine chronometer", "100.00"), ("Ship's bell", "30.00")],
    )
    .await?;
    let lot = lots[0];
    c.post(
        &format!("{}/api/v1/sales/{sale}/desk", c.url(0)),
        json!({ "name": "Dora on the phone", "paddle": 7 }),
    )
    .await?;
    c.post(&format!("{}/api/v1/lots/{lot}/open", c.url(0)), json!({}))
        .await?;
    let token = clerk_token(c).await?;

    let clerk = Page::open(&env.driver, "room-rostrum", Device::Desktop, 0).await?;
    clerk
        .goto(&format!("{}/clerk?sale={sale}", c.url(0)))
        .await?;
    sign_in(&clerk, &token).await?;
    clerk
        .wait_text("#cur-status", "the lot open on the rostrum", |t| {
            t == "Open for bids"
        })
        .await?;

    let phone = Page::open(&env.driver, "room-phone", Device::Phone, 0).await?;
    phone
        .goto(&format!("{}/phone?sale={sale}", c.url(1)))
        .await?;
    sign_in(&phone, &token).await?;
    phone.fill("#phone-paddle", "7").await?;
    phone.fill("#phone-line", "2").await?;
    phone
        .wait_text("#phone-title", "the open lot on the phone page", |t| {
            t == "Marine chronometer"
        })
        .await?;
    let asking = lot_view(c, 1, lot).await?["minimum_next"]
        .as_u64()
        .context("minimum_next")?;
    wait_data(&phone, "#phone-bid", "minor", &asking.to_string()).await?;
    phone.shots("before-bid").await?;
    phone.click("#phone-bid").await?;
    wait_data(&phone, "#phone-outcome", "state", "ok").await?;
    let said = phone.text("#phone-outcome").await?;
    ensure!(
        said.contains("paddle 7 leads"),
        "the phone clerk is told: {said}"
    );
    wait_data(&phone, "#phone-leading", "leading", "yes").await?;

    let l = lot_view(c, 0, lot).await?;
    ensure!(
        l["leader"] == 7 && l["price"] == asking,
        "the cluster has paddle 7 leading at the asking price {asking}: {l}"
    );
    let bids = c
        .get(&format!("{}/api/v1/lots/{lot}/bids", c.url(0)))
        .await?;
    let row = &bids["bids"][0];
    ensure!(
        bids["bids"].as_array().map(Vec::len) == Some(1)
            && row["paddle"] == 7
            && row["kind"] == "phone"
            && row["line"] == 2,
        "the staff bid list has the phone bid on line 2: {bids}"
    );

    // The rostrum, live: a PHONE badge with its line.
    let badge = "#feed li[data-from='phone']";
    wait_data(&clerk, badge, "paddle", "7").await?;
    wait_data(&clerk, badge, "line", "2").await?;
    clerk
        .wait_text(
            &format!("{badge} .kind"),
            "the phone badge with its line",
            |t| t.contains("PHONE line 2"),
        )
        .await?;
    clerk.shots("phone-bid").await?;
    // And after a reload (the same origin: the token stays in this
    // browser), from the staff bid list.
    clerk.goto("about:blank").await?;
    clerk
        .goto(&format!("{}/clerk?sale={sale}", c.url(0)))
        .await?;
    wait_shown(&clerk, "#app", true).await?;
    wait_data(&clerk, badge, "line", "2").await?;
    clerk
        .wait_text(
            &format!("{badge} .kind"),
            "the phone badge after a reload",
            |t| t.contains("PHONE line 2"),
        )
        .await?;
    phone.shots("after-bid").await?;
    for p in [&clerk, &phone] {
        p.assert_no_errors(&[]).await?;
    }
    clerk.close().await;
    phone.close().await;
    env.cluster.pass();
    Ok(())
}

/// The operator pauses a sale with a reason: a bidder's page on another
/// node shows the reason and sends no bid; after resume the banner goes
/// and bids are taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_pause_shows_on_the_bidder_page() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let (sale, lots) = timed_sale(
        c,
        "Pause evening",
        30 * 60_000,
        0,
        &[("Bronze figure", "50.00")],
    )
    .await?;
    let bidder = Page::open(&env.driver, "room-pause-bidder", Device::Phone, 0).await?;
    bidder.goto(&format!("{}/#/sale/{sale}", c.url(1))).await?;
    wait_data(&bidder, "#badge", "state", "live").await?;
    bidder
        .wait_text("#lot-status", "the lot to open", |t| t == "Open for bids")
        .await?;
    let paddle = register(&bidder, "Pia").await?;
    approve(c, &bidder, sale, paddle).await?;
    wait_shown(&bidder, "#paused-banner", false).await?;

    let op = Page::open(&env.driver, "room-pause-operator", Device::Desktop, 0).await?;
    op.goto(&format!("{}/operator", c.url(0))).await?;
    sign_in(&op, &c.operator_token).await?;
    op.click(&format!("#sales-rows tr[data-sale='{sale}'] button"))
        .await?;
    wait_data(&op, "#op-pause-state", "state", "running").await?;
    let reason = "Fire alarm in hall B";
    op.fill("#op-pause-reason", reason).await?;
    op.click("#op-pause").await?;
    wait_data(&op, "#op-pause-state", "state", "paused").await?;
    op.wait_text("#op-pause-state", "the reason on the console", |t| {
        t.contains(reason)
    })
    .await?;
    let view = c.get(&format!("{}/api/v1/sales/{sale}", c.url(0))).await?;
    ensure!(
        view["sale"]["paused"]["reason"] == reason,
        "the cluster has the sale paused with the reason: {view}"
    );

    wait_shown(&bidder, "#paused-banner", true).await?;
    bidder
        .wait_text("#paused-text", "the reason on the bidder's page", |t| {
            t == format!("Paused: {reason}")
        })
        .await?;
    let (outcome, _) = quick_bid(&bidder, 1).await?;
    ensure!(outcome == "rejected", "a bid while paused: {outcome}");
    wait_data(&bidder, "#bid-outcome", "code", "sale_paused").await?;
    let bids = c
        .get(&format!("{}/api/v1/lots/{}/bids", c.url(0), lots[0]))
        .await?;
    ensure!(
        bids["bids"].as_array().is_some_and(Vec::is_empty),
        "no bid was taken while paused: {bids}"
    );
    bidder.shots("paused").await?;
    op.shots("paused").await?;

    op.click("#op-resume").await?;
    wait_data(&op, "#op-pause-state", "state", "running").await?;
    wait_shown(&bidder, "#paused-banner", false).await?;
    let (outcome, amount) = quick_bid(&bidder, 1).await?;
    ensure!(outcome == "accepted", "a bid after resume: {outcome}");
    let l = lot_view(c, 0, lots[0]).await?;
    ensure!(
        l["leader"] == paddle && l["price"] == amount,
        "the bid after resume counts: {l}"
    );
    bidder.shots("resumed").await?;
    for p in [&bidder, &op] {
        p.assert_no_errors(&[]).await?;
    }
    bidder.close().await;
    op.close().await;
    env.cluster.pass();
    Ok(())
}

/// Buy-now ends a timed lot at once: two taps on the bidder's page, SOLD
/// on every page, and the cluster has it sold at the buy-now price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buy_now_sells_the_lot() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let now = server_now(c, 0).await?;
    let created = c
        .post(
            &format!("{}/api/v1/sales", c.url(0)),
            json!({ "title": "Buy-now evening", "currency": "EUR",
                    "mode": { "type": "timed", "opens_at_ms": now, "closes_at_ms": now + 30 * 60_000, "stagger_ms": 60_000 },
                    "increments": [{ "from": "0", "increment": "1.00" }, { "from": "100", "increment": "5.00" }],
                    "premium_bp": 2500 }),
        )
        .await?;
    let sale = created["sale"].as_u64().context("no sale id")?;
    let added = c
        .post(
            &format!("{}/api/v1/sales/{sale}/lots", c.url(0)),
            json!({ "lots": [{ "title": "Tiffany lamp", "description": "Leaded glass shade", "start": "10.00",
                               "reserve": null, "buy_now": "60.00", "seller": null }] }),
        )
        .await?;
    let lot = added["lots"][0].as_u64().context("no lot id")?;

    let buyer = Page::open(&env.driver, "room-buynow-buyer", Device::Phone, 0).await?;
    let watcher = Page::open(&env.driver, "room-buynow-watcher", Device::Desktop, 0).await?;
    buyer.goto(&format!("{}/#/sale/{sale}", c.url(1))).await?;
    watcher.goto(&format!("{}/#/sale/{sale}", c.url(0))).await?;
    for p in [&buyer, &watcher] {
        wait_data(p, "#badge", "state", "live").await?;
        p.wait_text("#lot-status", "the lot to open", |t| t == "Open for bids")
            .await?;
    }
    let paddle = register(&buyer, "Bea").await?;
    approve(c, &buyer, sale, paddle).await?;
    wait_data(&buyer, "#buy-now", "minor", "6000").await?;
    buyer.click("#buy-now").await?;
    wait_shown(&buyer, "#buy-now-ask", true).await?;
    wait_data(&buyer, "#buy-now-confirm", "minor", "6000").await?;
    buyer.shots("buy-now-confirm").await?;
    buyer.click("#buy-now-confirm").await?;
    wait_data(&buyer, "#buy-now-outcome", "state", "accepted").await?;

    for p in [&buyer, &watcher] {
        wait_data(p, "#sold-banner", "hammer", "6000").await?;
        wait_data(p, "#sold-banner", "buyNow", "true").await?;
        p.wait_text("#sold-banner", "SOLD on the page", |t| {
            t.starts_with("SOLD")
        })
        .await?;
        wait_shown(p, "#buy-now", false).await?;
    }
    wait_data(&buyer, "#my-state", "state", "won").await?;
    let l = lot_view(c, 0, lot).await?;
    ensure!(
        l["status"] == "sold"
            && l["result"]["hammer"] == 6000
            && l["result"]["winner"] == paddle
            && l["result"]["buy_now"] == true,
        "the cluster has the lot sold to paddle {paddle} at the buy-now price: {l}"
    );
    buyer.shots("bought").await?;
    watcher.shots("sold").await?;
    for p in [&buyer, &watcher] {
        p.assert_no_errors(&[]).await?;
    }
    buyer.close().await;
    watcher.close().await;
    env.cluster.pass();
    Ok(())
}

/// The operator edits a lot before it opens: the form comes filled in with
/// the reserve and the seller (which the public view hides), so changing
/// only the title keeps them. The console links to the desk and the phone
/// page of the selected sale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_edits_a_lot_and_keeps_its_hidden_terms() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let (sale, _) = live_sale(c, "Edit evening", &[("Print", "10.00")]).await?;
    c.post(
        &format!("{}/api/v1/sales/{sale}/desk", c.url(0)),
        json!({ "name": "The consignor", "paddle": 5 }),
    )
    .await?;
    let added = c
        .post(
            &format!("{}/api/v1/sales/{sale}/lots", c.url(0)),
            json!({ "lots": [{ "title": "Regency card table", "description": "Rosewood", "start": "100.00",
                               "reserve": "150.00", "buy_now": null, "seller": 5 }] }),
        )
        .await?;
    let lot = added["lots"][0].as_u64().context("no lot id")?;

    let op = Page::open(&env.driver, "room-edit-operator", Device::Desktop, 0).await?;
    op.goto(&format!("{}/operator", c.url(1))).await?;
    sign_in(&op, &c.operator_token).await?;
    op.click(&format!("#sales-rows tr[data-sale='{sale}'] button"))
        .await?;
    for (link, page) in [("#link-desk", "desk"), ("#link-phone", "phone")] {
        let href = op.attr(link, "href").await?.unwrap_or_default();
        ensure!(
            href == format!("/{page}?sale={sale}"),
            "the console links to the {page} page of sale {sale}: {href}"
        );
    }
    op.click(&format!("#op-edit-{lot}")).await?;
    op.wait_js(
        "the edit dialog open",
        "return document.querySelector('#op-edit-dialog').open || null;",
    )
    .await?;
    let fields = op
        .eval("return ['#op-edit-title', '#op-edit-start', '#op-edit-reserve', '#op-edit-seller'].map(f => document.querySelector(f).value);")
        .await?;
    ensure!(
        fields == json!(["Regency card table", "100.00", "150.00", "5"]),
        "the form starts from the lot's terms: {fields}"
    );
    op.shots("edit-filled").await?;
    op.fill("#op-edit-title", "Regency card table, restored")
        .await?;
    op.click("#op-edit-save").await?;
    wait_data(&op, "#op-msg", "state", "ok").await?;
    let got = c.get(&format!("{}/api/v1/lots/{lot}", c.url(0))).await?;
    ensure!(
        got["lot"]["title"] == "Regency card table, restored"
            && got["terms"]["reserve"] == 15000
            && got["terms"]["seller"] == 5,
        "the edit kept the reserve and the seller: {got}"
    );

    // The phone page link opens on the selected sale, signed in already.
    op.click("#link-phone").await?;
    wait_shown(&op, "#app", true).await?;
    wait_data(&op, "#badge", "state", "live").await?;
    op.wait_js(
        "the phone page on the selected sale",
        &format!("const s = document.querySelector('#phone-sale'); return (s && s.value === '{sale}') || null;"),
    )
    .await?;
    op.shots("phone-from-operator").await?;
    op.assert_no_errors(&[]).await?;
    op.close().await;
    env.cluster.pass();
    Ok(())
}
