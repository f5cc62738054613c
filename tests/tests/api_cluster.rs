//! The public API over a real 3-node cluster: a bid through a follower's
//! WebSocket is committed and seen with the same index by watchers on the
//! other nodes; the same bid id through two nodes makes one bid; a client
//! of a killed node resumes on another with `since` and sees every event
//! exactly once, in order; a node cut off from the others says it is stale
//! and refuses bids with `no_quorum`; each node's `/metrics` times the
//! stages of a forwarded bid's path where they happen.

mod api_support;

use api_support::{events_in, key, Cluster, Ws};
use serde_json::{json, Value};

/// Room for a test's quick succession of bids.
const FAST_BIDDERS: &[&str] = &[
    "--limits-bids-per-second-per-bidder",
    "100",
    "--limits-bids-per-second-per-connection",
    "100",
];

/// Index of a node that is not the leader.
async fn follower(c: &Cluster) -> usize {
    let (_, st) = c.get(&format!("{}/api/v1/cluster", c.url(0)), None).await;
    let leader = st["leader"].as_u64().expect("a leader");
    let rows = st["nodes"].as_array().unwrap();
    let pos = rows
        .iter()
        .position(|r| r["id"].as_u64() == Some(leader))
        .unwrap();
    // Nodes were started in id order (1, 2, 3).
    (pos + 1) % 3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bids_through_followers_reach_every_node_once_and_resume_is_exact() {
    let mut c = Cluster::start(3, FAST_BIDDERS).await;
    let (sale, lots, tokens) = c.live_sale(1, 2).await;
    let lot = lots[0];
    let f = follower(&c).await;
    let others: Vec<usize> = (0..3).filter(|i| *i != f).collect();

    // Watchers on the two other nodes; the one on `victim` will be killed.
    let victim = others[1];
    let mut w_stay = Ws::hello(&c.ws_url(others[0]), None, None).await;
    let mut w_victim = Ws::hello(&c.ws_url(victim), None, None).await;
    w_stay.subscribe(sale, None).await;
    let start = w_victim.subscribe(sale, None).await["index"]
        .as_u64()
        .unwrap();

    // A bid through the follower's WebSocket.
    let mut bidder = Ws::hello(&c.ws_url(f), Some(&tokens[0]), None).await;

    // The cluster list, asked of any node, counts each node's WebSockets.
    let (_, st) = c.get(&format!("{}/api/v1/cluster", c.url(f)), None).await;
    for row in st["nodes"].as_array().unwrap() {
        assert_eq!(row["clients"], 1, "one connection on each node: {st}");
    }

    let r = bidder.bid("f-1", lot, json!("15.00")).await;
    assert_eq!(r["outcome"], "accepted", "{r}");
    let index = r["index"].as_u64().unwrap();
    for w in [&mut w_stay, &mut w_victim] {
        let ev = w
            .until_event("the bid's event", |v| v["event"]["type"] == "bid_accepted")
            .await;
        assert_eq!(ev["index"].as_u64(), Some(index), "{ev}");
        assert_eq!(ev["event"]["paddle"], r["lot"]["leader"]);
    }

    // The same bid id through two different nodes: one bid.
    let body = json!({"bid_id": "twice", "max": "40.00"});
    let url_a = format!("{}/api/v1/lots/{lot}/bids", c.url(others[0]));
    let url_b = format!("{}/api/v1/lots/{lot}/bids", c.url(f));
    let (a, b) = tokio::join!(
        c.post(&url_a, Some(&tokens[1]), body.clone()),
        c.post(&url_b, Some(&tokens[1]), body.clone())
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    assert_eq!(a.1["outcome"], "accepted");
    assert_eq!(
        a.1["lot"], b.1["lot"],
        "both answers are the one bid's outcome"
    );
    let (_, hist) = c
        .get(
            &format!(
                "{}/api/v1/lots/{lot}/bids?consistency=linearizable",
                c.url(f)
            ),
            None,
        )
        .await;
    let from_p2 = hist["bids"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["paddle"] == a.1["lot"]["leader"])
        .count();
    assert_eq!(from_p2, 1, "one bid for one bid id: {hist}");
    // Each bidder reads their own standing maximum, and only their own.
    for (token, max) in [(&tokens[0], 1500), (&tokens[1], 4000)] {
        let (_, me) = c.get(&format!("{}/api/v1/me", c.url(f)), Some(token)).await;
        assert_eq!(me["maxes"], json!([{"lot": lot, "max": max}]), "{me}");
    }

    // Kill the victim's node while bids go on; its watcher resumes on
    // another node with `since` = the last index it saw.
    let seen_before = events_in(&w_victim.seen);
    let last = seen_before.last().map(key).map(|k| k.0).unwrap_or(start);
    c.kill(victim);
    let mut price = 41;
    let mut last_bid = 0;
    for i in 0..5 {
        let r = bidder
            .bid(&format!("after-{i}"), lot, json!(format!("{price}.00")))
            .await;
        assert_eq!(r["outcome"], "accepted", "{r}");
        last_bid = r["index"].as_u64().unwrap();
        price += 5;
    }
    let mut resumed = Ws::hello(&c.ws_url(f), None, Some(last)).await;
    resumed.subscribe(sale, Some(last)).await;
    // The bid's result comes from the leader once committed; this node may
    // apply it a moment later, and then pushes the event live.
    let reached = |e: &serde_json::Value| e["index"].as_u64() >= Some(last_bid);
    if !events_in(&resumed.seen).iter().any(reached) {
        resumed.until_event("the last bid's event", reached).await;
    }
    let mut all: Vec<(u64, u64)> = seen_before.iter().map(key).collect();
    all.extend(events_in(&resumed.seen).iter().map(key));
    assert!(
        all.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicates: {all:?}"
    );
    // Exactly the stored stream of the sale since the first subscription.
    let (_, stored) = c
        .get(
            &format!(
                "{}/api/v1/sales/{sale}/events?since={start}&consistency=linearizable",
                c.url(f)
            ),
            None,
        )
        .await;
    let want: Vec<(u64, u64)> = stored["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(key)
        .collect();
    assert_eq!(all, want, "every event exactly once");
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_node_reports_stale_and_refuses_bids_with_no_quorum() {
    let mut c = Cluster::start(3, &[]).await;
    let (sale, lots, tokens) = c.live_sale(1, 1).await;
    let lonely = 2;
    let mut ws = Ws::hello(&c.ws_url(lonely), Some(&tokens[0]), None).await;
    let status = ws.expect("node_status").await;
    assert_eq!(status["stale"], false, "{status}");
    ws.subscribe(sale, None).await;

    c.kill(0);
    c.kill(1);
    let stale = ws
        .until("a stale node_status", |v| {
            v["type"] == "node_status" && v["stale"] == true
        })
        .await;
    assert!(stale["applied_index"].as_u64().unwrap() > 0, "{stale}");

    let r = ws.bid("lonely-1", lots[0], json!("20.00")).await;
    assert_eq!(
        (r["outcome"].as_str(), r["code"].as_str()),
        (Some("rejected"), Some("no_quorum")),
        "{r}"
    );
    let (s, v) = c
        .post(
            &format!("{}/api/v1/lots/{}/bids", c.url(lonely), lots[0]),
            Some(&tokens[0]),
            json!({"bid_id": "lonely-2", "max": "20.00"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (503, Some("no_quorum")),
        "{v}"
    );

    // Reads still work, marked stale, "as of" the last index.
    let r = c
        .http
        .get(format!("{}/api/v1/sales/{sale}", c.url(lonely)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["paddle-stale"], "true");
    let v: Value = r.json().await.unwrap();
    assert!(v["applied_index"].as_u64().unwrap() > 0);

    // "t seconds ago" keeps counting while stale.
    let later = ws
        .until("a later stale status", |v| {
            v["type"] == "node_status"
                && v["leader_contact_secs"].as_f64() > stale["leader_contact_secs"].as_f64()
        })
        .await;
    assert_eq!(later["stale"], true);
    c.pass();
}

/// A write through one follower is never judged on a view older than what
/// another node just committed (issue 10): create a sale through one node
/// and at once add lots, register a bidder and bid through the others, ten
/// times over, with and without the client's last index
/// (`Paddle-Min-Index`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_followers_see_what_another_node_just_created() {
    let c = Cluster::start(3, FAST_BIDDERS).await;
    let op = Some(c.operator.as_str());
    for round in 0..10 {
        let (a, b, d) = (round % 3, (round + 1) % 3, (round + 2) % 3);
        let (s, v) = c
            .post(
                &format!("{}/api/v1/sales", c.url(a)),
                op,
                json!({"title": format!("Race {round}"), "currency": "EUR", "mode": {"type": "live"},
                       "increments": [{"from": "0", "increment": "1.00"}]}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let sale = v["sale"].as_u64().unwrap();
        let created_at = v["index"].as_u64().unwrap();
        // Half the rounds carry the index the client saw; half rely on the
        // node looking again before it refuses.
        let mut req = c
            .http
            .post(format!("{}/api/v1/sales/{sale}/lots", c.url(b)))
            .bearer_auth(&c.operator)
            .json(&json!({"lots": [{"title": "Lot", "start": "10.00"}]}));
        if round % 2 == 0 {
            req = req.header("Paddle-Min-Index", created_at.to_string());
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "round {round}: lots added through node {b} right after the sale was made through node {a}: {v}");
        let lot = v["lots"][0].as_u64().unwrap();
        let (s, v) = c
            .post(
                &format!("{}/api/v1/sales/{sale}/bidders", c.url(d)),
                op,
                json!({"name": "Racer", "approved": true}),
            )
            .await;
        assert_eq!(s, 201, "round {round}: {v}");
        let token = v["token"].as_str().unwrap().to_string();
        let (s, v) = c
            .post(
                &format!("{}/api/v1/lots/{lot}/open", c.url(a)),
                op,
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "round {round}: {v}");
        // The new bidder's token, at once, on a node that did not register it.
        let (s, v) = c
            .post(
                &format!("{}/api/v1/lots/{lot}/bids", c.url(b)),
                Some(&token),
                json!({"bid_id": format!("race-{round}"), "max": "10.00"}),
            )
            .await;
        assert_eq!(
            s, 200,
            "round {round}: bid through node {b} with a token registered through node {d}: {v}"
        );
        // A clerk token made through one node is revoked through another at once.
        let (s, v) = c
            .post(
                &format!("{}/api/v1/clerks", c.url(d)),
                op,
                json!({"label": format!("Clerk {round}")}),
            )
            .await;
        assert_eq!(s, 201, "round {round}: {v}");
        let id = v["id"].as_str().unwrap().to_string();
        let (s, v) = c
            .post(
                &format!("{}/api/v1/clerks/{id}/revoke", c.url(a)),
                op,
                json!({}),
            )
            .await;
        assert_eq!(
            s, 200,
            "round {round}: revoke through node {a} of a token made through node {d}: {v}"
        );
    }
    // Bad input changes nothing: a malformed index is refused.
    let (s, _) = c
        .call(
            reqwest::Method::POST,
            &format!("{}/api/v1/sales?min_index=soon", c.url(0)),
            op,
            Some(
                json!({"title": "x", "currency": "EUR", "mode": {"type": "live"},
                        "increments": [{"from": "0", "increment": "1.00"}]}),
            ),
        )
        .await;
    assert_eq!(s, 400);
    c.pass();
}

/// `paddle_stage_seconds{stage}` counts from node `i`'s `/metrics`, with
/// each histogram checked for shape: cumulative buckets that end at the
/// count.
async fn stage_counts(c: &Cluster, i: usize) -> std::collections::BTreeMap<String, u64> {
    let (status, text) = c.get(&format!("{}/metrics", c.url(i)), None).await;
    assert_eq!(status, 200);
    let text = text.as_str().expect("Prometheus text").to_string();
    let mut counts = std::collections::BTreeMap::new();
    let mut buckets: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("paddle_stage_seconds_") else {
            continue;
        };
        let (kind, rest) = rest.split_once("{stage=\"").expect("a stage label");
        let (stage, rest) = rest.split_once('"').unwrap();
        let value: u64 = rest.rsplit_once(' ').unwrap().1.parse().unwrap_or(0);
        match kind {
            "count" => {
                counts.insert(stage.to_string(), value);
            }
            "bucket" => buckets.entry(stage.to_string()).or_default().push(value),
            _ => {}
        }
    }
    for (stage, b) in &buckets {
        assert!(b.windows(2).all(|w| w[0] <= w[1]), "{stage}: {b:?}");
        assert_eq!(b.last(), counts.get(stage), "{stage}: +Inf is the count");
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_metrics_follow_a_forwarded_bid_through_every_node() {
    let c = Cluster::start(3, FAST_BIDDERS).await;
    let (sale, lots, tokens) = c.live_sale(1, 1).await;
    let f = follower(&c).await;
    let (_, st) = c.get(&format!("{}/api/v1/cluster", c.url(0)), None).await;
    let leader = (st["leader"].as_u64().unwrap() - 1) as usize;
    let before: Vec<_> = futures::future::join_all((0..3).map(|i| stage_counts(&c, i))).await;
    let expected = [
        "forward",
        "batch_wait",
        "raft_write",
        "log_write",
        "disk_flush",
        "append_rpc",
        "apply",
        "state_write",
        "publish",
    ];
    for (i, counts) in before.iter().enumerate() {
        let names: Vec<&str> = counts.keys().map(String::as_str).collect();
        let mut want = expected.to_vec();
        want.sort();
        assert_eq!(names, want, "node {i} lists every stage");
    }

    let mut bidder = Ws::hello(&c.ws_url(f), Some(&tokens[0]), None).await;
    let r = bidder.bid("staged-1", lots[0], json!("15.00")).await;
    assert_eq!(r["outcome"], "accepted", "{r}");
    let index = r["index"].as_u64().unwrap();
    for i in 0..3 {
        let (s, v) = c
            .get(
                &format!("{}/api/v1/sales/{sale}?consistency=linearizable", c.url(i)),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert!(v["applied_index"].as_u64() >= Some(index), "{v}");
    }
    let after: Vec<_> = futures::future::join_all((0..3).map(|i| stage_counts(&c, i))).await;
    let grew = |i: usize, stage: &str| after[i][stage] > before[i][stage];
    assert!(grew(f, "forward"), "the follower forwarded the bid");
    for stage in ["batch_wait", "raft_write", "append_rpc"] {
        assert!(grew(leader, stage), "the leader's {stage} counted the bid");
    }
    for i in 0..3 {
        for stage in ["log_write", "apply", "publish"] {
            assert!(grew(i, stage), "node {i}'s {stage} counted the bid's entry");
        }
        // The state writer writes after the apply, gathering what follows
        // within 10 ms into the same sled batch: wait for it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while stage_counts(&c, i).await["state_write"] <= before[i]["state_write"] {
            assert!(
                std::time::Instant::now() < deadline,
                "node {i}'s state_write counted the bid's entry"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // `disk_flush` (sled's flusher) is no longer on a commit's path:
        // it runs after 500 ms idle and for votes and purges, so one bid
        // need not move it.
    }
    c.pass();
}
