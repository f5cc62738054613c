//! Settlement in the browser (issue 13): the cashier takes a part payment
//! then the rest and the invoice shows `paid`; the goods are released; the
//! printable invoice renders for print (screenshot and A4 and Letter PDFs
//! kept under target/screenshots/); the consignor's statement prints; the
//! bidder's page shows their total. The operator sets the terms, adds a
//! consignor and names them on a lot from /operator, and sees the summary.

use anyhow::{ensure, Context};
use base64::Engine;
use paddle_tests::browser::{screenshot_dir, Device, Page};
use serde_json::json;

use crate::consoles::{clerk_token, sign_in};
use crate::{approve, live_sale, register, setup, wait_data};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cashier_takes_the_money_and_the_invoice_prints() -> anyhow::Result<()> {
    let env = setup(1).await?;
    let c = &env.cluster;
    let url = c.url(0);
    // Premium 20 % (the fixture's), tax 10 % of the premium.
    let (sale, lots) =
        live_sale(c, "Settlement sale", &[("Brass carriage clock", "100.00")]).await?;
    c.post(
        &format!("{url}/api/v1/sales/{sale}/settlement"),
        json!({"tax_bp": 1000, "tax_on": "premium", "commission_bp": 1500,
               "house_name": "Quay Auctions", "house_address": "1 Quay Street\nPort Town"}),
    )
    .await?;
    let ann = c
        .post(
            &format!("{url}/api/v1/consignors"),
            json!({"name": "Ann Smith", "contact": "ann@example.org"}),
        )
        .await?["consignor"]["id"]
        .as_u64()
        .context("no consignor id")?;
    c.post(
        &format!("{url}/api/v1/sales/{sale}/lot-consignors"),
        json!({"lots": [{"lot": lots[0], "consignor": ann}]}),
    )
    .await?;
    let bidder = Page::open(&env.driver, "settle-bidder", Device::Phone, 0).await?;
    bidder.goto(&format!("{url}/#/sale/{sale}")).await?;
    let paddle = register(&bidder, "Ada").await?;
    approve(c, &bidder, sale, paddle).await?;

    // Sold to Ada at 120.00: 120.00 + 24.00 + 2.40 = 146.40.
    let lot = lots[0];
    c.post(&format!("{url}/api/v1/lots/{lot}/open"), json!({}))
        .await?;
    c.post(
        &format!("{url}/api/v1/lots/{lot}/floor-bid"),
        json!({"bid_id": "room-1", "paddle": paddle, "amount": "120.00"}),
    )
    .await?;
    c.post(&format!("{url}/api/v1/lots/{lot}/sell"), json!({}))
        .await?;
    bidder
        .wait_text("#my-invoice-total", "the bidder's total", |t| {
            t == "€146.40"
        })
        .await?;
    bidder
        .wait_text("#my-invoice-balance", "what the bidder owes", |t| {
            t == "€146.40"
        })
        .await?;
    bidder.shots("what-i-owe").await?;

    let cashier = Page::open(&env.driver, "settle-cashier", Device::Desktop, 0).await?;
    cashier
        .goto(&format!("{url}/cashier?sale={sale}&paddle={paddle}"))
        .await?;
    sign_in(&cashier, &clerk_token(c).await?).await?;
    cashier
        .wait_text("#inv-total", "the invoice", |t| t == "€146.40")
        .await?;
    // A part payment, then the rest.
    cashier.fill("#pay-amount", "100.00").await?;
    cashier.click("#pay-go").await?;
    cashier
        .wait_text("#inv-status", "part paid", |t| t == "Part paid")
        .await?;
    wait_data(&cashier, "#pay-outcome", "state", "ok").await?;
    cashier
        .wait_text("#inv-balance", "the balance", |t| t == "€46.40")
        .await?;
    cashier.fill("#pay-amount", "46.40").await?;
    cashier.click("#pay-go").await?;
    cashier
        .wait_text("#inv-status", "paid", |t| t == "Paid")
        .await?;
    cashier.click("#inv-lines button[data-lot]").await?;
    cashier
        .wait_text("#inv-lines", "the goods released", |t| {
            t.contains("Collected")
        })
        .await?;
    cashier.shots("paid-and-collected").await?;
    let inv = c
        .get(&format!("{url}/api/v1/sales/{sale}/invoices/{paddle}"))
        .await?;
    ensure!(inv["invoice"]["status"] == "paid", "the invoice: {inv}");
    ensure!(
        inv["invoice"]["payments"].as_array().map(Vec::len) == Some(2),
        "{inv}"
    );

    // The printable invoice, in the same browser (the staff token is in it).
    cashier
        .goto(&format!("{url}/invoice?sale={sale}&paddle={paddle}"))
        .await?;
    cashier
        .wait_js(
            "the invoice page",
            "return document.body.dataset.ready === 'true' || null;",
        )
        .await?;
    ensure!(
        cashier.text("#doc-status").await? == "Paid",
        "the printed status"
    );
    ensure!(
        cashier.text("#house-name").await? == "Quay Auctions",
        "the house header"
    );
    ensure!(
        cashier.text("#totals").await?.contains("€146.40"),
        "the printed total"
    );
    cashier
        .cdp("Emulation.setEmulatedMedia", json!({"media": "print"}))
        .await?;
    cashier.shot("invoice-print").await?;
    // "Save as PDF" on both paper sizes (inches), kept with the screenshots.
    for (paper, w, h) in [("a4", 8.27, 11.69), ("letter", 8.5, 11.0)] {
        let pdf = cashier
            .cdp(
                "Page.printToPDF",
                json!({"paperWidth": w, "paperHeight": h, "printBackground": true}),
            )
            .await?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(pdf["data"].as_str().context("no PDF data")?)?;
        ensure!(bytes.starts_with(b"%PDF"), "a PDF on {paper}");
        std::fs::write(
            screenshot_dir().join(format!("settle-invoice-{paper}.pdf")),
            bytes,
        )?;
    }
    // The consignor's statement: 120.00 less 15 % commission.
    cashier
        .cdp("Emulation.setEmulatedMedia", json!({"media": "screen"}))
        .await?;
    cashier
        .goto(&format!("{url}/statement?sale={sale}&consignor={ann}"))
        .await?;
    cashier
        .wait_js(
            "the statement page",
            "return document.body.dataset.ready === 'true' || null;",
        )
        .await?;
    let totals = cashier.text("#totals").await?;
    ensure!(
        totals.contains("€18.00") && totals.contains("€102.00"),
        "the statement: {totals}"
    );
    cashier.shot("statement").await?;
    // The bidder's own link opens their invoice with their own token.
    bidder.click("#my-invoice-link").await?;
    bidder
        .wait_js(
            "the bidder's invoice page",
            "return document.body.dataset.ready === 'true' || null;",
        )
        .await?;
    ensure!(
        bidder.text("#doc-status").await? == "Paid",
        "the bidder sees paid"
    );
    bidder.shot("my-invoice").await?;
    bidder.assert_no_errors(&[]).await?;
    cashier.assert_no_errors(&[]).await?;
    env.cluster.pass();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sets_terms_and_consignors_and_sees_the_summary() -> anyhow::Result<()> {
    let env = setup(1).await?;
    let c = &env.cluster;
    let url = c.url(0);
    // Sold at 80.00 (premium 20 %: 16.00) to a buyer the desk registered.
    let (sale, lots) = live_sale(c, "Consigned sale", &[("Barometer", "50.00")]).await?;
    let lot = lots[0];
    let paddle = c
        .post(
            &format!("{url}/api/v1/sales/{sale}/bidders"),
            json!({"name": "Bo", "approved": true}),
        )
        .await?["paddle"]
        .as_u64()
        .context("no paddle")?;
    c.post(&format!("{url}/api/v1/lots/{lot}/open"), json!({}))
        .await?;
    c.post(
        &format!("{url}/api/v1/lots/{lot}/floor-bid"),
        json!({"bid_id": "room-1", "paddle": paddle, "amount": "80.00"}),
    )
    .await?;
    c.post(&format!("{url}/api/v1/lots/{lot}/sell"), json!({}))
        .await?;

    let op = Page::open(&env.driver, "settle-operator", Device::Desktop, 0).await?;
    op.goto(&format!("{url}/operator")).await?;
    sign_in(&op, &c.operator_token).await?;
    op.click(&format!("#sales-rows tr[data-sale='{sale}'] button"))
        .await?;
    // Terms: tax 10 % of the premium, commission 15 %.
    op.wait_js(
        "the terms loaded",
        "return document.querySelector('#st-terms-now').textContent !== '' || null;",
    )
    .await?;
    op.fill("#st-tax", "10").await?;
    op.eval("document.querySelector('#st-basis').value = 'premium';")
        .await?;
    op.fill("#st-commission", "15").await?;
    op.fill("#st-house-name", "Quay Auctions").await?;
    op.click("#st-terms-save").await?;
    wait_data(&op, "#st-msg", "state", "ok").await?;
    // A consignor, then named on the lot.
    op.fill("#st-cons-name", "Bea Jones").await?;
    op.fill("#st-cons-contact", "bea@example.org").await?;
    op.click("#st-cons-save").await?;
    op.wait_text("#st-cons-rows", "the new consignor", |t| {
        t.contains("Bea Jones")
    })
    .await?;
    let bea = c.get(&format!("{url}/api/v1/consignors")).await?["consignors"][0]["id"]
        .as_u64()
        .context("no consignor")?;
    op.eval(&format!(
        "const s = document.querySelector('#st-lot-{lot}'); s.value = '{bea}'; s.dispatchEvent(new Event('change'));"
    ))
    .await?;
    // The summary: hammer 80.00, premium 16.00, tax 1.60, commission 12.00.
    op.wait_text("#st-summary", "the summary with the commission", |t| {
        t.contains("€80.00") && t.contains("€16.00") && t.contains("€1.60") && t.contains("€12.00")
    })
    .await?;
    ensure!(
        op.attr(
            &format!("#st-cons-rows a[href='/statement?sale={sale}&consignor={bea}']"),
            "href"
        )
        .await?
        .is_some(),
        "a link to the consignor's statement"
    );
    let st = c
        .get(&format!("{url}/api/v1/sales/{sale}/settlement"))
        .await?;
    ensure!(
        st["terms"]["tax_bp"] == 1000
            && st["terms"]["tax_on"] == "premium"
            && st["terms"]["house_name"] == "Quay Auctions",
        "the terms: {st}"
    );
    op.shots("settlement").await?;
    op.assert_no_errors(&[]).await?;
    env.cluster.pass();
    Ok(())
}
