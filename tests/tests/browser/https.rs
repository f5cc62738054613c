//! HTTPS end to end (issue 17): a node serving a certificate from `paddle
//! cluster cert`, a bidder page loaded over https in Chromium, its
//! WebSocket over wss, a live sale and a bid.
//!
//! Chromium is told to trust exactly the served certificate, by the
//! SHA-256 of its public key (`--ignore-certificate-errors-spki-list`),
//! not to ignore certificate errors: a Chromium without that hash refuses
//! the page, so the pass proves it is this certificate the node serves.

use anyhow::{ensure, Context};
use base64::Engine;
use paddle_tests::browser::{Device, Page};
use sha2::{Digest, Sha256};

use crate::{approve, quick_bid, register, setup, timed_sale, wait_data};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bidder_page_runs_over_https_and_wss() -> anyhow::Result<()> {
    let mut env = setup(1).await?;
    let chain = env.cluster.serve_https().await?;
    let spki = leaf_spki_sha256(&chain)?;
    let c = &env.cluster;
    let url = c.url(0);
    ensure!(url.starts_with("https://"), "{url}");
    let (sale, _) = timed_sale(
        c,
        "Over TLS",
        30 * 60_000,
        0,
        &[("Brass carriage clock", "10.00")],
    )
    .await?;

    // Without the certificate's hash, Chromium refuses the page.
    let stranger = Page::open(&env.driver, "https-untrusted", Device::Phone, 0).await?;
    let refused = match stranger.goto(&format!("{url}/#/sale/{sale}")).await {
        Err(e) => format!("{e:#}"),
        Ok(()) => stranger
            .eval("return location.href;")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    eprintln!("without the hash: {refused}");
    let refused = refused.contains("ERR_CERT") || refused.starts_with("chrome-error://");
    ensure!(
        refused,
        "Chromium loaded the page without trusting the certificate"
    );
    stranger.close().await;

    let page = Page::open_with_args(
        &env.driver,
        "https-bidder",
        Device::Phone,
        0,
        &[format!("--ignore-certificate-errors-spki-list={spki}")],
    )
    .await?;
    page.goto(&format!("{url}/#/sale/{sale}")).await?;
    let origin = page.eval("return location.origin;").await?;
    ensure!(
        origin.as_str() == Some(url.as_str()),
        "page origin {origin}"
    );
    // The page's WebSocket is up (a ws:// one from an https page would be
    // blocked as mixed content) and the sale is live.
    wait_data(&page, "#badge", "state", "live").await?;
    page.wait_text("#lot-status", "the lot to open", |t| t == "Open for bids")
        .await?;
    let socket = page
        .eval("const ws = window.__paddle.link.ws; return ws ? ws.url : null;")
        .await?;
    let port = url.rsplit(':').next().unwrap_or_default();
    ensure!(
        socket.as_str() == Some(format!("wss://127.0.0.1:{port}/ws").as_str()),
        "the page's WebSocket: {socket}"
    );
    let paddle = register(&page, "Ada").await?;
    approve(c, &page, sale, paddle).await?;
    let (outcome, amount) = quick_bid(&page, 1).await?;
    ensure!(outcome == "accepted", "the bid over wss: {outcome}");
    wait_data(&page, "#price", "minor", &amount.to_string()).await?;
    wait_data(&page, "#my-state", "state", "winning").await?;
    page.shots("https").await?;
    page.assert_no_errors(&[]).await?;
    page.close().await;
    env.cluster.pass();
    Ok(())
}

/// Base64 SHA-256 of the leaf's SubjectPublicKeyInfo: the form Chromium's
/// `--ignore-certificate-errors-spki-list` takes.
fn leaf_spki_sha256(chain_pem: &str) -> anyhow::Result<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem.as_bytes())?;
    let cert = pem.parse_x509().context("the leaf certificate")?;
    let spki = cert.tbs_certificate.subject_pki.raw;
    Ok(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki)))
}
