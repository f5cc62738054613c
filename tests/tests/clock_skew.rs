//! Time is a cluster fact (issue 10), tried on real processes with Debian's
//! libfaketime: node 2's wall clock is 10 minutes fast, node 3's 10 minutes
//! slow, and each is made leader in turn while a timed sale closes. Then
//! node 3 restarts with its clock in 2001 and leads a last lot.
//!
//! Checked against this test's own (true) clock:
//! - every lot closes within 1 s of its announced end;
//! - no bid is refused as late before the end, none accepted after it
//!   (1 s of slack each way for the clock estimate and the round trip);
//! - every node serves the same server time, the clock the pages run their
//!   countdowns on (`/api/v1/time` and the WebSocket `pong`), within 1 s;
//! - the skewed nodes are flagged in `/api/v1/time`, `/metrics` and
//!   `/api/v1/cluster`, and the true one is not.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use paddle_tests::{faketime_env, wall_ms, Api, Cluster, SETTLE};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Slack for "on time": the clock estimate (milliseconds) plus a commit
/// round trip on a loaded two-core machine.
const SLACK_MS: f64 = 1_000.0;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_paddle"))
}

/// One bid as this test saw it.
#[derive(Debug, Clone)]
struct Sent {
    lot: u64,
    sent_ms: f64,
    answered_ms: f64,
    outcome: String,
    code: String,
}

/// Wait until every node agrees on time and serves this process's clock
/// within the slack.
async fn wait_time_agreed(c: &Cluster, nodes: &[usize]) {
    let started = Instant::now();
    loop {
        let mut ok = true;
        let mut seen = Vec::new();
        for &i in nodes {
            match c.api.time(&c.url(i)).await {
                Ok((t, skew)) => {
                    ok &= t.agreed && t.synced && skew.abs() < SLACK_MS;
                    seen.push((i, t.agreed, skew.round()));
                }
                Err(e) => {
                    ok = false;
                    seen.push((i, false, f64::NAN));
                    eprintln!("time from node {i}: {e}");
                }
            }
        }
        if ok {
            return;
        }
        assert!(
            started.elapsed() < SETTLE,
            "the nodes never agreed on time: (node, agreed, server - true ms) {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The skew flags of `/api/v1/time`, `/metrics` and `/api/v1/cluster`:
/// `expect` is `(node, offset ms, tolerance ms)`; a node is flagged iff its
/// offset is over the 1 s bound.
async fn check_flags(c: &Cluster, expect: &[(usize, f64, f64)]) {
    let started = Instant::now();
    loop {
        let mut problems = Vec::new();
        for &(i, offset, tol) in expect {
            let skewed = offset.abs() > 1_000.0;
            let (t, _) = c.api.time(&c.url(i)).await.expect("time");
            if t.skewed != skewed || t.offset_ms.is_none_or(|o| (o - offset).abs() > tol) {
                problems.push(format!(
                    "node {i} /api/v1/time: {t:?}, expected offset {offset}"
                ));
            }
            let gauge = c.metric(i, "paddle_clock_skewed").await.unwrap_or(9);
            if gauge != u64::from(skewed) {
                problems.push(format!("node {i} paddle_clock_skewed {gauge}"));
            }
            let id = c.nodes[i].id.expect("id known");
            for &(j, _, _) in expect {
                let status = c.status(j).await.expect("cluster status");
                let row = status.nodes.iter().find(|n| n.id == id).expect("row");
                if row.clock_skewed != skewed
                    || row.clock_offset_ms.is_none_or(|o| (o - offset).abs() > tol)
                {
                    problems.push(format!(
                        "node {j}'s cluster status says of node {i}: {:?} {:?}",
                        row.clock_skewed, row.clock_offset_ms
                    ));
                }
            }
        }
        if problems.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < SETTLE,
            "skew flags wrong: {problems:#?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Hand leadership to node `i` and wait until every node names it.
async fn make_leader(c: &Cluster, i: usize, all: &[usize]) {
    let id = c.nodes[i].id.expect("id");
    let r = c
        .api
        .post(
            &format!("{}/api/v1/cluster/nodes/{id}/lead", c.url(0)),
            json!({}),
        )
        .await
        .expect("lead");
    assert_eq!(r.status, 200, "hand leadership to node {id}: {:?}", r.body);
    let l = c.wait_leader(all).await.expect("a leader");
    assert_eq!(l, i, "node {} leads instead", c.nodes[l].name);
}

/// A timed sale of `ends.len()` lots, lot k closing at `ends[k]` (true ms),
/// with `bidders` approved bidders: `(sale, lots, tokens)`.
async fn timed_sale(
    c: &Cluster,
    opens: f64,
    close: f64,
    stagger: u64,
    lots: usize,
    bidders: usize,
) -> (u64, Vec<u64>, Vec<String>) {
    let base = c.url(0);
    let r = c
        .api
        .post(
            &format!("{base}/api/v1/sales"),
            json!({"title": "Clock sale", "currency": "EUR", "premium_bp": 0,
                   "increments": [{"from": "0", "increment": "0.50"}],
                   "mode": {"type": "timed", "opens_at_ms": opens as u64,
                            "closes_at_ms": close as u64, "stagger_ms": stagger}}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{:?}", r.body);
    let sale = r.body["sale"].as_u64().unwrap();
    let specs: Vec<Value> = (0..lots)
        .map(|i| json!({"title": format!("Lot {i}"), "start": "10.00"}))
        .collect();
    let r = c
        .api
        .post(
            &format!("{base}/api/v1/sales/{sale}/lots"),
            json!({ "lots": specs }),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{:?}", r.body);
    let lot_ids = r.body["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let mut tokens = Vec::new();
    for i in 0..bidders {
        let r = c
            .api
            .post(
                &format!("{base}/api/v1/sales/{sale}/bidders"),
                json!({"name": format!("Bidder {i}"), "approved": true}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{:?}", r.body);
        tokens.push(r.body["token"].as_str().unwrap().to_string());
    }
    (sale, lot_ids, tokens)
}

/// A bidder on node `url` that keeps bidding the asking price on whichever
/// lot ends next (from 2.5 s before its end to 1.5 s after), every 100 ms,
/// until `stop_ms`.
async fn bidder(
    api: Api,
    url: String,
    who: usize,
    lots: Vec<(u64, f64)>,
    stop_ms: f64,
    log: Arc<Mutex<Vec<Sent>>>,
) {
    let mut minimum: std::collections::HashMap<u64, String> = Default::default();
    let mut n = 0u64;
    while wall_ms() < stop_ms {
        let now = wall_ms();
        let target = lots
            .iter()
            .find(|(_, end)| now >= end - 2_500.0 && now <= end + 1_500.0)
            .copied();
        let Some((lot, _)) = target else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        n += 1;
        let max = minimum.get(&lot).cloned().unwrap_or_else(|| "10.00".into());
        let sent_ms = wall_ms();
        let reply = api
            .post(
                &format!("{url}/api/v1/lots/{lot}/bids"),
                json!({"bid_id": format!("w{who}-{n}"), "max": max}),
            )
            .await;
        let answered_ms = wall_ms();
        if let Ok(r) = reply {
            let result = if r.status == 200 {
                &r.body
            } else {
                &r.body["bid_result"]
            };
            let outcome = result["outcome"].as_str().unwrap_or("").to_string();
            let code = result["code"].as_str().unwrap_or("").to_string();
            let next = result["lot"]["minimum_next"]
                .as_u64()
                .or(result["reason"]["minimum"].as_u64());
            if let Some(next) = next {
                minimum.insert(lot, format!("{}.{:02}", next / 100, next % 100));
            }
            log.lock().unwrap().push(Sent {
                lot,
                sent_ms,
                answered_ms,
                outcome,
                code,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every `sold`/`passed` event of `sale` seen on node `url`'s WebSocket:
/// `(lot, stamp_ms, arrival on this process's clock)`.
async fn watch_closes(
    url: String,
    sale: u64,
    until_ms: f64,
    out: Arc<Mutex<Vec<(u64, u64, f64)>>>,
) {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws", url.trim_start_matches("http://")))
            .await
            .expect("ws");
    use futures::SinkExt;
    ws.send(Message::Text(json!({"type": "hello"}).to_string().into()))
        .await
        .unwrap();
    ws.send(Message::Text(
        json!({"type": "subscribe", "sale": sale})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    while wall_ms() < until_ms {
        let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_millis(500), ws.next()).await
        else {
            continue;
        };
        let arrival = wall_ms();
        let v: Value = serde_json::from_str(&t).unwrap();
        let records: Vec<Value> = match v["type"].as_str() {
            Some("event") => vec![v.clone()],
            Some("events") => v["events"].as_array().cloned().unwrap_or_default(),
            _ => continue,
        };
        for r in records {
            if matches!(r["event"]["type"].as_str(), Some("sold" | "passed")) {
                let lot = r["event"]["lot"].as_u64().unwrap();
                out.lock()
                    .unwrap()
                    .push((lot, r["stamp_ms"].as_u64().unwrap(), arrival));
            }
        }
    }
}

/// Poll every node's server time until `until_ms`, over REST and over the
/// WebSocket `ping`/`pong` the pages run their countdowns on: the worst gap
/// from this process's clock per node.
async fn watch_server_time(api: Api, urls: Vec<String>, until_ms: f64) -> Vec<f64> {
    use futures::SinkExt;
    let mut worst = vec![0.0f64; urls.len()];
    let mut sockets = Vec::new();
    let mut pings = 0u64;
    for u in &urls {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!(
            "ws://{}/ws",
            u.trim_start_matches("http://")
        ))
        .await
        .expect("ws");
        ws.send(Message::Text(json!({"type": "hello"}).to_string().into()))
            .await
            .unwrap();
        sockets.push(ws);
    }
    while wall_ms() < until_ms {
        for (k, u) in urls.iter().enumerate() {
            if let Ok((_, skew)) = api.time(u).await {
                worst[k] = worst[k].max(skew.abs());
            }
            let ws = &mut sockets[k];
            pings += 1;
            let sent = wall_ms();
            ws.send(Message::Text(
                json!({"type": "ping", "client_time": pings})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
            loop {
                let t = match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => t,
                    Ok(Some(Ok(_))) => continue,
                    other => panic!("no pong from {u}: {other:?}"),
                };
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "pong" && v["client_time"].as_u64() == Some(pings) {
                    let mid = (sent + wall_ms()) / 2.0;
                    let skew = v["server_time_ms"].as_f64().unwrap() - mid;
                    worst[k] = worst[k].max(skew.abs());
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    worst
}

/// Run bidders against `lots` (ending at the given true times) on every
/// node in `nodes`, switching the leader to `leaders[k]` before lot k's end;
/// then check every answer, every close and every node's server time.
async fn run_sale(
    c: &Cluster,
    nodes: &[usize],
    leaders: &[(usize, f64)],
    sale: u64,
    lots: &[(u64, f64)],
    tokens: &[String],
) {
    let last_end = lots.iter().map(|l| l.1).fold(0.0, f64::max);
    let stop = last_end + 2_000.0;
    let log = Arc::new(Mutex::new(Vec::new()));
    let closes = Arc::new(Mutex::new(Vec::new()));
    let watcher = tokio::spawn(watch_closes(c.url(0), sale, stop + 1_000.0, closes.clone()));
    let clocks = tokio::spawn(watch_server_time(
        c.api.clone(),
        nodes.iter().map(|i| c.url(*i)).collect(),
        stop,
    ));
    let mut tasks = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        let url = c.url(nodes[k % nodes.len()]);
        tasks.push(tokio::spawn(bidder(
            c.api.with_token(token),
            url,
            k,
            lots.to_vec(),
            stop,
            log.clone(),
        )));
    }
    for &(leader, at) in leaders {
        let wait = at - wall_ms();
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        make_leader(c, leader, nodes).await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    let worst = clocks.await.unwrap();
    watcher.await.unwrap();

    for (k, w) in worst.iter().enumerate() {
        assert!(
            *w < SLACK_MS,
            "node {}'s server time was {w:.0} ms off the true time",
            c.nodes[nodes[k]].name
        );
    }
    let log = log.lock().unwrap().clone();
    let closes = closes.lock().unwrap().clone();
    for &(lot, end) in lots {
        let mine: Vec<&Sent> = log.iter().filter(|s| s.lot == lot).collect();
        let accepted = mine.iter().filter(|s| s.outcome == "accepted").count();
        let late = mine.iter().filter(|s| s.code == "lot_closed").count();
        assert!(
            accepted > 0 && late > 0,
            "lot {lot}: {accepted} accepted, {late} refused as late: not a real test"
        );
        for s in &mine {
            if s.code == "lot_closed" {
                assert!(
                    s.answered_ms >= end - SLACK_MS,
                    "lot {lot} refused a bid as late {:.0} ms before its end: {s:?}",
                    end - s.answered_ms
                );
            }
            if s.outcome == "accepted" {
                assert!(
                    s.sent_ms <= end + SLACK_MS,
                    "lot {lot} accepted a bid sent {:.0} ms after its end: {s:?}",
                    s.sent_ms - end
                );
            }
        }
        let (_, stamp, arrival) = closes
            .iter()
            .find(|(l, _, _)| *l == lot)
            .copied()
            .unwrap_or_else(|| panic!("lot {lot} never closed; closes seen: {closes:?}"));
        assert!(
            (stamp as f64 - end).abs() <= SLACK_MS && (arrival - end).abs() <= SLACK_MS + 1_000.0,
            "lot {lot} closed at stamp {stamp} (arrived {arrival:.0}) for an end at {end:.0}"
        );
        eprintln!(
            "lot {lot}: {} bids, {accepted} accepted, {late} refused as late; close stamp {:+.0} ms from the end",
            mine.len(),
            stamp as f64 - end
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deadlines_follow_cluster_time_whoever_leads() {
    let args = [
        "--limits-bids-per-second-per-bidder",
        "50",
        "--limits-bids-per-second-per-connection",
        "50",
    ];
    let mut c = Cluster::start(bin(), 1, &args).await.expect("bootstrap");
    let fast = c
        .join_with_env(0, &args, faketime_env("+600s").unwrap())
        .await
        .expect("fast joins");
    let slow = c
        .join_with_env(0, &args, faketime_env("-600s").unwrap())
        .await
        .expect("slow joins");
    let all = [0, fast, slow];
    wait_time_agreed(&c, &all).await;
    check_flags(
        &c,
        &[
            (0, 0.0, 500.0),
            (fast, 600_000.0, 500.0),
            (slow, -600_000.0, 500.0),
        ],
    )
    .await;

    // Four lots ending 12, 16, 20 and 24 s from now: the fast node leads
    // through the first two ends, the slow one through the last two.
    let now = wall_ms();
    let (sale, lot_ids, tokens) = timed_sale(&c, now, now + 12_000.0, 4_000, 4, 6).await;
    let lots: Vec<(u64, f64)> = lot_ids
        .iter()
        .enumerate()
        .map(|(k, l)| (*l, now + 12_000.0 + 4_000.0 * k as f64))
        .collect();
    make_leader(&c, fast, &all).await;
    run_sale(&c, &all, &[(slow, lots[1].1 + 800.0)], sale, &lots, &tokens).await;

    // Node 3 starts again with its clock in 2001 (a flat clock battery):
    // it rejoins, is flagged, and leads one more lot to a close on time.
    c.nodes[slow].kill9();
    c.nodes[slow].env = faketime_env("@2001-01-01 00:00:00").unwrap();
    // Its clock reads 2001-01-01 00:00:00 when it starts, and runs.
    let years = 978_307_200_000.0 - wall_ms();
    c.restart(&[slow]).await.expect("node 3 restarts in 2001");
    wait_time_agreed(&c, &all).await;
    check_flags(
        &c,
        &[
            (0, 0.0, 500.0),
            (fast, 600_000.0, 500.0),
            (slow, years, 3_000.0),
        ],
    )
    .await;
    make_leader(&c, slow, &all).await;
    let now = wall_ms();
    let (sale, lot_ids, tokens) = timed_sale(&c, now, now + 8_000.0, 0, 1, 3).await;
    run_sale(&c, &all, &[], sale, &[(lot_ids[0], now + 8_000.0)], &tokens).await;
    c.pass();
}
