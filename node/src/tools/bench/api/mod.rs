//! `paddle bench api`: WebSocket bidders and watchers over a local cluster
//! of real node processes.
//!
//! 1. Start N nodes (separate processes) and a timed sale with one lot per
//!    pair of bidders, open now.
//! 2. Connect M watchers round-robin over the nodes; each says `hello` and
//!    subscribes to the sale.
//! 3. Bidders (round-robin over the nodes) bid at the offered rate for the
//!    run's seconds: the two bidders of a lot raise each other by a cent.
//!    Measured: committed bids/s (every `bid_result` that reached the log,
//!    accepted or rejected), bid → `bid_result` latency, and bid → watcher
//!    latency (a sample of watchers on every node time each `bid_accepted`
//!    against the send time of that bidder's latest bid).
//! 4. Top the watchers up to 10 000 (idle, subscribed); the node-1 memory
//!    growth divided by its new connections is the memory per idle
//!    connection. Then one bid: the time until each of the 10 000 watchers
//!    has its event.
//!
//! It measures and reports; it asserts nothing.

pub(crate) mod local;

use std::collections::HashMap;
use std::fmt;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::stream::{self, StreamExt};
use futures::SinkExt;
use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::cli::BenchApiArgs;

/// Watchers for the fan-out measurement.
pub const FANOUT_WATCHERS: usize = 10_000;
/// Watchers per node whose every event is timed.
const SAMPLED_PER_NODE: usize = 20;

/// What `paddle bench api` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub nodes: usize,
    pub bidders: usize,
    pub watchers: usize,
    pub offered_bids_per_second: u32,
    pub seconds: f64,
    pub committed_bids_per_second: f64,
    pub accepted: u64,
    pub rejected: u64,
    pub unknown: u64,
    pub bid_result_p50_ms: f64,
    pub bid_result_p99_ms: f64,
    pub watcher_latency_p50_ms: f64,
    pub watcher_latency_p99_ms: f64,
    pub watcher_samples: u64,
    pub idle_connections_on_node_1: usize,
    pub bytes_per_idle_connection: f64,
    pub fanout_watchers: usize,
    pub fanout_received: usize,
    pub fanout_commit_ms: f64,
    pub fanout_p50_ms: f64,
    pub fanout_last_ms: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "paddle bench api: {} nodes, {} bidders, {} watchers, offered {} bids/s for {:.1} s",
            self.nodes, self.bidders, self.watchers, self.offered_bids_per_second, self.seconds
        )?;
        writeln!(
            f,
            "  committed bids/s           {:>10.1}  (accepted {}, rejected {}, unknown {})",
            self.committed_bids_per_second, self.accepted, self.rejected, self.unknown
        )?;
        writeln!(
            f,
            "  bid -> bid_result          p50 {:>7.2} ms   p99 {:>7.2} ms",
            self.bid_result_p50_ms, self.bid_result_p99_ms
        )?;
        writeln!(
            f,
            "  bid -> watcher (all nodes) p50 {:>7.2} ms   p99 {:>7.2} ms   ({} samples)",
            self.watcher_latency_p50_ms, self.watcher_latency_p99_ms, self.watcher_samples
        )?;
        writeln!(f, "  memory per idle connection {:>10.0} bytes ({:.1} KiB, over {} connections of node 1)",
            self.bytes_per_idle_connection, self.bytes_per_idle_connection / 1024.0, self.idle_connections_on_node_1)?;
        writeln!(f, "  one update to {} watchers: committed after {:.2} ms, p50 {:.2} ms, last {:.2} ms ({} received)",
            self.fanout_watchers, self.fanout_commit_ms, self.fanout_p50_ms, self.fanout_last_ms, self.fanout_received)
    }
}

/// Shared by bidders and watchers.
#[derive(Default)]
struct Shared {
    /// `(lot, paddle)` → when that bidder last sent a bid.
    sent: Mutex<HashMap<(u64, u64), Instant>>,
    watcher_us: Mutex<Option<Histogram<u64>>>,
    result_us: Mutex<Option<Histogram<u64>>>,
    accepted: AtomicU64,
    rejected: AtomicU64,
    unknown: AtomicU64,
    /// Set for the fan-out bid: watchers report the first `bid_accepted`.
    armed: AtomicBool,
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds")
}

fn record(h: &Mutex<Option<Histogram<u64>>>, us: u64) {
    let mut g = h.lock().unwrap_or_else(|p| p.into_inner());
    let _ = g.get_or_insert_with(hist).record(us.max(1));
}

fn quantile_ms(h: &Mutex<Option<Histogram<u64>>>, q: f64) -> (f64, u64) {
    let g = h.lock().unwrap_or_else(|p| p.into_inner());
    g.as_ref().map_or((0.0, 0), |h| {
        (h.value_at_quantile(q) as f64 / 1000.0, h.len())
    })
}

/// One watcher: subscribe, then read forever; a sampled one times every
/// `bid_accepted`, every one reports its first event after `armed`.
async fn watcher(
    node: std::net::SocketAddr,
    i: usize,
    sale: u64,
    since: Option<u64>,
    sampled: bool,
    shared: Arc<Shared>,
    fanout: mpsc::UnboundedSender<Instant>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut ws = local::connect(node, i).await?;
    ws.send(Message::Text(json!({"type": "hello"}).to_string().into()))
        .await?;
    let mut sub = json!({"type": "subscribe", "sale": sale});
    if let Some(s) = since {
        sub["since"] = json!(s);
    }
    ws.send(Message::Text(sub.to_string().into())).await?;
    while let Some(m) = ws.next().await {
        if let Message::Text(t) = m? {
            if t.contains("\"subscribed\"") {
                break;
            }
        }
    }
    Ok(tokio::spawn(async move {
        let mut reported = false;
        while let Some(Ok(m)) = ws.next().await {
            let Message::Text(t) = m else { continue };
            let now = Instant::now();
            if !t.contains("bid_accepted") {
                continue;
            }
            if !reported && shared.armed.load(Ordering::Relaxed) {
                reported = true;
                let _ = fanout.send(now);
            }
            if sampled {
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                let recs = match v["type"].as_str() {
                    Some("event") => vec![v],
                    _ => v["events"].as_array().cloned().unwrap_or_default(),
                };
                for r in recs {
                    let e = &r["event"];
                    if e["type"] != "bid_accepted" {
                        continue;
                    }
                    let key = (
                        e["lot"].as_u64().unwrap_or(0),
                        e["paddle"].as_u64().unwrap_or(0),
                    );
                    let sent = shared
                        .sent
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&key)
                        .copied();
                    if let Some(t0) = sent {
                        record(
                            &shared.watcher_us,
                            now.duration_since(t0).as_micros() as u64,
                        );
                    }
                }
            }
        }
    }))
}

/// One bidder: a bid every `every`, raising its pair partner by a cent.
#[allow(clippy::too_many_arguments)]
async fn bidder(
    node: std::net::SocketAddr,
    i: usize,
    token: String,
    lot: u64,
    parity: u64,
    every: Duration,
    until: Instant,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    let ws = local::connect(node, 100_000 + i).await?;
    let (mut tx, mut rx) = ws.split();
    tx.send(Message::Text(
        json!({"type": "hello", "token": token}).to_string().into(),
    ))
    .await?;
    let mut paddle = 0;
    while let Some(m) = rx.next().await {
        if let Message::Text(t) = m? {
            let v: Value = serde_json::from_str(&t)?;
            if v["type"] == "welcome" {
                paddle = v["bidder"]["paddle"].as_u64().unwrap_or(0);
                break;
            }
        }
    }
    let pending: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let reader = {
        let (pending, shared) = (pending.clone(), shared.clone());
        tokio::spawn(async move {
            while let Some(Ok(m)) = rx.next().await {
                let Message::Text(t) = m else { continue };
                if !t.contains("\"bid_result\"") {
                    continue;
                }
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                let id = v["bid_id"].as_str().unwrap_or("");
                if let Some(t0) = pending.lock().unwrap_or_else(|p| p.into_inner()).remove(id) {
                    record(&shared.result_us, t0.elapsed().as_micros() as u64);
                }
                let counter = match v["outcome"].as_str() {
                    Some("accepted") => &shared.accepted,
                    Some("rejected") if !v["index"].is_null() => &shared.rejected,
                    _ => &shared.unknown,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let phase = every.mul_f64((i as f64 * 0.618_034) % 1.0);
    tokio::time::sleep(phase).await;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut n = 0u64;
    while Instant::now() < until {
        tick.tick().await;
        n += 1;
        let max = 200 + 2 * n + parity;
        let id = format!("b{i}-{n}");
        let now = Instant::now();
        pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), now);
        shared
            .sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((lot, paddle), now);
        let msg = json!({"type": "bid", "bid_id": id, "lot": lot, "max": format!("{}.{:02}", max / 100, max % 100)});
        tx.send(Message::Text(msg.to_string().into())).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    reader.abort();
    Ok(())
}

async fn run(args: &BenchApiArgs) -> anyhow::Result<Report> {
    let tmp;
    let root = match &args.common.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let n = args.nodes as usize;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let (procs, op) = local::start(&root, n, &http).await?;
    let bidders = args.bidders as usize;
    let seconds = args.common.seconds as u64;
    let (sale, lots, tokens) = local::sale(
        &http,
        &procs[0].url(),
        &op,
        bidders.div_ceil(2).max(1),
        bidders,
        Duration::from_secs(seconds + 600),
    )
    .await?;
    let shared = Arc::new(Shared::default());
    let (fan_tx, mut fan_rx) = mpsc::unbounded_channel();

    // Watchers, round-robin over the nodes.
    let watchers = args.watchers as usize;
    let mut handles = Vec::new();
    let connect_watchers = |from: usize, to: usize, since: Option<u64>| {
        let (shared, fan_tx) = (shared.clone(), fan_tx.clone());
        let addrs: Vec<_> = procs.iter().map(|p| p.http).collect();
        stream::iter(from..to)
            .map(move |i| {
                let node = addrs[i % addrs.len()];
                watcher(
                    node,
                    i,
                    sale,
                    since,
                    i / addrs.len() < SAMPLED_PER_NODE,
                    shared.clone(),
                    fan_tx.clone(),
                )
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
    };
    for h in connect_watchers(0, watchers, None).await {
        handles.push(h.context("connecting a watcher")?);
    }

    // Bidders.
    let every = Duration::from_secs_f64(bidders as f64 / args.bids_per_second as f64);
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..bidders)
        .map(|i| {
            tokio::spawn(bidder(
                procs[i % n].http,
                i,
                tokens[i].clone(),
                lots[i / 2],
                (i % 2) as u64,
                every,
                until,
                shared.clone(),
            ))
        })
        .collect();
    for t in tasks {
        t.await?.context("a bidder failed")?;
    }
    let elapsed = started.elapsed().as_secs_f64() - 2.0;
    let (accepted, rejected, unknown) = (
        shared.accepted.load(Ordering::Relaxed),
        shared.rejected.load(Ordering::Relaxed),
        shared.unknown.load(Ordering::Relaxed),
    );

    // Idle memory and the fan-out to 10 000.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The top-up resumes from the current index (as a reconnecting page
    // does), so what is measured is the cost of an idle connection, not of
    // thousands of transient snapshots.
    let now_index = local::applied_index(&http, &procs[0].url(), sale).await?;
    let rss_before = procs[0].rss_bytes();
    let extra = FANOUT_WATCHERS.saturating_sub(watchers);
    for h in connect_watchers(watchers, watchers + extra, Some(now_index)).await {
        handles.push(h.context("connecting a fan-out watcher")?);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = procs[0].rss_bytes();
    let on_node_1 = (watchers..watchers + extra).filter(|i| i % n == 0).count();
    let total = watchers + extra;
    shared.armed.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    let v = local::post(
        &http,
        &format!("{}/api/v1/lots/{}/bids", procs[0].url(), lots[0]),
        &tokens[0],
        json!({"bid_id": "fanout", "max": "100000.00"}),
    )
    .await?;
    let commit_ms = t0.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(
        v["outcome"] == "accepted",
        "the fan-out bid was not accepted: {v}"
    );
    let mut arrivals = Vec::with_capacity(total);
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    while arrivals.len() < total {
        tokio::select! {
            Some(at) = fan_rx.recv() => arrivals.push(at.duration_since(t0).as_secs_f64() * 1000.0),
            _ = &mut deadline => break,
        }
    }
    arrivals.sort_by(f64::total_cmp);
    for h in handles {
        h.abort();
    }
    let (w50, samples) = quantile_ms(&shared.watcher_us, 0.5);
    let (r50, _) = quantile_ms(&shared.result_us, 0.5);
    Ok(Report {
        nodes: n,
        bidders,
        watchers,
        offered_bids_per_second: args.bids_per_second,
        seconds: elapsed,
        committed_bids_per_second: (accepted + rejected) as f64 / elapsed.max(0.001),
        accepted,
        rejected,
        unknown,
        bid_result_p50_ms: r50,
        bid_result_p99_ms: quantile_ms(&shared.result_us, 0.99).0,
        watcher_latency_p50_ms: w50,
        watcher_latency_p99_ms: quantile_ms(&shared.watcher_us, 0.99).0,
        watcher_samples: samples,
        idle_connections_on_node_1: on_node_1,
        bytes_per_idle_connection: rss_after.saturating_sub(rss_before) as f64
            / on_node_1.max(1) as f64,
        fanout_watchers: total,
        fanout_received: arrivals.len(),
        fanout_commit_ms: commit_ms,
        fanout_p50_ms: arrivals.get(arrivals.len() / 2).copied().unwrap_or(0.0),
        fanout_last_ms: arrivals.last().copied().unwrap_or(0.0),
    })
}

/// `paddle bench api`.
pub fn main(args: &BenchApiArgs) -> ExitCode {
    crate::tools::run_bench("api", args.common.json, run(args), |report| {
        report.to_string()
    })
}
