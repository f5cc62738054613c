//! Rescheduling a timed sale over the REST API: the operator moves it
//! before it starts, watchers hear about it, the timer follows the new
//! times, and once a lot has opened the sale stays put.

mod api_support;

use std::time::Duration;

use api_support::{Cluster, Ws};
use serde_json::json;

/// This machine's wall clock (ms): the test's cluster has no skewed node,
/// so it is cluster time too.
fn now_ms() -> u64 {
    paddle_tests::wall_ms() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_sale_is_rescheduled_until_it_starts() {
    let c = Cluster::start(1, &[]).await;
    let base = c.url(0);
    let op = Some(c.operator.as_str());
    let hour = 3_600_000;
    let opens = now_ms() + hour;
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales"),
            op,
            json!({"title": "Timed", "currency": "EUR",
                   "mode": {"type": "timed", "opens_at_ms": opens, "closes_at_ms": opens + hour, "stagger_ms": 60_000}}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let sale = v["sale"].as_u64().unwrap();
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales/{sale}/lots"),
            op,
            json!({"lots": [{"title": "A", "start": "1.00"}, {"title": "B", "start": "1.00"}]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales/{sale}/bidders"),
            op,
            json!({"name": "Ada", "approved": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let bidder = v["token"].as_str().unwrap().to_string();
    let mut watcher = Ws::hello(&c.ws_url(0), None, None).await;
    watcher.subscribe(sale, None).await;
    let url = format!("{base}/api/v1/sales/{sale}/schedule");

    // Refusals change nothing.
    let (s, v) = c
        .post(
            &url,
            Some(&bidder),
            json!({"opens_at_ms": 1, "closes_at_ms": 2}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    let (s, v) = c
        .post(&url, op, json!({"opens_at_ms": 5, "closes_at_ms": 5}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_input")),
        "{v}"
    );
    let (s, v) = c
        .post(&url, op, json!({"opens_at_ms": 5, "closes_at": 6}))
        .await;
    assert_eq!(s, 400, "unknown field: {v}");

    // Open now, close in a minute; the stagger is kept.
    let new_open = now_ms();
    let new_close = new_open + 60_000;
    let (s, v) = c
        .post(
            &url,
            op,
            json!({"opens_at_ms": new_open, "closes_at_ms": new_close}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let index = v["index"].as_u64().unwrap();
    let ev = watcher
        .until_event("the new schedule", |e| {
            e["event"]["type"] == "sale_scheduled"
        })
        .await;
    assert_eq!(ev["index"].as_u64(), Some(index));
    assert_eq!(ev["event"]["stagger_ms"], 60_000);
    let (_, lots) = c
        .get(&format!("{base}/api/v1/sales/{sale}/lots"), None)
        .await;
    let ends: Vec<u64> = lots["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["effective_end_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(ends, [new_close, new_close + 60_000]);

    // The leader's timer opens the lots at the new time; then the sale
    // stays put.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, lots) = c
            .get(&format!("{base}/api/v1/sales/{sale}/lots"), None)
            .await;
        if lots["lots"][0]["status"] == "open" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never opened: {lots}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (s, v) = c
        .post(
            &url,
            op,
            json!({"opens_at_ms": new_open + hour, "closes_at_ms": new_close + hour}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("wrong_status")),
        "{v}"
    );
    c.pass();
}
