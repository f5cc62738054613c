//! The public API of one real node: the bad-input catalogue over REST and
//! WebSocket (each refusal has its code and changes nothing), bids with
//! their explicit outcomes, live events, resume with `since`, and the
//! OpenAPI document.

mod api_support;

use std::collections::BTreeSet;

use api_support::{events_in, key, Cluster, Ws};
use reqwest::Method;
use serde_json::{json, Value};

/// Small limits so the catalogue can reach them quickly.
const LIMITS: &[&str] = &[
    "--limits-bids-per-second-per-connection",
    "3",
    "--limits-bids-per-second-per-bidder",
    "3",
    "--limits-max-subscriptions-per-connection",
    "2",
    "--limits-ws-max-message-bytes",
    "1024",
    "--limits-http-body-bytes",
    "4096",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_bad_input_is_refused_with_its_code_and_changes_nothing() {
    let c = Cluster::start(1, LIMITS).await;
    let (sale, lots, tokens) = c.live_sale(2, 2).await;
    let base = c.url(0);
    let bidder = tokens[0].as_str();
    let lot = lots[0];
    let bids = format!("{base}/api/v1/lots/{lot}/bids");
    let before = c.state_hash(0).await;

    // Malformed JSON, with the right content type.
    let r = c
        .http
        .post(&bids)
        .bearer_auth(bidder)
        .header("content-type", "application/json")
        .body("{\"bid_id\": \"x1\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_json", "{v}");

    // Amounts: float, negative, overflow, too many decimals, garbage.
    for (i, max) in [
        json!(12.5),
        json!("-5.00"),
        json!("99999999999999999999"),
        json!("12.505"),
        json!("twelve"),
        json!("1e3"),
    ]
    .into_iter()
    .enumerate()
    {
        // Stay under the bidder's rate (3/s): this part is about amounts.
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let (s, v) = c
            .post(
                &bids,
                Some(bidder),
                json!({"bid_id": format!("amt-{i}"), "max": max}),
            )
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some("invalid_amount")),
            "{max}: {v}"
        );
        assert_eq!(v["bid_result"]["outcome"], "rejected", "{v}");
        assert!(v["bid_result"]["index"].is_null(), "{v}");
    }

    // Bad bid id, unknown lot, unknown sale.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let (s, v) = c
        .post(
            &bids,
            Some(bidder),
            json!({"bid_id": "has space", "max": "20"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_bid_id")),
        "{v}"
    );
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/lots/9999/bids"),
            Some(bidder),
            json!({"bid_id": "u1", "max": "20"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("unknown_lot")),
        "{v}"
    );
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales/9999/lots"),
            Some(&c.operator),
            json!({"lots": [{"title": "X", "start": "1"}]}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("unknown_sale")),
        "{v}"
    );
    let (s, v) = c.get(&format!("{base}/api/v1/sales/9999"), None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("unknown_sale")),
        "{v}"
    );

    // Tokens: bidder on a clerk action, missing, forged.
    let sell = format!("{base}/api/v1/lots/{lot}/sell");
    let (s, v) = c.post(&sell, Some(bidder), json!({})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    let (s, v) = c.post(&sell, None, json!({})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
    let (s, v) = c
        .post(
            &sell,
            Some("pdc_forged_token_0000000000000000000000000"),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
    let (s, v) = c
        .post(&bids, None, json!({"bid_id": "n1", "max": "20"}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales"),
            Some(bidder),
            json!({"title": "x", "currency": "EUR", "mode": {"type": "live"}}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales/{sale}/bidders"),
            None,
            json!({"name": "Eve", "approved": true}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );

    // Body size, content type, consistency, unknown route, wrong method.
    let big = json!({"bid_id": "big", "max": "1", "pad": "x".repeat(8192)});
    let (s, v) = c.post(&bids, Some(bidder), big).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (413, Some("body_too_large")),
        "{v}"
    );
    let r = c
        .http
        .post(&bids)
        .bearer_auth(bidder)
        .body("bid")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let (s, v) = c
        .get(&format!("{base}/api/v1/sales?consistency=sometimes"), None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("bad_consistency")),
        "{v}"
    );
    let (s, v) = c.get(&format!("{base}/api/v1/nothing-here"), None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    let (s, v) = c
        .call(Method::DELETE, &format!("{base}/api/v1/sales"), None, None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (405, Some("method_not_allowed")),
        "{v}"
    );

    assert_eq!(
        c.state_hash(0).await,
        before,
        "refused requests changed the state"
    );

    // A bid flood of one bid id: the first is placed, and every retry
    // returns its outcome, never `rate_limited` (a retry places nothing).
    let first = c
        .post(
            &bids,
            Some(bidder),
            json!({"bid_id": "flood", "max": "20.00"}),
        )
        .await;
    assert_eq!(first.0, 200, "{}", first.1);
    let after_one = c.state_hash(0).await;
    for _ in 0..20 {
        let (s, v) = c
            .post(
                &bids,
                Some(bidder),
                json!({"bid_id": "flood", "max": "20.00"}),
            )
            .await;
        assert_eq!(s, 200, "a retry is answered, not limited: {v}");
        assert_eq!(
            v["index"], first.1["index"],
            "a retry returns the first outcome"
        );
    }
    assert_eq!(
        c.state_hash(0).await,
        after_one,
        "the retries changed the state"
    );
    // A flood of new bid ids hits the bidder's rate (those let through are
    // refused by the rules: the max is not above the bidder's own).
    let mut limited = 0;
    for i in 0..20 {
        let (s, v) = c
            .post(
                &bids,
                Some(bidder),
                json!({"bid_id": format!("flood-{i}"), "max": "20.00"}),
            )
            .await;
        match s {
            409 => assert_eq!(v["error"]["code"], "not_above_own_max", "{v}"),
            429 => {
                assert_eq!(v["error"]["code"], "rate_limited", "{v}");
                limited += 1;
            }
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert!(limited > 0, "the flood never hit the rate limit");
    let (_, h) = c.get(&format!("{base}/api/v1/lots/{lot}/bids"), None).await;
    assert_eq!(h["bids"].as_array().unwrap().len(), 1, "{h}");
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_bad_input_is_refused_with_its_code_and_changes_nothing() {
    let c = Cluster::start(1, LIMITS).await;
    let (sale, lots, tokens) = c.live_sale(1, 1).await;
    let (sale2, _, _) = c.live_sale(1, 0).await;
    let (sale3, _, _) = c.live_sale(1, 0).await;
    let ws_url = c.ws_url(0);
    let lot = lots[0];
    let before = c.state_hash(0).await;

    // Before hello; malformed; unknown type.
    let mut ws = Ws::connect(&ws_url).await;
    ws.send(json!({"type": "subscribe", "sale": sale})).await;
    assert_eq!(ws.expect("error").await["code"], "hello_required");
    ws.send_text("{oops".into()).await;
    assert_eq!(ws.expect("error").await["code"], "bad_json");
    ws.send(json!({"type": "hello"})).await;
    let welcome = ws.expect("welcome").await;
    assert_eq!(welcome["role"], "anonymous", "{welcome}");
    ws.send(json!({"type": "bidd", "lot": lot})).await;
    assert_eq!(ws.expect("error").await["code"], "unknown_type");
    ws.send(json!({"type": "subscribe", "sale": "one"})).await;
    assert_eq!(ws.expect("error").await["code"], "bad_message");
    ws.send(json!({"type": "subscribe", "sale": 9999})).await;
    let e = ws.expect("error").await;
    assert_eq!(
        (e["code"].as_str(), e["sale"].as_u64()),
        (Some("unknown_sale"), Some(9999))
    );
    // An anonymous bid still gets its bid_result.
    let r = ws.bid("anon-1", lot, json!("20.00")).await;
    assert_eq!(
        (r["outcome"].as_str(), r["code"].as_str()),
        (Some("rejected"), Some("unauthorized")),
        "{r}"
    );
    // Binary frames are refused.
    ws.socket_send_binary().await;
    assert_eq!(ws.expect("error").await["code"], "binary_not_supported");

    // A bidder: every bad amount gets a bid_result with its code.
    let mut bidder = Ws::hello(&ws_url, Some(&tokens[0]), None).await;
    for (i, max) in [
        json!(12.5),
        json!("-1"),
        json!("99999999999999999999"),
        json!("1.234"),
        json!("abc"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = bidder.bid(&format!("bad-{i}"), lot, max.clone()).await;
        assert_eq!(
            (r["outcome"].as_str(), r["code"].as_str()),
            (Some("rejected"), Some("invalid_amount")),
            "{max}: {r}"
        );
        assert!(r["index"].is_null());
        // Stay under the connection's rate (3/s) for this part.
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    let r = bidder.bid("unknown-lot", 9999, json!("20")).await;
    assert_eq!(r["code"], "unknown_lot", "{r}");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    bidder
        .send(json!({"type": "bid", "bid_id": "shape", "lot": "x", "max": "1"}))
        .await;
    let r = bidder.expect("bid_result").await;
    assert_eq!(
        (r["bid_id"].as_str(), r["code"].as_str()),
        (Some("shape"), Some("bad_message")),
        "{r}"
    );

    // Too many subscriptions (cap 2); subscribing again to a followed
    // sale restarts it and does not count twice.
    bidder.subscribe(sale, None).await;
    bidder.subscribe(sale, None).await;
    bidder.subscribe(sale2, None).await;
    bidder
        .send(json!({"type": "subscribe", "sale": sale3}))
        .await;
    let e = bidder.expect("error").await;
    assert_eq!(e["code"], "too_many_subscriptions", "{e}");
    bidder
        .send(json!({"type": "unsubscribe", "sale": sale2}))
        .await;
    bidder.expect("unsubscribed").await;
    bidder.subscribe(sale3, None).await;

    // A flood hits the connection's rate limit.
    let mut limited = 0;
    for i in 0..10 {
        bidder
            .send(json!({"type": "bid", "bid_id": format!("f{i}"), "lot": lot, "max": "abc"}))
            .await;
    }
    for _ in 0..10 {
        let r = bidder.expect("bid_result").await;
        if r["code"] == "rate_limited" {
            limited += 1;
        } else {
            assert_eq!(r["code"], "invalid_amount", "{r}");
        }
    }
    assert!(limited > 0, "the flood never hit the rate limit");

    // Oversized message: error, then closed with 1009.
    let mut big = Ws::hello(&ws_url, None, None).await;
    big.send(json!({"type": "ping", "client_time": 1, "pad": "x".repeat(2000)}))
        .await;
    let e = big.expect("error").await;
    assert_eq!(e["code"], "message_too_large", "{e}");
    assert!(big.next().await.is_none());
    assert_eq!(
        big.closed.as_ref().map(|c| c.0),
        Some(1009),
        "{:?}",
        big.closed
    );

    // Forged token: error, then closed with 1008.
    let mut forged = Ws::connect(&ws_url).await;
    forged
        .send(json!({"type": "hello", "token": "pdb_forged"}))
        .await;
    assert_eq!(forged.expect("error").await["code"], "unauthorized");
    assert!(forged.next().await.is_none());
    assert_eq!(forged.closed.as_ref().map(|c| c.0), Some(1008));

    assert_eq!(
        c.state_hash(0).await,
        before,
        "refused messages changed the state"
    );
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bids_get_outcomes_watchers_get_events_and_resume_is_exact() {
    let c = Cluster::start(1, &[]).await;
    let (sale, lots, tokens) = c.live_sale(1, 2).await;
    let url = c.ws_url(0);
    let lot = lots[0];

    let mut watcher = Ws::hello(&url, None, None).await;
    watcher
        .send(json!({"type": "subscribe", "sale": sale}))
        .await;
    let snap = watcher.expect("snapshot").await;
    assert_eq!(snap["reason"], "subscribe");
    assert_eq!(snap["sale"]["currency_exponent"], 2, "{snap}");
    assert_eq!(snap["lots"][0]["status"], "open", "{snap}");
    let subscribed = watcher.expect("subscribed").await;
    let start = subscribed["index"].as_u64().unwrap();

    let mut a = Ws::hello(&url, Some(&tokens[0]), None).await;
    let mut b = Ws::hello(&url, Some(&tokens[1]), None).await;
    a.subscribe(sale, None).await;
    let ra = a.bid("a-1", lot, json!("20.00")).await;
    assert_eq!(ra["outcome"], "accepted", "{ra}");
    let ia = ra["index"].as_u64().unwrap();
    let ev = watcher
        .until_event("the bid's event", |v| v["event"]["type"] == "bid_accepted")
        .await;
    assert_eq!(
        ev["index"].as_u64(),
        Some(ia),
        "the event carries the bid's index"
    );

    // b outbids a: only a hears `outbid`.
    let rb = b.bid("b-1", lot, json!("30.00")).await;
    assert_eq!(rb["outcome"], "accepted", "{rb}");
    let ib = rb["index"].as_u64().unwrap();
    let outbid = a
        .until_event("outbid", |v| v["event"]["type"] == "outbid")
        .await;
    assert_eq!(outbid["index"].as_u64(), Some(ib));
    // A too-low bid is rejected with the rules' code, the minimum in `reason`.
    let low = a.bid("a-2", lot, json!("21.00")).await;
    assert_eq!(
        (low["outcome"].as_str(), low["code"].as_str()),
        (Some("rejected"), Some("too_low")),
        "{low}"
    );
    assert!(low["reason"]["minimum"].is_u64(), "{low}");
    // Same bid id again: the first outcome, no second bid.
    let again = b.bid("b-1", lot, json!("30.00")).await;
    assert_eq!(again["outcome"], "accepted");
    let (_, hist) = c
        .get(&format!("{}/api/v1/lots/{lot}/bids", c.url(0)), None)
        .await;
    assert_eq!(hist["bids"].as_array().unwrap().len(), 2, "{hist}");

    // Resume: a new connection with since=start gets exactly the events the
    // watcher saw (no outbid: it is not that paddle), in order.
    watcher
        .until_event("the second bid", |v| v["index"].as_u64() == Some(ib))
        .await;

    // Ping/pong for the clock.
    watcher
        .send(json!({"type": "ping", "client_time": 123.5}))
        .await;
    let pong = watcher.expect("pong").await;
    assert_eq!(pong["client_time"], 123.5);
    assert!(pong["server_time_ms"].as_u64().unwrap() > 1_600_000_000_000);
    let live: Vec<(u64, u64)> = events_in(&watcher.seen).iter().map(key).collect();
    let mut resumed = Ws::hello(&url, None, None).await;
    let done = resumed.subscribe(sale, Some(start)).await;
    assert_eq!(done["replayed"].as_u64(), Some(live.len() as u64), "{done}");
    let replay: Vec<(u64, u64)> = events_in(&resumed.seen).iter().map(key).collect();
    assert_eq!(replay, live);
    assert!(
        replay.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicates"
    );
    assert!(resumed.seen.iter().all(|m| m["type"] != "snapshot"));
    // And the bidder resuming gets their own outbid too.
    let mut a2 = Ws::hello(&url, Some(&tokens[0]), None).await;
    a2.subscribe(sale, Some(start)).await;
    assert!(events_in(&a2.seen)
        .iter()
        .any(|e| e["event"]["type"] == "outbid"));

    // Presence counts this node's watchers of the sale.
    let p = watcher.expect("presence").await;
    assert_eq!(p["sale"].as_u64(), Some(sale));
    assert!(p["watchers"].as_u64().unwrap() >= 3, "{p}");
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_valid_and_lists_every_route() {
    let c = Cluster::start(1, &[]).await;
    let base = c.url(0);
    let (s, doc) = c.get(&format!("{base}/api/v1/openapi.json"), None).await;
    assert_eq!(s, 200);
    // Valid: it parses as an OpenAPI 3.1 document and every reference resolves.
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_value(doc.clone()).expect("an OpenAPI document");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(!parsed.paths.paths.is_empty());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut refs = BTreeSet::new();
    collect_refs(&doc, &mut refs);
    for r in &refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("odd $ref {r}"));
        assert!(schemas.contains_key(name), "$ref {r} does not resolve");
    }
    let methods = ["get", "post", "put", "delete", "patch"];
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in methods {
            if let Some(op) = item.get(m) {
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{m} {path} has no responses"
                );
                documented.insert(format!("{} {path}", m.to_uppercase()));
            }
        }
    }
    // Every route of docs/protocol.md is documented.
    let expected = [
        "GET /api/v1/sales",
        "POST /api/v1/sales",
        "GET /api/v1/sales/{sale}",
        "GET /api/v1/sales/{sale}/lots",
        "POST /api/v1/sales/{sale}/lots",
        "POST /api/v1/sales/{sale}/lots/import",
        "GET /api/v1/lots/{lot}",
        "GET /api/v1/lots/{lot}/bids",
        "POST /api/v1/lots/{lot}/bids",
        "POST /api/v1/sales/{sale}/bidders",
        "GET /api/v1/sales/{sale}/bidders",
        "POST /api/v1/sales/{sale}/bidders/{paddle}/approve",
        "POST /api/v1/sales/{sale}/bidders/{paddle}/limit",
        "GET /api/v1/me",
        "POST /api/v1/lots/{lot}/open",
        "POST /api/v1/lots/{lot}/asking-increment",
        "POST /api/v1/lots/{lot}/floor-bid",
        "POST /api/v1/lots/{lot}/fair-warning",
        "POST /api/v1/lots/{lot}/sell",
        "POST /api/v1/lots/{lot}/pass",
        "POST /api/v1/lots/{lot}/reopen",
        "POST /api/v1/lots/{lot}/withdraw",
        "POST /api/v1/lots/{lot}/retract",
        "PUT /api/v1/lots/{lot}",
        "POST /api/v1/lots/{lot}/commission-bids",
        "POST /api/v1/lots/{lot}/phone-bids",
        "POST /api/v1/lots/{lot}/extend",
        "POST /api/v1/sales/{sale}/pause",
        "POST /api/v1/sales/{sale}/resume",
        "POST /api/v1/sales/{sale}/desk",
        "GET /api/v1/sales/{sale}/desk",
        "POST /api/v1/sales/{sale}/bidders/{paddle}/details",
        "POST /api/v1/sales/{sale}/bidders/{paddle}/reissue",
        "POST /api/v1/sales/{sale}/sign-in",
        "POST /api/v1/sales/{sale}/self-registration",
        "POST /api/v1/sales/{sale}/lots/{lot}/suggest",
        "GET /api/v1/sales/{sale}/lots/{lot}/rival",
        "POST /api/v1/sales/{sale}/rival-profiles",
        "GET /api/v1/sales/{sale}/results",
        "GET /api/v1/sales/{sale}/results.csv",
        "GET /api/v1/sales/{sale}/stats",
        "GET /api/v1/sales/{sale}/events",
        "GET /api/v1/sales/{sale}/analytics",
        "GET /api/v1/sales/{sale}/analytics.csv",
        "GET /api/v1/me/history",
        "POST /api/v1/sales/{sale}/settlement",
        "GET /api/v1/sales/{sale}/settlement",
        "GET /api/v1/consignors",
        "POST /api/v1/consignors",
        "PUT /api/v1/consignors/{id}",
        "POST /api/v1/sales/{sale}/lot-consignors",
        "GET /api/v1/sales/{sale}/invoices",
        "GET /api/v1/sales/{sale}/invoices/{paddle}",
        "POST /api/v1/sales/{sale}/invoices/{paddle}/payments",
        "POST /api/v1/sales/{sale}/invoices/{paddle}/collected",
        "GET /api/v1/sales/{sale}/statements",
        "GET /api/v1/sales/{sale}/consignors/{id}/statement",
        "GET /api/v1/sales/{sale}/invoices.csv",
        "GET /api/v1/sales/{sale}/payments.csv",
        "GET /api/v1/sales/{sale}/statements.csv",
        "POST /api/v1/clerks",
        "GET /api/v1/clerks",
        "POST /api/v1/clerks/{id}/revoke",
        "GET /api/v1/time",
        "GET /api/v1/cluster",
        "POST /api/v1/cluster/nodes/{id}/remove",
        "POST /api/v1/cluster/nodes/{id}/promote",
        "POST /api/v1/cluster/nodes/{id}/demote",
        "GET /api/v1/cluster/join-token",
        "POST /api/v1/cluster/join-token/rotate",
        "GET /api/v1/cluster/backup",
        "GET /api/v1/probe",
        "POST /api/v1/probe",
        "GET /api/v1/state",
        "GET /api/v1/openapi.json",
        "GET /ws",
        "GET /health",
        "GET /ready",
        "GET /metrics",
    ];
    for e in expected {
        assert!(documented.contains(e), "{e} is not in the OpenAPI document");
    }
    // And every documented route is served (no `not_found` from the fallback).
    for route in &documented {
        let (m, path) = route.split_once(' ').unwrap();
        if path == "/ws" {
            continue;
        }
        let path = path
            .replace("{sale}", "0")
            .replace("{lot}", "0")
            .replace("{paddle}", "1")
            .replace("{id}", "1");
        let method = Method::from_bytes(m.as_bytes()).unwrap();
        let (_, v) = c.call(method, &format!("{base}{path}"), None, None).await;
        assert_ne!(
            v["error"]["code"], "not_found",
            "{route} is documented but not routed"
        );
    }
    c.pass();
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "$ref" {
                    if let Some(s) = v.as_str() {
                        out.insert(s.to_string());
                    }
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_tokens_csv_import_and_results() {
    let c = Cluster::start(1, &[]).await;
    let base = c.url(0);
    let op = Some(c.operator.as_str());
    let (sale, _, tokens) = c.live_sale(1, 1).await;

    // The operator makes a clerk token; only its hash is replicated.
    let (s, clerk) = c
        .post(
            &format!("{base}/api/v1/clerks"),
            op,
            json!({"label": "rostrum"}),
        )
        .await;
    assert_eq!(s, 201, "{clerk}");
    let ct = clerk["token"].as_str().unwrap().to_string();
    let (_, me) = c.get(&format!("{base}/api/v1/me"), Some(&ct)).await;
    assert_eq!(
        (me["role"].as_str(), me["clerk_label"].as_str()),
        (Some("clerk"), Some("rostrum"))
    );
    let (_, list) = c.get(&format!("{base}/api/v1/clerks"), op).await;
    assert_eq!(list["clerks"][0]["id"], clerk["id"], "{list}");
    // A clerk may not do the operator's work, nor may a bidder make clerks.
    let (s, _) = c
        .post(
            &format!("{base}/api/v1/sales"),
            Some(&ct),
            json!({"title": "x", "currency": "EUR", "mode": {"type": "live"}}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = c
        .post(
            &format!("{base}/api/v1/clerks"),
            Some(&tokens[0]),
            json!({"label": "me"}),
        )
        .await;
    assert_eq!(s, 403);

    // The operator imports lots from CSV: all rows or none.
    let import = |body: &'static str| {
        c.http
            .post(format!("{base}/api/v1/sales/{sale}/lots/import"))
            .bearer_auth(&c.operator)
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    let bad: Value = import("title,start\nGood,10.00\nBad,ten\n")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["error"]["code"], "bad_csv", "{bad}");
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("row 3"),
        "{bad}"
    );
    let (_, lots) = c
        .get(&format!("{base}/api/v1/sales/{sale}/lots"), None)
        .await;
    assert_eq!(
        lots["lots"].as_array().unwrap().len(),
        1,
        "a bad file adds nothing"
    );
    let r = import("title,description,start,reserve\nClock,\"Brass, 1890\",20.00,\nVase,,5,\n")
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let added: Value = r.json().await.unwrap();
    let clock = added["lots"][0].as_u64().unwrap();

    // The clerk runs the rostrum: the first lot is open; sell it... it has
    // no bid, so pass it, then open the clock, take a bid, sell.
    let first = lots["lots"][0]["lot"].as_u64().unwrap();
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/lots/{first}/sell"),
            Some(&ct),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("no_bids")),
        "{v}"
    );
    let (s, _) = c
        .post(
            &format!("{base}/api/v1/lots/{first}/pass"),
            Some(&ct),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = c
        .post(
            &format!("{base}/api/v1/lots/{clock}/open"),
            Some(&ct),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/lots/{clock}/bids"),
            Some(&tokens[0]),
            json!({"bid_id": "c1", "max": "25.00"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/lots/{clock}/sell"),
            Some(&ct),
            json!({}),
        )
        .await;
    assert_eq!((s, v["lot"]["status"].as_str()), (200, Some("sold")), "{v}");
    let csv = c
        .http
        .get(format!("{base}/api/v1/sales/{sale}/results.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("lot,title,status,winner_paddle,hammer,buyers_premium,total\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("{clock},Clock,sold,1,20.00,2.00,22.00")),
        "{csv}"
    );
    let (_, stats) = c
        .get(&format!("{base}/api/v1/sales/{sale}/stats"), Some(&ct))
        .await;
    assert_eq!(stats["stats"]["bidders"][0]["wins"], 1, "{stats}");

    // Revoked, the clerk token stops working.
    let id = clerk["id"].as_str().unwrap();
    let (s, _) = c
        .post(&format!("{base}/api/v1/clerks/{id}/revoke"), op, json!({}))
        .await;
    assert_eq!(s, 200);
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/lots/{clock}/reopen"),
            Some(&ct),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
    c.pass();
}
