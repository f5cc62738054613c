//! The sale room over the public API of real nodes: the registration desk
//! (chosen paddle, taken paddle, sign-in codes, a reissued token refused on
//! another node at once), commission bids left before a live lot opens,
//! phone bids whose line only staff see, pause and resume of a timed sale
//! in a lot's last seconds (the same remaining time on every node), and
//! the bad-input catalogue of every new route.

mod api_support;

use api_support::{events_in, Cluster, Ws};
use serde_json::{json, Value};

/// Room for a test's quick succession of bids.
const FAST_BIDDERS: &[&str] = &[
    "--limits-bids-per-second-per-bidder",
    "100",
    "--limits-bids-per-second-per-connection",
    "100",
];

/// A wait for an event, bounded as a whole (a watcher also gets periodic
/// node status messages, so a per-message deadline alone could wait forever).
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(api_support::DEADLINE, f)
        .await
        .expect("the event in time")
}

fn lot_url(c: &Cluster, i: usize, lot: u64, what: &str) -> String {
    format!("{}/api/v1/lots/{lot}{what}", c.url(i))
}

fn sale_url(c: &Cluster, i: usize, sale: u64, what: &str) -> String {
    format!("{}/api/v1/sales/{sale}{what}", c.url(i))
}

/// Register a bidder at the desk of node `i`: `(status, reply)`.
async fn desk(c: &Cluster, i: usize, sale: u64, body: Value) -> (u16, Value) {
    c.post(&sale_url(c, i, sale, "/desk"), Some(&c.operator), body)
        .await
}

/// Redeem a sign-in code at node `i`: the bidder's token.
async fn redeem(c: &Cluster, i: usize, sale: u64, code: &str) -> String {
    let (s, v) = c
        .post(
            &sale_url(c, i, sale, "/sign-in"),
            None,
            json!({ "code": code }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_commission_and_phone_bids_across_three_nodes() {
    let c = Cluster::start(3, FAST_BIDDERS).await;
    let (sale, lots, _) = c.live_sale(2, 0).await;
    let op = Some(c.operator.as_str());

    // The desk on node 1 registers paddle 42 with contact details.
    let (s, v) = desk(
        &c,
        1,
        sale,
        json!({"name": "Grace Hopper", "paddle": 42, "phone": "+1 555 0100",
               "email": "grace@example.org", "id_checked": true, "limit": "5000.00",
               "deposit_note": "card held"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["paddle"], 42);
    assert_eq!(v["approved"], true);
    let card = &v["sign_in"];
    let code = card["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 11, "{card}");
    assert!(card["qr_svg"].as_str().unwrap().contains("<svg"), "{card}");
    let url = card["url"].as_str().unwrap();
    assert!(
        url.ends_with(&format!("/?sale={sale}&code={code}")),
        "{url}"
    );

    // The same paddle at another node's desk: taken.
    let (s, v) = desk(&c, 2, sale, json!({"name": "Someone Else", "paddle": 42})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("duplicate")),
        "{v}"
    );

    // Contact details are the staff's: the desk search finds them by phone.
    let (s, v) = c
        .get(&sale_url(&c, 2, sale, "/desk?q=555%200100&min_index=1"), op)
        .await;
    assert_eq!(s, 200, "{v}");
    let rows = v["bidders"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["email"], "grace@example.org");
    assert_eq!(rows[0]["sign_in_pending"], true);

    // The phone signs in on node 2 (typed in lower case, without the dash).
    let typed = code.replace('-', "").to_lowercase();
    let token = redeem(&c, 2, sale, &typed).await;
    // A code works once.
    let (s, v) = c
        .post(
            &sale_url(&c, 0, sale, "/sign-in"),
            None,
            json!({ "code": code }),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("unknown_sign_in")),
        "{v}"
    );

    // A commission bid left before lot 1 opens waits, then counts at open.
    let (s, v) = c
        .post(
            &lot_url(&c, 2, lots[1], "/commission-bids"),
            op,
            json!({"paddle": 42, "max": "50.00", "bid_id": "office-1"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["lot"]["status"], "scheduled", "{v}");

    // A phone bid on lot 0: staff see its line, the public does not.
    let mut staff = Ws::hello(&c.ws_url(1), op, None).await;
    staff.subscribe(sale, None).await;
    let mut public = Ws::hello(&c.ws_url(2), None, None).await;
    public.subscribe(sale, None).await;
    let (s, v) = c
        .post(
            &lot_url(&c, 0, lots[0], "/phone-bids"),
            op,
            json!({"paddle": 42, "bid_id": "line3-1", "line": 3}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let phone_index = v["index"].as_u64().unwrap();
    let line =
        within(staff.until_event("the phone line", |e| e["event"]["type"] == "phone_line")).await;
    assert_eq!(line["event"]["line"], 3, "{line}");
    assert_eq!(line["index"].as_u64(), Some(phone_index), "{line}");
    let bid = events_in(&staff.seen)
        .into_iter()
        .find(|e| e["event"]["type"] == "bid_accepted" && e["index"] == line["index"])
        .expect("the phone bid's bid_accepted came with its line");
    assert_eq!(bid["event"]["kind"], "phone", "{bid}");
    let seen =
        within(public.until_event("the phone bid", |e| e["event"]["type"] == "bid_accepted")).await;
    assert_eq!(seen["event"]["kind"], "phone");
    // A later event reaches the public watcher; no phone_line came before it.
    let (s, _) = c
        .post(&lot_url(&c, 0, lots[0], "/fair-warning"), op, json!({}))
        .await;
    assert_eq!(s, 200);
    within(public.until_event("fair warning", |e| e["event"]["type"] == "fair_warning")).await;
    assert!(
        !public
            .seen
            .iter()
            .any(|m| m.to_string().contains("phone_line")),
        "the public saw a phone line"
    );
    // The history: staff see the line, the public only the kind.
    let hist_url = format!(
        "{}?min_index={phone_index}",
        lot_url(&c, 2, lots[0], "/bids")
    );
    let (_, staff_hist) = c.get(&hist_url, op).await;
    assert_eq!(staff_hist["bids"][0]["line"], 3, "{staff_hist}");
    assert_eq!(staff_hist["bids"][0]["bid_id"], "line3-1", "{staff_hist}");
    let (_, public_hist) = c.get(&hist_url, None).await;
    assert!(
        public_hist["bids"][0].get("line").is_none(),
        "{public_hist}"
    );
    assert!(
        public_hist["bids"][0].get("bid_id").is_none(),
        "{public_hist}"
    );
    assert_eq!(public_hist["bids"][0]["kind"], "phone");

    // Lot 0 sold to the phone; lot 1 opens with the commission maximum
    // counted at the start price.
    let (s, v) = c
        .post(&lot_url(&c, 0, lots[0], "/sell"), op, json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = c
        .post(&lot_url(&c, 0, lots[1], "/open"), op, json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["lot"]["leader"], 42, "{v}");
    assert_eq!(v["lot"]["price"], 1000, "the start price: {v}");
    // Resending the same commission bid id: its first outcome, no new bid.
    let (s, again) = c
        .post(
            &lot_url(&c, 1, lots[1], "/commission-bids"),
            op,
            json!({"paddle": 42, "max": "50.00", "bid_id": "office-1"}),
        )
        .await;
    assert_eq!(s, 200, "{again}");
    let (_, hist) = c
        .get(
            &format!(
                "{}?min_index={}",
                lot_url(&c, 1, lots[1], "/bids"),
                v["index"]
            ),
            op,
        )
        .await;
    let kinds: Vec<&str> = hist["bids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["commission"], "{hist}");

    // The phone's token bids; then the desk reissues (a lost phone) on
    // node 0 and the old token is refused on node 2 at once.
    let (s, v) = c
        .post(
            &lot_url(&c, 2, lots[1], "/bids"),
            Some(&token),
            json!({"bid_id": "mine-1", "max": "80.00"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = c
        .post(&sale_url(&c, 0, sale, "/bidders/42/reissue"), op, json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let new_code = v["sign_in"]["code"].as_str().unwrap().to_string();
    assert_ne!(new_code, code);
    let (s, v) = c
        .post(
            &lot_url(&c, 2, lots[1], "/bids"),
            Some(&token),
            json!({"bid_id": "mine-2", "max": "90.00"}),
        )
        .await;
    assert!(
        s == 401 || v["error"]["code"] == "token_replaced",
        "the old token still bids: {s} {v}"
    );
    let fresh = redeem(&c, 1, sale, &new_code).await;
    let (s, v) = c
        .post(
            &lot_url(&c, 2, lots[1], "/bids"),
            Some(&fresh),
            json!({"bid_id": "mine-3", "max": "90.00"}),
        )
        .await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("accepted")), "{v}");
    let hashes: Vec<String> = futures::future::join_all((0..3).map(|i| c.state_hash(i))).await;
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
    c.pass();
}

/// Cluster time now, as node `i` says.
async fn cluster_now(c: &Cluster, i: usize) -> u64 {
    let (_, v) = c.get(&format!("{}/api/v1/time", c.url(i)), None).await;
    v["server_time_ms"].as_u64().unwrap()
}

/// A lot as node `i` sees it once it has applied `index`.
async fn lot_at(c: &Cluster, i: usize, lot: u64, index: u64) -> Value {
    let (s, v) = c
        .get(
            &format!("{}?min_index={index}", lot_url(c, i, lot, "")),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["lot"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_in_the_last_seconds_gives_back_the_same_time_on_every_node() {
    let c = Cluster::start(3, FAST_BIDDERS).await;
    let op = Some(c.operator.as_str());
    let now = cluster_now(&c, 0).await;
    let (s, v) = c
        .post(
            &format!("{}/api/v1/sales", c.url(0)),
            op,
            json!({"title": "Timed", "currency": "EUR",
                   "mode": {"type": "timed", "opens_at_ms": now + 500, "closes_at_ms": now + 9_000, "stagger_ms": 0}}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let sale = v["sale"].as_u64().unwrap();
    let (s, v) = c
        .post(
            &sale_url(&c, 0, sale, "/lots"),
            op,
            json!({"lots": [{"title": "Clock", "start": "5.00"}]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let lot = v["lots"][0].as_u64().unwrap();
    let (s, v) = desk(&c, 0, sale, json!({"name": "Ada"})).await;
    assert_eq!(s, 201, "{v}");
    let token = redeem(&c, 1, sale, v["sign_in"]["code"].as_str().unwrap()).await;

    // Into the lot's last 10 s: bid, then pause through a follower.
    let mut bid = (0, Value::Null);
    for attempt in 0..50 {
        // A fresh id each time: a refused id keeps its first outcome.
        bid = c
            .post(
                &lot_url(&c, 1, lot, "/bids"),
                Some(&token),
                json!({"bid_id": format!("early-{attempt}"), "max": "9.00"}),
            )
            .await;
        if bid.1["outcome"] == "accepted" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(bid.1["outcome"], "accepted", "{bid:?}");
    let (s, paused) = c
        .post(
            &sale_url(&c, 2, sale, "/pause"),
            op,
            json!({"reason": "Power cut in hall B"}),
        )
        .await;
    assert_eq!(s, 200, "{paused}");
    let since = paused["sale"]["paused"]["since_ms"].as_u64().unwrap();
    assert_eq!(paused["sale"]["paused"]["reason"], "Power cut in hall B");
    let pause_index = paused["index"].as_u64().unwrap();
    let mut left = Vec::new();
    for i in 0..3 {
        let l = lot_at(&c, i, lot, pause_index).await;
        let end = l["effective_end_ms"].as_u64().unwrap();
        assert!(
            end > since,
            "paused after the end (a very slow machine): {l}"
        );
        left.push(end - since);
    }
    assert!(left.windows(2).all(|w| w[0] == w[1]), "{left:?}");
    assert!(
        left[0] > 0 && left[0] <= 10_000,
        "in the last 10 s: {left:?}"
    );

    // Paused past the old deadline: no bid gets in, the lot does not close.
    tokio::time::sleep(std::time::Duration::from_millis(left[0] + 1_500)).await;
    let (s, v) = c
        .post(
            &lot_url(&c, 0, lot, "/bids"),
            Some(&token),
            json!({"bid_id": "while-paused", "max": "20.00"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("sale_paused")),
        "{v}"
    );
    let (s, v) = c
        .post(
            &sale_url(&c, 0, sale, "/pause"),
            op,
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("pause_state")),
        "{v}"
    );
    for i in 0..3 {
        assert_eq!(lot_at(&c, i, lot, pause_index).await["status"], "open");
    }

    // Resume: every node shows the same remaining time as at the pause.
    let (s, resumed) = c
        .post(&sale_url(&c, 1, sale, "/resume"), op, json!({}))
        .await;
    assert_eq!(s, 200, "{resumed}");
    assert!(resumed["sale"]["paused"].is_null(), "{resumed}");
    let resume_index = resumed["index"].as_u64().unwrap();
    let (_, evs) = c
        .get(
            &format!(
                "{}?min_index={resume_index}",
                sale_url(&c, 0, sale, "/events")
            ),
            None,
        )
        .await;
    let paused_ms = evs["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["type"] == "sale_resumed")
        .and_then(|e| e["event"]["paused_ms"].as_u64())
        .expect("a sale_resumed event");
    let resume_stamp = since + paused_ms;
    for i in 0..3 {
        let l = lot_at(&c, i, lot, resume_index).await;
        let end = l["effective_end_ms"].as_u64().unwrap();
        assert_eq!(end - resume_stamp, left[0], "node {i}: {l}");
    }
    // The lot then closes on its new deadline, sold to the early bid.
    let mut status = Value::Null;
    for _ in 0..100 {
        status = lot_at(&c, 0, lot, resume_index).await["status"].clone();
        if status == "sold" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, "sold");
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sale_room_bad_input_is_refused_with_its_code_and_changes_nothing() {
    let c = Cluster::start(1, FAST_BIDDERS).await;
    let (live, lots, tokens) = c.live_sale(2, 1).await;
    let op = Some(c.operator.as_str());
    let bidder = Some(tokens[0].as_str());
    let now = cluster_now(&c, 0).await;
    let (_, v) = c
        .post(
            &format!("{}/api/v1/sales", c.url(0)),
            op,
            json!({"title": "Timed", "currency": "EUR",
                   "mode": {"type": "timed", "opens_at_ms": now + 3_600_000, "closes_at_ms": now + 7_200_000, "stagger_ms": 0}}),
        )
        .await;
    let timed = v["sale"].as_u64().unwrap();
    let (_, v) = c
        .post(
            &sale_url(&c, 0, timed, "/lots"),
            op,
            json!({"lots": [{"title": "T", "start": "1.00"}]}),
        )
        .await;
    let timed_lot = v["lots"][0].as_u64().unwrap();
    let before = c.state_hash(0).await;

    let l = |what: &str| lot_url(&c, 0, lots[0], what);
    let s = |sale: u64, what: &str| sale_url(&c, 0, sale, what);
    let cases: Vec<(String, Option<&str>, Value, u16, &str)> = vec![
        // Unknown sale, lot, paddle.
        (
            s(999, "/desk"),
            op,
            json!({"name": "X"}),
            404,
            "unknown_sale",
        ),
        (
            lot_url(&c, 0, 999, "/phone-bids"),
            op,
            json!({"paddle": 1, "bid_id": "p", "line": 1}),
            404,
            "unknown_lot",
        ),
        (
            s(live, "/bidders/77/reissue"),
            op,
            json!({}),
            403,
            "not_registered",
        ),
        (
            s(live, "/bidders/77/details"),
            op,
            json!({"phone": "1"}),
            403,
            "not_registered",
        ),
        (
            s(999, "/pause"),
            op,
            json!({"reason": "r"}),
            404,
            "unknown_sale",
        ),
        // Wrong role.
        (
            s(live, "/desk"),
            bidder,
            json!({"name": "X"}),
            403,
            "forbidden",
        ),
        (
            s(live, "/desk"),
            None,
            json!({"name": "X"}),
            401,
            "unauthorized",
        ),
        (
            l("/phone-bids"),
            bidder,
            json!({"paddle": 1, "bid_id": "p", "line": 1}),
            403,
            "forbidden",
        ),
        (
            l("/commission-bids"),
            None,
            json!({"paddle": 1, "max": "20.00", "bid_id": "c"}),
            401,
            "unauthorized",
        ),
        (
            s(live, "/pause"),
            bidder,
            json!({"reason": "r"}),
            403,
            "forbidden",
        ),
        (s(live, "/resume"), bidder, json!({}), 403, "forbidden"),
        (
            l("/extend"),
            bidder,
            json!({"by_ms": 1000}),
            403,
            "forbidden",
        ),
        (
            s(live, "/bidders/1/reissue"),
            bidder,
            json!({}),
            403,
            "forbidden",
        ),
        // Wrong mode or state.
        (l("/extend"), op, json!({"by_ms": 1000}), 409, "wrong_mode"),
        (
            lot_url(&c, 0, timed_lot, "/extend"),
            op,
            json!({"by_ms": 1000}),
            409,
            "lot_not_open",
        ),
        (s(live, "/resume"), op, json!({}), 409, "pause_state"),
        // Malformed input.
        (
            l("/commission-bids"),
            op,
            json!({"paddle": 1, "max": "12.505", "bid_id": "c"}),
            400,
            "invalid_amount",
        ),
        (
            l("/commission-bids"),
            op,
            json!({"paddle": 1, "max": 12.5, "bid_id": "c"}),
            400,
            "bad_json",
        ),
        (
            l("/phone-bids"),
            op,
            json!({"paddle": 1, "amount": "-1.00", "bid_id": "p", "line": 1}),
            400,
            "invalid_amount",
        ),
        (
            l("/phone-bids"),
            op,
            json!({"paddle": 1, "bid_id": "p", "line": 0}),
            400,
            "invalid_input",
        ),
        (
            l("/phone-bids"),
            op,
            json!({"paddle": 1, "bid_id": "", "line": 1}),
            400,
            "invalid_bid_id",
        ),
        (
            l("/phone-bids"),
            op,
            json!({"paddle": 1, "bid_id": "p", "line": 1, "sale": 1}),
            400,
            "bad_json",
        ),
        (l("/extend"), op, json!({"by_ms": -5}), 400, "bad_json"),
        (
            s(live, "/pause"),
            op,
            json!({"reason": ""}),
            400,
            "invalid_input",
        ),
        (
            s(live, "/resume"),
            op,
            json!({"now": true}),
            400,
            "bad_json",
        ),
        (
            s(live, "/desk"),
            op,
            json!({"name": "X", "phone": "9".repeat(41)}),
            400,
            "invalid_input",
        ),
        (
            s(live, "/desk"),
            op,
            json!({"name": "X", "limit": "lots"}),
            400,
            "invalid_amount",
        ),
        (
            s(live, "/desk"),
            op,
            json!({"name": "X", "paddle": 1}),
            409,
            "duplicate",
        ),
        (
            s(live, "/sign-in"),
            None,
            json!({"code": "not a code"}),
            404,
            "unknown_sign_in",
        ),
        (
            s(live, "/sign-in"),
            None,
            json!({"code": "ABCDE-FGHJK"}),
            404,
            "unknown_sign_in",
        ),
    ];
    for (url, token, body, status, code) in cases {
        let (st, v) = c.post(&url, token, body.clone()).await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (status, Some(code)),
            "POST {url} {body}: {v}"
        );
    }
    // Editing a lot that has opened.
    let (st, v) = c
        .call(
            reqwest::Method::PUT,
            &l(""),
            op,
            Some(json!({"title": "New", "start": "1.00"})),
        )
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (409, Some("wrong_status")),
        "{v}"
    );
    assert_eq!(c.state_hash(0).await, before, "a refusal changed the state");

    // Refused bids: recorded as their id's first outcome (so a resend
    // learns it), and nothing else.
    let bid_refusals = [
        (
            l("/commission-bids"),
            json!({"paddle": 77, "max": "20.00", "bid_id": "c"}),
            403,
            "not_registered",
        ),
        (
            lot_url(&c, 0, timed_lot, "/phone-bids"),
            json!({"paddle": 1, "bid_id": "p", "line": 1}),
            409,
            "wrong_mode",
        ),
        (
            l("/phone-bids"),
            json!({"paddle": 1, "amount": "5.00", "bid_id": "low", "line": 2}),
            409,
            "too_low",
        ),
    ];
    for (url, body, status, code) in bid_refusals {
        let (st, v) = c.post(&url, op, body.clone()).await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (status, Some(code)),
            "POST {url} {body}: {v}"
        );
    }
    let (_, hist) = c.get(&l("/bids"), op).await;
    assert_eq!(hist["bids"].as_array().unwrap().len(), 0, "{hist}");

    // Duplicate ids: the first outcome again, one bid.
    let body = json!({"paddle": 1, "max": "30.00", "bid_id": "office-dup"});
    let (s1, a) = c.post(&l("/commission-bids"), op, body.clone()).await;
    let (s2, b) = c.post(&l("/commission-bids"), op, body).await;
    assert_eq!((s1, s2), (200, 200), "{a} {b}");
    assert_eq!(a["lot"], b["lot"], "the first outcome: {a} {b}");
    let (_, hist) = c.get(&l("/bids"), op).await;
    assert_eq!(hist["bids"].as_array().unwrap().len(), 1, "one bid: {hist}");
    assert_eq!(hist["bids"][0]["kind"], "commission", "{hist}");
    // An edit of a scheduled lot works and says so.
    let (st, v) = c
        .call(
            reqwest::Method::PUT,
            &lot_url(&c, 0, lots[1], ""),
            op,
            Some(json!({"title": "Renamed", "start": "12.00", "reserve": "40.00"})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (_, v) = c.get(&lot_url(&c, 0, lots[1], ""), op).await;
    assert_eq!(v["lot"]["title"], "Renamed");
    assert_eq!(
        v["terms"]["reserve"], 4000,
        "the operator sees the reserve: {v}"
    );
    let (_, v) = c.get(&lot_url(&c, 0, lots[1], ""), None).await;
    assert!(v.get("terms").is_none(), "{v}");
    c.pass();
}

/// Register on one's own for `sale` from the client address `from`.
async fn self_register(c: &Cluster, from: [u8; 4], sale: u64, name: &str) -> (u16, Value) {
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .unwrap();
    let r = http
        .post(sale_url(c, 0, sale, "/bidders"))
        .json(&json!({ "name": name }))
        .send()
        .await
        .expect("node answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_registration_is_throttled_and_the_desk_can_close_it() {
    let c = Cluster::start(
        1,
        &[
            "--limits-registrations-per-minute-per-address",
            "3",
            "--limits-registrations-per-minute-per-sale",
            "5",
        ],
    )
    .await;
    let op = Some(c.operator.as_str());
    let (sale, _, _) = c.live_sale(1, 0).await;
    let mut watcher = Ws::hello(&c.ws_url(0), None, None).await;
    watcher.subscribe(sale, None).await;

    // Per address: three a minute from 127.0.0.1, then 429.
    for i in 0..3 {
        let (s, v) = self_register(&c, [127, 0, 0, 1], sale, &format!("Walk-in {i}")).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["approved"], false, "{v}");
    }
    let (s, v) = self_register(&c, [127, 0, 0, 1], sale, "One too many").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{v}"
    );
    // Per sale: five a minute from all addresses together.
    for i in 0..2 {
        let (s, v) = self_register(&c, [127, 0, 0, 2], sale, &format!("Other {i}")).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = self_register(&c, [127, 0, 0, 2], sale, "Sale is full").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{v}"
    );
    // The desk is not throttled.
    let (s, v) = desk(&c, 0, sale, json!({"name": "At the desk"})).await;
    assert_eq!(s, 201, "{v}");
    let (_, list) = c.get(&sale_url(&c, 0, sale, "/bidders"), op).await;
    assert_eq!(list["bidders"].as_array().unwrap().len(), 6, "{list}");
    // Public events name nobody.
    within(watcher.until_event("the desk's bidder", |e| {
        e["event"]["type"] == "bidder_registered" && e["event"]["paddle"] == 6
    }))
    .await;
    let seen = serde_json::to_string(&watcher.seen).unwrap();
    assert!(
        !seen.contains("Walk-in") && !seen.contains("At the desk"),
        "{seen}"
    );

    // Staff close self-registration of a second sale: anonymous sign-ups
    // are refused, the desk still registers, and reopening works.
    let (sale2, _, _) = c.live_sale(1, 0).await;
    let (s, bidder) = desk(&c, 0, sale2, json!({"name": "Desk bidder"})).await;
    assert_eq!(s, 201, "{bidder}");
    let bidder_token = redeem(&c, 0, sale2, bidder["sign_in"]["code"].as_str().unwrap()).await;
    let toggle = sale_url(&c, 0, sale2, "/self-registration");
    let (s, v) = c
        .post(&toggle, Some(&bidder_token), json!({"open": false}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    let (s, v) = c.post(&toggle, op, json!({"open": false})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sale"]["self_registration"], false, "{v}");
    let (s, v) = self_register(&c, [127, 0, 0, 3], sale2, "Too late").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("registration_closed")),
        "{v}"
    );
    let (s, v) = desk(&c, 0, sale2, json!({"name": "Still at the desk"})).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = c.post(&toggle, op, json!({"open": true})).await;
    assert_eq!(
        (s, v["sale"]["self_registration"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    let (s, v) = self_register(&c, [127, 0, 0, 3], sale2, "Welcome back").await;
    assert_eq!(s, 201, "{v}");
    c.pass();
}
