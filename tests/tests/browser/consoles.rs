//! The clerk, the operator and the venue screen.

use anyhow::{ensure, Context};
use paddle_tests::browser::{Device, Page, UiCluster};
use serde_json::json;

use crate::{approve, live_sale, quick_bid, register, setup, wait_data};

/// Sign in on a staff page (/clerk, /operator, /desk, /phone) with a
/// staff token.
pub async fn sign_in(page: &Page, token: &str) -> anyhow::Result<()> {
    page.fill("#token", token).await?;
    page.click("#login button").await?;
    page.wait_js(
        "the console to open",
        "return !document.querySelector('#app').hidden || null;",
    )
    .await?;
    Ok(())
}

/// A new clerk token (the operator makes it).
pub async fn clerk_token(c: &UiCluster) -> anyhow::Result<String> {
    let r = c
        .post(
            &format!("{}/api/v1/clerks", c.url(0)),
            json!({ "label": "rostrum" }),
        )
        .await?;
    Ok(r["token"].as_str().context("no clerk token")?.to_string())
}

/// The clerk opens a lot, an internet bid arrives flagged, the clerk takes
/// a floor bid, warns and sells; the bidder's page and the venue screen
/// show SOLD with the hammer price; the operator's results list it and the
/// CSV export has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_sells_and_every_page_shows_it() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let (sale, lots) = live_sale(
        c,
        "Evening sale",
        &[
            ("Victorian writing desk", "100.00"),
            ("Pair of vases", "30.00"),
        ],
    )
    .await?;
    let clerk = Page::open(&env.driver, "sell-clerk", Device::Desktop, 0).await?;
    let bidder = Page::open(&env.driver, "sell-bidder", Device::Phone, 0).await?;
    let screen = Page::open(&env.driver, "sell-screen", Device::Desktop, 0).await?;
    let operator = Page::open(&env.driver, "sell-operator", Device::Desktop, 0).await?;
    clerk
        .goto(&format!("{}/clerk?sale={sale}", c.url(0)))
        .await?;
    sign_in(&clerk, &clerk_token(c).await?).await?;
    bidder.goto(&format!("{}/#/sale/{sale}", c.url(1))).await?;
    screen
        .goto(&format!("{}/screen?sale={sale}", c.url(1)))
        .await?;
    let paddle = register(&bidder, "Ada").await?;
    approve(c, &bidder, sale, paddle).await?;

    clerk.click("#btn-next").await?;
    clerk
        .wait_text("#cur-status", "the lot to open", |t| t == "Open for bids")
        .await?;
    bidder
        .wait_text("#lot-status", "the lot to open on the phone", |t| {
            t == "Open for bids"
        })
        .await?;
    let (outcome, amount) = quick_bid(&bidder, 1).await?;
    ensure!(outcome == "accepted", "the internet bid: {outcome}");
    wait_data(&clerk, "#feed li", "kind", "online").await?;
    clerk
        .wait_text("#feed li .kind", "the internet flag", |t| {
            t.contains("INTERNET")
        })
        .await?;
    clerk.shots("internet-bid").await?;

    // A bid from the room on the house paddle (a floor paddle must be
    // registered; the house paddle 0 always is), at the asking price.
    clerk.click("#btn-floor").await?;
    wait_data(&clerk, "#act-msg", "state", "ok").await?;
    wait_data(&clerk, "#feed li", "kind", "floor").await?;
    wait_data(&bidder, "#my-state", "state", "outbid").await?;
    let (outcome, _) = quick_bid(&bidder, 1).await?;
    ensure!(
        outcome == "accepted",
        "the bidder's answer to the floor: {outcome}"
    );
    ensure!(amount > 0, "amounts are minor units");

    clerk.click("#btn-warn").await?;
    bidder
        .wait_text("#lot-status", "fair warning on the phone", |t| {
            t == "Fair warning"
        })
        .await?;
    clerk.click("#btn-sell").await?;
    wait_data(&clerk, "#act-msg", "state", "ok").await?;
    let lot = c
        .get(&format!("{}/api/v1/lots/{}", c.url(0), lots[0]))
        .await?["lot"]
        .clone();
    let hammer = lot["result"]["hammer"]
        .as_u64()
        .context("no hammer in the lot's result")?;
    let winner = lot["result"]["winner"].as_u64().context("no winner")?;
    ensure!(winner == paddle, "the bidder won (winner {winner})");

    wait_data(&bidder, "#sold-banner", "hammer", &hammer.to_string()).await?;
    bidder
        .wait_text("#sold-banner", "SOLD on the phone", |t| {
            t.starts_with("SOLD")
        })
        .await?;
    wait_data(&bidder, "#my-state", "state", "won").await?;
    wait_data(&screen, "#sold", "hammer", &hammer.to_string()).await?;
    screen
        .wait_text("#sold", "SOLD on the screen", |t| t.starts_with("SOLD"))
        .await?;

    operator.goto(&format!("{}/operator", c.url(0))).await?;
    sign_in(&operator, &c.operator_token).await?;
    operator
        .click(&format!("#sales-rows tr[data-sale='{sale}'] button"))
        .await?;
    let row = format!("#result-rows tr[data-lot='{}']", lots[0]);
    wait_data(&operator, &row, "status", "sold").await?;
    wait_data(
        &operator,
        &format!("{row} td[data-minor]"),
        "minor",
        &hammer.to_string(),
    )
    .await?;
    let href = operator
        .attr("#csv-export", "href")
        .await?
        .context("no export link")?;
    let csv = c.get_text(&href).await?;
    let hammer_text = format!("{}.{:02}", hammer / 100, hammer % 100);
    ensure!(
        csv.lines().any(|l| l.starts_with(&format!("{},", lots[0]))
            && l.contains(",sold,")
            && l.contains(&hammer_text)),
        "the CSV export lists lot {} sold at {hammer_text}:\n{csv}",
        lots[0]
    );

    bidder.shots("sold").await?;
    screen.shots("sold").await?;
    clerk.shots("sold").await?;
    operator.shots("results").await?;
    for p in [&clerk, &bidder, &screen, &operator] {
        p.assert_no_errors(&[]).await?;
    }
    for p in [clerk, bidder, screen, operator] {
        p.close().await;
    }
    env.cluster.pass();
    Ok(())
}

/// The operator creates a sale from the form, adds a lot, and imports
/// more from a CSV (quoted commas included); the cluster has them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_creates_a_sale_and_imports_lots() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let op = Page::open(&env.driver, "operator", Device::Desktop, 0).await?;
    op.goto(&format!("{}/operator", c.url(1))).await?;
    sign_in(&op, &c.operator_token).await?;
    op.fill("#ns-title", "Spring collectors' sale").await?;
    // Timed, opening in 5 minutes: scheduled (and buy-now prices are for timed sales).
    op.eval("const m = document.querySelector('#ns-mode'); m.value = 'timed'; m.dispatchEvent(new Event('change'));")
        .await?;
    op.fill("#ns-opens", "5").await?;
    op.click("#new-sale button").await?;
    wait_data(&op, "#op-msg", "state", "ok").await?;
    op.wait_text("#sale-h", "the new sale selected", |t| {
        t.contains("Spring collectors")
    })
    .await?;
    let sale: u64 = op
        .eval("return window.__paddle.feed.model.id;")
        .await?
        .as_u64()
        .context("sale id")?;

    op.fill("#al-title", "Barometer").await?;
    op.fill("#al-start", "75").await?;
    op.click("#add-lot button").await?;
    wait_data(&op, "#op-msg", "state", "ok").await?;
    let csv = "title,description,start,reserve,buy_now,seller\n\
               Clock,\"Brass, 1890\",10.00,150.00,,\n\
               Vase,,5.00,,,\n\
               Lamp,Art deco,12.50,,40.00,\n";
    op.eval(&format!(
        "document.querySelector('#imp-text').value = {csv:?};"
    ))
    .await?;
    op.click("#import button").await?;
    wait_data(&op, "#op-msg", "state", "ok").await?;
    op.wait_js(
        "four lots in the table",
        "return document.querySelectorAll('#lot-rows tr').length === 4 || null;",
    )
    .await?;
    let lots = c
        .get(&format!("{}/api/v1/sales/{sale}/lots", c.url(0)))
        .await?;
    let titles: Vec<&str> = lots["lots"]
        .as_array()
        .context("lots")?
        .iter()
        .filter_map(|l| l["title"].as_str())
        .collect();
    ensure!(
        titles == ["Barometer", "Clock", "Vase", "Lamp"],
        "the cluster's lots: {titles:?}"
    );
    let clock = &lots["lots"][1];
    ensure!(
        clock["description"] == "Brass, 1890" && clock["start"] == 1000,
        "CSV fields kept: {clock}"
    );

    // A photo for the first lot, chosen in the operator's lot table; a
    // bidder's page on the other node shows it.
    let first = lots["lots"][0]["lot"].as_u64().context("lot id")?;
    let photo = std::env::temp_dir().join(format!("paddle-ui-photo-{}.png", std::process::id()));
    std::fs::write(&photo, paddle_tests::TINY_PNG)?;
    op.upload(&format!("input[data-photo='{first}']"), &photo)
        .await?;
    wait_data(&op, "#op-msg", "state", "ok").await?;
    op.wait_text(
        &format!("tr[data-lot='{first}'] td:last-child"),
        "the photo noted",
        |t| t.contains("has one"),
    )
    .await?;
    let _ = std::fs::remove_file(&photo);
    let bidder = Page::open(&env.driver, "operator-photo", Device::Phone, 0).await?;
    bidder.goto(&format!("{}/#/sale/{sale}", c.url(0))).await?;
    bidder
        .wait_js(
            "the lot's photo on the phone",
            "const i = document.querySelector('#lot-photo img'); return (i && i.complete && i.naturalWidth === 8) || null;",
        )
        .await?;
    bidder.shots("lot-photo").await?;
    bidder.assert_no_errors(&[]).await?;
    bidder.close().await;

    op.click("#btn-add-node").await?;
    let shown = op
        .wait_text("#join-cmd", "the join command", |t| t.contains("--join"))
        .await?;
    let want = c
        .get(&format!("{}/api/v1/cluster/join-token", c.url(1)))
        .await?;
    ensure!(
        shown == want["join_command"].as_str().unwrap_or_default(),
        "join command shown: {shown}"
    );
    op.wait_js(
        "two healthy nodes",
        "return document.querySelectorAll('#node-rows td.health-ok').length === 2 || null;",
    )
    .await?;
    op.shots("sale-and-cluster").await?;
    op.assert_no_errors(&[]).await?;
    op.close().await;
    env.cluster.pass();
    Ok(())
}

/// Every page opens on a phone and a desktop with no console error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_loads_without_console_errors() -> anyhow::Result<()> {
    let env = setup(2).await?;
    let c = &env.cluster;
    let (sale, _) = live_sale(c, "Open house", &[("Print", "10.00")]).await?;
    for (name, path) in [
        ("arena", "/".to_string()),
        ("arena-sale", format!("/#/sale/{sale}")),
        ("clerk", "/clerk".into()),
        ("operator", "/operator".into()),
        ("desk", "/desk".into()),
        ("phone", "/phone".into()),
        ("cashier", "/cashier".into()),
        ("screen", format!("/screen?sale={sale}")),
    ] {
        let page = Page::open(&env.driver, &format!("load-{name}"), Device::Phone, 0).await?;
        page.goto(&format!("{}{path}", c.url(1))).await?;
        if ["clerk", "operator", "desk", "phone", "cashier"].contains(&name) {
            // Staff consoles connect once signed in: the sign-in form is the page.
            page.wait_js(
                "the sign-in form",
                "return !document.querySelector('#login').hidden || null;",
            )
            .await?;
        } else {
            wait_data(&page, "#badge", "state", "live").await?;
        }
        if name == "arena" {
            // Money in the browser itself: integers and strings, never floats.
            let money = page
                .eval(
                    "return import('/js/money.js').then(m => [
                       m.toDecimal(1250, 2), m.formatAmount(123456789, 2), m.toDecimal(5, 3), m.toDecimal(1200, 0),
                       m.parseDecimal('0.6', 2), m.parseDecimal('12,50', 2), m.parseDecimal('1.234', 2),
                       m.parseDecimal('-1', 2), m.parseDecimal('1e5', 2), m.premiumOf(12500, 2500),
                       m.premiumOf(Number.MAX_SAFE_INTEGER, 2500), m.formatBp(1250)]);",
                )
                .await?;
            ensure!(
                money
                    == json!([
                        "12.50",
                        "1,234,567.89",
                        "0.005",
                        "1200",
                        60,
                        1250,
                        null,
                        null,
                        null,
                        3125,
                        2251799813685248u64,
                        "12.5 %"
                    ]),
                "money in the page: {money}"
            );
            page.wait_js(
                "the sales list",
                "return document.querySelectorAll('#sales-list li').length > 0 || null;",
            )
            .await?;
        }
        page.shots("loaded").await?;
        page.assert_no_errors(&[]).await?;
        page.close().await;
    }
    env.cluster.pass();
    Ok(())
}
