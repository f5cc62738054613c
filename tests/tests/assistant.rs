//! The venue assistant against a real model server started by the test (a
//! small axum app speaking OpenAI chat-completions with canned answers),
//! and against it being down, slow and talking nonsense: suggestions fall
//! back to comparable sold lots with a note, lot introductions reach every
//! node's WebSockets once and the same, rival profiles name no one and a
//! sale can turn them off.

mod api_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_support::{Cluster, Ws, DEADLINE};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use paddle_tests::TINY_PNG;
use serde_json::{json, Value};

/// How the fake model server answers appraisals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Good,
    Garbage,
    Absurd,
    Slow,
    NotCompletion,
}

#[derive(Clone)]
struct Fake {
    mode: Arc<Mutex<Mode>>,
    appraisals: Arc<AtomicUsize>,
    intros: Arc<AtomicUsize>,
    last: Arc<Mutex<Value>>,
}

fn completion(text: &str) -> Value {
    json!({"id": "c1", "object": "chat.completion", "model": "fake",
           "choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text}}]})
}

async fn chat(State(f): State<Fake>, Json(body): Json<Value>) -> Json<Value> {
    // An introduction asks for plain text; an appraisal for a JSON object.
    if body.get("response_format").is_none() {
        f.intros.fetch_add(1, Ordering::SeqCst);
        return Json(completion(
            "Lot of the evening: a walnut mantel clock, ticking for a new home!",
        ));
    }
    f.appraisals.fetch_add(1, Ordering::SeqCst);
    *f.last.lock().unwrap() = body;
    let mode = *f.mode.lock().unwrap();
    Json(match mode {
        Mode::Good => completion(
            r#"{"title":"Victorian walnut mantel clock","description":"Eight-day movement, glazed door.","estimate_low":150,"estimate_high":250.5,"start":90}"#,
        ),
        Mode::Garbage => completion("Lovely clock! I'd say about a hundred quid, give or take."),
        Mode::Absurd => completion(
            r#"{"title":"Clock","description":"","estimate_low":-40,"estimate_high":99999999999,"start":-1}"#,
        ),
        Mode::NotCompletion => json!({"error": "model not loaded"}),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(20)).await;
            completion("{}")
        }
    })
}

/// Start the fake model server on a free loopback port: its base URL, its
/// handle, and the task (abort it to take the server down).
async fn fake_model() -> (String, Fake, tokio::task::JoinHandle<()>) {
    let fake = Fake {
        mode: Arc::new(Mutex::new(Mode::Good)),
        appraisals: Arc::default(),
        intros: Arc::default(),
        last: Arc::new(Mutex::new(Value::Null)),
    };
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/v1"), fake, task)
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, f).await.expect("in time")
}

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

/// A live sale whose first two "walnut clock" lots sold (hammers 120.00
/// and 160.00), plus an oak table, a clock to appraise (with a photo) and
/// one without a photo: `(sale, lots, bidder tokens)`.
async fn sale_with_results(c: &Cluster) -> (u64, Vec<u64>, Vec<String>) {
    let base = c.url(0);
    let op = Some(c.operator.as_str());
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales"),
            op,
            json!({"title": "Clocks", "currency": "EUR", "mode": {"type": "live"}, "premium_bp": 0,
                   "increments": [{"from": "0", "increment": "1.00"}]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let sale = v["sale"].as_u64().unwrap();
    let titles = [
        "Walnut mantel clock",
        "Walnut mantel clock, French",
        "Oak dining table",
        "Walnut mantel clock with key",
        "Brass lamp",
    ];
    let lots: Vec<Value> = titles
        .iter()
        .map(|t| json!({"title": t, "start": "10.00"}))
        .collect();
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales/{sale}/lots"),
            op,
            json!({"lots": lots}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let lots: Vec<u64> = v["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap())
        .collect();
    let mut tokens = Vec::new();
    for i in 0..2 {
        let (s, v) = c
            .post(
                &format!("{base}/api/v1/sales/{sale}/bidders"),
                op,
                json!({"name": format!("Secret Name {i}"), "approved": true}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        tokens.push(v["token"].as_str().unwrap().to_owned());
    }
    for (lot, price) in [(lots[0], "120.00"), (lots[1], "160.00")] {
        let (s, v) = c
            .post(&format!("{base}/api/v1/lots/{lot}/open"), op, json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = c
            .post(
                &format!("{base}/api/v1/lots/{lot}/floor-bid"),
                op,
                json!({"bid_id": format!("f{lot}"), "amount": price}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = c
            .post(&format!("{base}/api/v1/lots/{lot}/sell"), op, json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let r = c
        .http
        .put(format!("{base}/api/v1/lots/{}/image", lots[3]))
        .bearer_auth(&c.operator)
        .header("content-type", "image/png")
        .body(TINY_PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    (sale, lots, tokens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_come_from_the_model_or_fall_back_with_a_note() {
    let (endpoint, fake, server) = fake_model().await;
    let c = Cluster::start(
        1,
        &[
            "--assistant-enabled",
            "true",
            "--assistant-endpoint",
            &endpoint,
            "--assistant-timeout-ms",
            "1500",
        ],
    )
    .await;
    let (sale, lots, tokens) = sale_with_results(&c).await;
    let op = Some(c.operator.as_str());
    let suggest =
        |sale: u64, lot: u64| format!("{}/api/v1/sales/{sale}/lots/{lot}/suggest", c.url(0));
    let before = c.state_hash(0).await;

    // Up: the model's appraisal, read strictly, with the comparables too.
    let (s, v) = c.post(&suggest(sale, lots[3]), op, json!({})).await;
    assert_eq!(s, 200, "{v}");
    let g = &v["suggestion"];
    assert_eq!(g["source"], "model", "{v}");
    assert_eq!(g["title"], "Victorian walnut mantel clock");
    assert_eq!(
        (
            g["estimate_low"].as_i64(),
            g["estimate_high"].as_i64(),
            g["start"].as_i64()
        ),
        (Some(15_000), Some(25_050), Some(9_000))
    );
    assert_eq!(g["comparables"].as_array().unwrap().len(), 2, "{v}");
    // One vision request carrying the photo as a data URL.
    let sent = fake.last.lock().unwrap().clone();
    let url = sent["messages"][1]["content"][1]["image_url"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.starts_with("data:image/png;base64,"), "{url}");
    assert_eq!(fake.appraisals.load(Ordering::SeqCst), 1);

    // Garbage, absurd prices, a broken envelope, slow: comparables, noted.
    for (mode, why) in [
        (Mode::Garbage, "unusable"),
        (Mode::Absurd, "negative"),
        (Mode::NotCompletion, "not a chat completion"),
        (Mode::Slow, "did not answer within 1500 ms"),
    ] {
        *fake.mode.lock().unwrap() = mode;
        let (s, v) = within(c.post(&suggest(sale, lots[3]), op, json!({}))).await;
        assert_eq!(s, 200, "{mode:?}: {v}");
        let g = &v["suggestion"];
        assert_eq!(g["source"], "comparables", "{mode:?}: {v}");
        assert!(g["note"].as_str().unwrap().contains(why), "{mode:?}: {v}");
        // The 20th to 80th percentile of 120.00 and 160.00.
        assert_eq!(
            (g["estimate_low"].as_i64(), g["estimate_high"].as_i64()),
            (Some(12_800), Some(15_200)),
            "{v}"
        );
        assert_eq!(g["start"].as_i64(), Some(6_400));
        assert_eq!(
            g["title"], "Walnut mantel clock with key",
            "the lot's own title is kept"
        );
    }

    // Down: the connection is refused.
    server.abort();
    let _ = server.await;
    let (s, v) = c.post(&suggest(sale, lots[3]), op, json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["suggestion"]["source"], "comparables", "{v}");
    assert!(
        v["suggestion"]["note"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{v}"
    );

    // Bad input: no photo, a lot of another sale, an unknown sale, a
    // bidder's token, no token, a body with fields. Each has its code.
    let (s, v) = c.post(&suggest(sale, lots[4]), op, json!({})).await;
    assert_eq!((s, code(&v)), (409, Some("no_image")), "{v}");
    let (s2, _) = c
        .post(
            &format!("{}/api/v1/sales", c.url(0)),
            op,
            json!({"title": "Other", "currency": "EUR", "mode": {"type": "live"}, "premium_bp": 0,
                   "increments": [{"from": "0", "increment": "1.00"}]}),
        )
        .await;
    assert_eq!(s2, 201);
    let (s, v) = c.post(&suggest(sale + 1, lots[3]), op, json!({})).await;
    assert_eq!((s, code(&v)), (404, Some("unknown_lot")), "{v}");
    let (s, v) = c.post(&suggest(sale + 9, lots[3]), op, json!({})).await;
    assert_eq!((s, code(&v)), (404, Some("unknown_sale")), "{v}");
    let (s, v) = c
        .post(&suggest(sale, lots[3]), Some(&tokens[0]), json!({}))
        .await;
    assert_eq!((s, code(&v)), (403, Some("forbidden")), "{v}");
    let (s, v) = c.post(&suggest(sale, lots[3]), None, json!({})).await;
    assert_eq!((s, code(&v)), (401, Some("unauthorized")), "{v}");
    let (s, v) = c
        .post(&suggest(sale, lots[3]), op, json!({"apply": true}))
        .await;
    assert_eq!(s, 400, "{v}");
    // Suggestions applied nothing: the state is as it was (but the sale
    // created for the bad-input case).
    let (_, lot) = c
        .get(&format!("{}/api/v1/lots/{}", c.url(0), lots[3]), op)
        .await;
    assert_eq!(lot["lot"]["title"], "Walnut mantel clock with key", "{lot}");
    assert_eq!(lot["lot"]["start"], 1000, "{lot}");
    assert_ne!(before, "");
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lot_introduction_reaches_every_node_once_and_the_same() {
    let (endpoint, fake, _server) = fake_model().await;
    let c = Cluster::start(
        3,
        &[
            "--assistant-enabled",
            "true",
            "--assistant-endpoint",
            &endpoint,
        ],
    )
    .await;
    let (sale, lots, _) = c.live_sale(3, 0).await;
    let op = Some(c.operator.as_str());
    let mut watchers = Vec::new();
    for i in 0..3 {
        let mut w = Ws::hello(&c.ws_url(i), None, None).await;
        w.subscribe(sale, Some(0)).await;
        watchers.push(w);
    }
    // The clerk sells or passes lot 0 so lot 1 may open.
    let (s, v) = c
        .post(
            &format!("{}/api/v1/lots/{}/pass", c.url(1), lots[0]),
            op,
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = c
        .post(
            &format!("{}/api/v1/lots/{}/open", c.url(2), lots[1]),
            op,
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let mut texts = Vec::new();
    for w in &mut watchers {
        let e = within(w.until_event("lot 1's introduction", |e| {
            e["event"]["type"] == "lot_introduced" && e["event"]["lot"] == lots[1]
        }))
        .await;
        assert_eq!(e["event"]["source"], "model", "{e}");
        texts.push((
            e["index"].as_u64(),
            e["event"]["text"].as_str().unwrap().to_owned(),
        ));
    }
    assert!(texts.iter().all(|t| *t == texts[0]), "{texts:?}");
    assert!(texts[0].1.contains("walnut mantel clock"), "{texts:?}");
    // Once: one event per lot in the stored history of every node (lot 0's
    // was proposed before lot 1 opened; wait until each node has it), and
    // the model was asked once per opened lot, by the leader alone.
    for i in 0..3 {
        let url = format!("{}/api/v1/sales/{sale}/events", c.url(i));
        let v = within(async {
            loop {
                let (s, v) = c.get(&url, None).await;
                assert_eq!(s, 200, "{v}");
                let n = v["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["event"]["type"] == "lot_introduced")
                    .count();
                if n >= 2 {
                    return v;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        let intros: Vec<&Value> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["type"] == "lot_introduced")
            .collect();
        let per_lot = |lot: u64| intros.iter().filter(|e| e["event"]["lot"] == lot).count();
        assert_eq!(
            (per_lot(lots[0]), per_lot(lots[1]), per_lot(lots[2])),
            (1, 1, 0),
            "node {i}: {v}"
        );
    }
    assert_eq!(fake.intros.load(Ordering::SeqCst), 2, "lots 0 and 1 opened");
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rival_profiles_name_no_one_and_a_sale_can_turn_them_off() {
    let c = Cluster::start(1, &["--assistant-enabled", "true"]).await;
    let (sale, lots, tokens) = c.live_sale(1, 3).await;
    let op = Some(c.operator.as_str());
    let base = c.url(0);
    let bid = |token: &str, id: &str, max: &str| {
        let (token, id, max) = (token.to_owned(), id.to_owned(), max.to_owned());
        let c = &c;
        let url = format!("{base}/api/v1/lots/{}/bids", lots[0]);
        async move {
            let (s, v) = c
                .post(&url, Some(&token), json!({"bid_id": id, "max": max}))
                .await;
            assert_eq!(s, 200, "{v}");
        }
    };
    bid(&tokens[0], "a1", "10.00").await;
    bid(&tokens[1], "b1", "15.00").await;
    bid(&tokens[0], "a2", "17.00").await;
    bid(&tokens[1], "b2", "30.00").await;
    let rival = format!("{base}/api/v1/sales/{sale}/lots/{}/rival", lots[0]);

    // Paddle 1 (tokens[0]) was outbid by paddle 2.
    let (s, v) = c.get(&rival, Some(&tokens[0])).await;
    assert_eq!(s, 200, "{v}");
    let r = &v["rival"];
    assert_eq!(r["paddle"], 2, "{v}");
    assert_eq!(r["bids_in_sale"], 2, "{v}");
    assert_eq!(r["bids_today"], 2, "{v}");
    let line = r["line"].as_str().unwrap();
    assert!(line.starts_with("Paddle 2 "), "{line}");
    assert!(
        !v.to_string().contains("Secret") && !v.to_string().contains("Bidder"),
        "no names: {v}"
    );
    // The leader has no rival; a bidder who never bid here is not outbid;
    // staff are not bidders.
    let (s, v) = c.get(&rival, Some(&tokens[1])).await;
    assert_eq!((s, code(&v)), (409, Some("not_outbid")), "{v}");
    let (s, v) = c.get(&rival, Some(&tokens[2])).await;
    assert_eq!((s, code(&v)), (409, Some("not_outbid")), "{v}");
    let (s, v) = c.get(&rival, op).await;
    assert_eq!((s, code(&v)), (403, Some("forbidden")), "{v}");

    // Staff turn them off for the sale: through the log, with its event.
    let mut w = Ws::hello(&c.ws_url(0), None, None).await;
    w.subscribe(sale, None).await;
    let toggle = format!("{base}/api/v1/sales/{sale}/rival-profiles");
    let (s, v) = c
        .post(&toggle, Some(&tokens[0]), json!({"on": false}))
        .await;
    assert_eq!((s, code(&v)), (403, Some("forbidden")), "{v}");
    let (s, v) = c.post(&toggle, op, json!({"on": "no"})).await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales/{}/rival-profiles", sale + 5),
            op,
            json!({"on": false}),
        )
        .await;
    assert_eq!((s, code(&v)), (404, Some("unknown_sale")), "{v}");
    let (s, v) = c.post(&toggle, op, json!({"on": false})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sale"]["rival_profiles"], false, "{v}");
    within(w.until_event("rival_profiles_set", |e| {
        e["event"]["type"] == "rival_profiles_set" && e["event"]["on"] == false
    }))
    .await;
    let (s, v) = c.get(&rival, Some(&tokens[0])).await;
    assert_eq!((s, code(&v)), (403, Some("rival_profiles_off")), "{v}");
    let (s, v) = c.post(&toggle, op, json!({"on": true})).await;
    assert_eq!(
        (s, v["sale"]["rival_profiles"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    let (s, _) = c.get(&rival, Some(&tokens[0])).await;
    assert_eq!(s, 200);
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assistant_is_off_by_default() {
    let c = Cluster::start(1, &[]).await;
    let (sale, lots, tokens) = c.live_sale(1, 1).await;
    let op = Some(c.operator.as_str());
    let (s, v) = c
        .post(
            &format!("{}/api/v1/sales/{sale}/lots/{}/suggest", c.url(0), lots[0]),
            op,
            json!({}),
        )
        .await;
    assert_eq!((s, code(&v)), (409, Some("assistant_off")), "{v}");
    let (s, v) = c
        .get(
            &format!("{}/api/v1/sales/{sale}/lots/{}/rival", c.url(0), lots[0]),
            Some(&tokens[0]),
        )
        .await;
    assert_eq!((s, code(&v)), (409, Some("assistant_off")), "{v}");
    // No introduction was proposed for the lot that opened.
    let (_, v) = c
        .get(&format!("{}/api/v1/sales/{sale}/events", c.url(0)), None)
        .await;
    assert!(!v.to_string().contains("lot_introduced"), "{v}");
    c.pass();
}
