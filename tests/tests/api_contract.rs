//! The contract points an attacker's run of issue 17 found loose, on one
//! real node: formula cells neutralised in the results CSV, unknown fields
//! refused in REST bodies, every refusal in the JSON error shape (the probe
//! checks its token before it reads a body), a resend of a decided bid id
//! answered with its outcome even at the rate limit, times past 2^53 − 1
//! and bidi controls refused, security headers on pages and API replies,
//! and a WebSocket origin check that never trusts the request's `Host`.

mod api_support;

use api_support::Cluster;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite;

/// `(status, JSON body)` of a raw request.
async fn send(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.expect("node answers");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: not JSON: {text:?}"));
    (status, v)
}

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_csv_neutralises_formula_cells() {
    let c = Cluster::start(1, &[]).await;
    let base = c.url(0);
    let op = Some(c.operator.as_str());
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales"),
            op,
            json!({"title": "CSV sale", "currency": "EUR", "mode": {"type": "live"},
                   "increments": [{"from": "0", "increment": "1.00"}]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let sale = v["sale"].as_u64().unwrap();
    let titles = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "@SUM(A1:A9)",
        "+1",
        "-1+2",
    ];
    let lots: Vec<Value> = titles
        .iter()
        .map(|t| json!({"title": t, "start": "10.00"}))
        .collect();
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales/{sale}/lots"),
            op,
            json!({ "lots": lots }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let ids: Vec<u64> = v["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap())
        .collect();
    for lot in &ids {
        for action in ["open", "pass"] {
            let (s, v) = c
                .post(&format!("{base}/api/v1/lots/{lot}/{action}"), op, json!({}))
                .await;
            assert_eq!(s, 200, "{action} {lot}: {v}");
        }
    }
    let r = c
        .http
        .get(format!(
            "{base}/api/v1/sales/{sale}/results.csv?consistency=linearizable"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let cells: Vec<String> = rdr
        .records()
        .map(|r| r.expect("valid CSV")[1].to_string())
        .collect();
    let want: Vec<String> = titles.iter().map(|t| format!("'{t}")).collect();
    assert_eq!(cells, want, "{text}");
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_are_refused_and_every_refusal_is_coded_json() {
    let c = Cluster::start(1, &[]).await;
    let (sale, lots, tokens) = c.live_sale(1, 1).await;
    let base = c.url(0);
    let op = c.operator.as_str();
    let bidder = tokens[0].as_str();
    let before = c.state_hash(0).await;

    // A REST bid with a field the API does not know: refused, not placed.
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/lots/{}/bids", lots[0]),
            Some(bidder),
            json!({"bid_id": "extra-1", "max": "20.00", "sale": sale + 1}),
        )
        .await;
    assert_eq!((s, code(&v)), (400, Some("bad_json")), "{v}");
    let (s, v) = c.get(&format!("{base}/api/v1/me/bids"), Some(bidder)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["bids"], json!([]), "nothing was placed: {v}");

    // Unknown fields inside a sale's mode and soft close.
    for body in [
        json!({"title": "S", "currency": "EUR", "mode": {"type": "live", "x": 1}}),
        json!({"title": "S", "currency": "EUR",
               "mode": {"type": "timed", "opens_at_ms": 1, "closes_at_ms": 2, "stagger_ms": 0, "x": 1}}),
        json!({"title": "S", "currency": "EUR",
               "mode": {"type": "timed", "opens_at_ms": 1, "closes_at_ms": 2, "stagger_ms": 0},
               "soft_close": {"window_ms": 5, "rule": {"type": "reset_to_window"}, "x": 1}}),
    ] {
        let (s, v) = c
            .post(&format!("{base}/api/v1/sales"), Some(op), body.clone())
            .await;
        assert_eq!((s, code(&v)), (400, Some("bad_json")), "{body}: {v}");
    }

    // A time a page cannot hold exactly.
    let past = (1u64 << 53) + 10;
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales"),
            Some(op),
            json!({"title": "S", "currency": "EUR",
                   "mode": {"type": "timed", "opens_at_ms": 1, "closes_at_ms": past, "stagger_ms": 0}}),
        )
        .await;
    assert_eq!((s, code(&v)), (400, Some("invalid_input")), "{v}");

    // The probe: the token first, then the body; every answer JSON.
    let probe = format!("{base}/api/v1/probe");
    let malformed = |t: Option<&str>| {
        let r = c
            .http
            .post(&probe)
            .header("content-type", "application/json")
            .body("{\"writer\": ");
        match t {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    };
    let (s, v) = send(malformed(None)).await;
    assert_eq!((s, code(&v)), (401, Some("unauthorized")), "{v}");
    let (s, v) = send(malformed(Some(bidder))).await;
    assert_eq!((s, code(&v)), (403, Some("forbidden")), "{v}");
    let (s, v) = send(malformed(Some(op))).await;
    assert_eq!((s, code(&v)), (400, Some("bad_json")), "{v}");
    let (s, v) = c
        .post(
            &probe,
            Some(op),
            json!({"writer": 1, "seq": 1, "extra": true}),
        )
        .await;
    assert_eq!((s, code(&v)), (400, Some("bad_json")), "{v}");

    // A CSV import that is not UTF-8.
    let (s, v) = send(
        c.http
            .post(format!("{base}/api/v1/sales/{sale}/lots/import"))
            .bearer_auth(op)
            .header("content-type", "text/csv")
            .body(b"title,start\nCaf\xe9,10.00\n".to_vec()),
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("bad_csv")), "{v}");

    // axum's own refusals: a bad path parameter, a bad query, a request
    // to /ws that is no WebSocket upgrade.
    let (s, v) = send(
        c.http
            .post(format!("{base}/api/v1/cluster/nodes/abc/remove"))
            .bearer_auth(op),
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("bad_request")), "{v}");
    let (s, v) = send(
        c.http
            .get(format!("{base}/api/v1/probe?writer=abc"))
            .bearer_auth(op),
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("bad_request")), "{v}");
    let (s, v) = send(c.http.get(format!("{base}/ws"))).await;
    assert!(s >= 400 && code(&v).is_some(), "{s} {v}");

    assert_eq!(c.state_hash(0).await, before, "refusals changed the state");

    // Bidi controls in a title (the rules refuse it, through the log).
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales"),
            Some(op),
            json!({"title": "Clock \u{202E}kcolc", "currency": "EUR", "mode": {"type": "live"}}),
        )
        .await;
    assert_eq!((s, code(&v)), (400, Some("invalid_input")), "{v}");
    let (_, v) = c.get(&format!("{base}/api/v1/sales"), None).await;
    assert_eq!(v["sales"].as_array().map(Vec::len), Some(1), "{v}");
    c.pass();
}

/// A bidder finds their own bids in a lot's history by bid id; nobody else
/// (another bidder, no token) sees those ids; staff see them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bidder_sees_the_bid_ids_of_their_own_bids_only() {
    let c = Cluster::start(1, &[]).await;
    let (_, lots, tokens) = c.live_sale(1, 2).await;
    let bids = format!("{}/api/v1/lots/{}/bids", c.url(0), lots[0]);
    let (a, b) = (tokens[0].as_str(), tokens[1].as_str());
    let (s, v) = c
        .post(
            &bids,
            Some(a),
            json!({"bid_id": "a-secret-1", "max": "20.00"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = c
        .post(
            &bids,
            Some(b),
            json!({"bid_id": "b-secret-1", "max": "30.00"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let ids = |v: &Value| -> Vec<Value> {
        v["bids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["bid_id"].clone())
            .collect()
    };
    let (_, mine) = c.get(&bids, Some(a)).await;
    assert_eq!(ids(&mine), vec![json!("a-secret-1"), Value::Null], "{mine}");
    assert!(
        mine["bids"][0].get("seq").is_none(),
        "staff fields stay staff's: {mine}"
    );
    let (_, theirs) = c.get(&bids, Some(b)).await;
    assert_eq!(
        ids(&theirs),
        vec![Value::Null, json!("b-secret-1")],
        "{theirs}"
    );
    let (_, public) = c.get(&bids, None).await;
    assert_eq!(ids(&public), vec![Value::Null, Value::Null], "{public}");
    let (_, staff) = c.get(&bids, Some(c.operator.as_str())).await;
    assert_eq!(
        ids(&staff),
        vec![json!("a-secret-1"), json!("b-secret-1")],
        "{staff}"
    );
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_at_the_rate_limit_learns_its_outcome() {
    let c = Cluster::start(1, &["--limits-bids-per-second-per-bidder", "1"]).await;
    let (_, lots, tokens) = c.live_sale(1, 1).await;
    let bids = format!("{}/api/v1/lots/{}/bids", c.url(0), lots[0]);
    let bidder = Some(tokens[0].as_str());
    let (s, first) = c
        .post(&bids, bidder, json!({"bid_id": "once", "max": "20.00"}))
        .await;
    assert_eq!(s, 200, "{first}");
    // The bidder's one bid a second is spent; resends only learn the
    // outcome, so they are answered, never `rate_limited`.
    for _ in 0..5 {
        let (s, v) = c
            .post(&bids, bidder, json!({"bid_id": "once", "max": "20.00"}))
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["outcome"], "accepted", "{v}");
    }
    // New bids still meet the rate.
    let mut limited = false;
    for i in 0..5 {
        let (s, v) = c
            .post(
                &bids,
                bidder,
                json!({"bid_id": format!("new-{i}"), "max": "30.00"}),
            )
            .await;
        limited |= s == 429 && code(&v) == Some("rate_limited");
    }
    assert!(limited, "five new bids in a row stayed under one a second");
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_everywhere_and_websocket_origins_are_the_clusters() {
    let c = Cluster::start(1, &[]).await;
    let base = c.url(0);
    for path in ["/", "/clerk", "/api/v1/time", "/api/v1/nothing-here"] {
        let r = c.http.get(format!("{base}{path}")).send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }

    let upgrade = |origin: &str, host: Option<&str>| {
        let mut req =
            tungstenite::client::IntoClientRequest::into_client_request(c.ws_url(0)).unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        if let Some(h) = host {
            req.headers_mut().insert("host", h.parse().unwrap());
        }
        tokio_tungstenite::connect_async(req)
    };
    // A page of another site reaching the node under its own name (DNS
    // rebinding): Host and Origin agree, and that proves nothing.
    match upgrade("http://evil.example", Some("evil.example")).await {
        Err(tungstenite::Error::Http(r)) => {
            assert_eq!(r.status().as_u16(), 403);
            let body = r.body().as_deref().unwrap_or_default();
            if !body.is_empty() {
                let v: Value = serde_json::from_slice(body).expect("a JSON error");
                assert_eq!(code(&v), Some("origin_not_allowed"), "{v}");
            }
        }
        Err(e) => panic!("refused the wrong way: {e}"),
        Ok(_) => panic!("a page of evil.example opened a WebSocket"),
    }
    // The node's own pages still may.
    upgrade(&base, None)
        .await
        .expect("the node's own origin opens a WebSocket");
    c.pass();
}
