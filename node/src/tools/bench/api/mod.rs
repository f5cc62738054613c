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
//! 4. Wait until every bid has its result, then top the watchers up to
//!    10 000 (idle, subscribed); the node-1 memory growth divided by its new
//!    connections is the memory per idle connection. Then one bid: the time
//!    until each of the 10 000 watchers has its event.
//!
//! A figure is reported only when it was measured validly (`figures.rs`);
//! the bench's own CPU share and each node's are reported beside them, so
//! a reader sees how much of the two cores the client took. `--plot`
//! writes the latency distributions as SVG (`../plot.rs`). It measures and
//! reports; it asserts nothing.

mod clients;
pub(crate) mod figures;
pub(crate) mod local;
mod stages;

use std::fmt;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;

use self::clients::{bidder, points, quantile_ms, watcher, Shared};
use self::figures::{Figure, Figures, IdleWindow};
use super::plot::{latency_svg, Series};
use super::progress::Progress;
use crate::cli::BenchApiArgs;

/// Watchers for the fan-out measurement.
pub const FANOUT_WATCHERS: usize = 10_000;
/// Watchers per node whose every event is timed.
const SAMPLED_PER_NODE: usize = 20;

/// What `paddle bench api` reports. Figures that a run may fail to
/// measure validly are in `figures` (JSON: a number, or `null` with the
/// reason under `not_measured`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub nodes: usize,
    pub bidders: usize,
    pub watchers: usize,
    /// 0 in closed loop.
    pub offered_bids_per_second: u32,
    /// Each bidder waited for its last result before its next bid.
    pub closed_loop: bool,
    pub seconds: f64,
    pub committed_bids_per_second: f64,
    pub accepted: u64,
    pub rejected: u64,
    pub unknown: u64,
    /// Bids without a result when the run stopped waiting for them.
    pub unanswered: u64,
    pub result_samples: u64,
    pub watcher_samples: u64,
    pub idle_connections_on_node_1: usize,
    pub fanout_watchers: usize,
    pub fanout_received: usize,
    pub cores: usize,
    /// Each node's CPU seconds during the bidding, in node order.
    pub node_cpu_seconds: Vec<f64>,
    /// What the bidding added to each node's `paddle_stage_seconds`.
    pub stages: Vec<stages::NodeStages>,
    #[serde(flatten)]
    pub figures: Figures,
    #[serde(skip)]
    pub shown: Shown,
}

/// The figures as the text report shows them.
#[derive(Debug, Clone)]
pub struct Shown {
    pub result_p50: Figure,
    pub result_p99: Figure,
    pub watcher_p50: Figure,
    pub watcher_p99: Figure,
    pub bytes_per_idle: Figure,
    pub client_cpu: Figure,
    pub nodes_cpu: Figure,
    pub fanout_commit: Figure,
    pub fanout_p50: Figure,
    pub fanout_last: Figure,
}

impl Default for Shown {
    fn default() -> Self {
        let nm = || Figure::NotMeasured("not run".into());
        Shown {
            result_p50: nm(),
            result_p99: nm(),
            watcher_p50: nm(),
            watcher_p99: nm(),
            bytes_per_idle: nm(),
            client_cpu: nm(),
            nodes_cpu: nm(),
            fanout_commit: nm(),
            fanout_p50: nm(),
            fanout_last: nm(),
        }
    }
}

impl Shown {
    fn figures(&self) -> Figures {
        let mut f = Figures::default();
        f.put("bid_result_p50_ms", &self.result_p50);
        f.put("bid_result_p99_ms", &self.result_p99);
        f.put("watcher_latency_p50_ms", &self.watcher_p50);
        f.put("watcher_latency_p99_ms", &self.watcher_p99);
        f.put("bytes_per_idle_connection", &self.bytes_per_idle);
        f.put("client_cpu_share", &self.client_cpu);
        f.put("nodes_cpu_share", &self.nodes_cpu);
        f.put("fanout_commit_ms", &self.fanout_commit);
        f.put("fanout_p50_ms", &self.fanout_p50);
        f.put("fanout_last_ms", &self.fanout_last);
        f
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let load = if self.closed_loop {
            "closed loop (one bid in flight per bidder)".to_string()
        } else {
            format!("offered {} bids/s", self.offered_bids_per_second)
        };
        writeln!(
            f,
            "paddle bench api: {} nodes, {} bidders, {} watchers, {load} for {:.1} s",
            self.nodes, self.bidders, self.watchers, self.seconds
        )?;
        writeln!(
            f,
            "  committed bids/s           {:>10.1}  (accepted {}, rejected {}, unknown {})",
            self.committed_bids_per_second, self.accepted, self.rejected, self.unknown
        )?;
        let s = &self.shown;
        let ms = |v: f64| format!("{v:.2} ms");
        let pct = |v: f64| format!("{:.0} %", v * 100.0);
        writeln!(
            f,
            "  bid -> bid_result          p50 {}   p99 {}   ({} samples)",
            s.result_p50.show(ms),
            s.result_p99.show(ms),
            self.result_samples
        )?;
        writeln!(
            f,
            "  bid -> watcher (all nodes) p50 {}   p99 {}   ({} samples)",
            s.watcher_p50.show(ms),
            s.watcher_p99.show(ms),
            self.watcher_samples
        )?;
        writeln!(
            f,
            "  memory per idle connection {}",
            s.bytes_per_idle.show(|v| format!(
                "{v:.0} bytes ({:.1} KiB, over {} connections of node 1)",
                v / 1024.0,
                self.idle_connections_on_node_1
            ))
        )?;
        writeln!(
            f,
            "  CPU while bidding          bench client {}, nodes {} of {} cores ({} CPU s per node)",
            s.client_cpu.show(pct),
            s.nodes_cpu.show(pct),
            self.cores,
            self.node_cpu_seconds
                .iter()
                .map(|c| format!("{c:.1}"))
                .collect::<Vec<_>>()
                .join(" / ")
        )?;
        writeln!(
            f,
            "  where the time went while bidding (per node and stage: count, mean, bucket of p50 and p99)"
        )?;
        for node in &self.stages {
            write!(f, "{node}")?;
        }
        if self.unanswered > 0 {
            writeln!(f, "  unanswered bids            {}", self.unanswered)?;
        }
        writeln!(
            f,
            "  one update to {} watchers: committed after {}, p50 {}, last {} ({} received)",
            self.fanout_watchers,
            s.fanout_commit.show(ms),
            s.fanout_p50.show(ms),
            s.fanout_last.show(ms),
            self.fanout_received
        )
    }
}

async fn run(args: &BenchApiArgs) -> anyhow::Result<Report> {
    let progress = Progress::new(args.common.json);
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
    progress.phase(format!("starting {n} nodes"));
    let (procs, op) = local::start(&root, n, &http).await?;
    let bidders = args.bidders as usize;
    let seconds = args.common.seconds as u64;
    progress.phase("creating the sale, its lots and bidders");
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

    // Watchers, round-robin over the nodes; the first SAMPLED_PER_NODE of
    // the run's watchers on each node time every event.
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
                    i < watchers && i / addrs.len() < SAMPLED_PER_NODE,
                    shared.clone(),
                    fan_tx.clone(),
                )
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
    };
    progress.phase(format!("connecting {watchers} watchers"));
    for h in connect_watchers(0, watchers, None).await {
        handles.push(h.context("connecting a watcher")?);
    }

    // Bidders.
    let pace = if args.closed_loop {
        clients::Pace::Closed
    } else {
        clients::Pace::Every(Duration::from_secs_f64(
            bidders as f64 / args.bids_per_second as f64,
        ))
    };
    let cpu_before = (
        figures::own_cpu_seconds(),
        procs
            .iter()
            .map(local::Proc::cpu_seconds)
            .collect::<Vec<_>>(),
    );
    let stages_before = stage_metrics(&http, &procs).await?;
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
                pace,
                until,
                shared.clone(),
            ))
        })
        .collect();
    progress.steps(seconds, "s", "bidding");
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let t = started.elapsed().as_secs_f64();
        progress.at(
            t as u64,
            format!(
                "{:.0} committed bids/s, {} sent",
                (shared.accepted.load(Ordering::Relaxed) + shared.rejected.load(Ordering::Relaxed))
                    as f64
                    / t.max(0.001),
                shared.sent_count.load(Ordering::Relaxed)
            ),
        );
    }
    let mut readers = Vec::new();
    for t in tasks {
        readers.push(t.await?.context("a bidder failed")?);
    }
    // Results of bids sent in time count if they come within 2 s of the
    // end (the backlog's age shows in the latencies, not in the rate).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = started.elapsed().as_secs_f64() - 2.0;
    let (accepted, rejected, unknown) = (
        shared.accepted.load(Ordering::Relaxed),
        shared.rejected.load(Ordering::Relaxed),
        shared.unknown.load(Ordering::Relaxed),
    );
    let wall = started.elapsed().as_secs_f64();
    let client_cpu = figures::own_cpu_seconds() - cpu_before.0;
    let node_cpu: Vec<f64> = procs
        .iter()
        .zip(&cpu_before.1)
        .map(|(p, before)| p.cpu_seconds() - before)
        .collect();
    let cores = figures::cores();
    let stages_after = stage_metrics(&http, &procs).await?;
    let node_stages = stages_before
        .iter()
        .zip(&stages_after)
        .enumerate()
        .map(|(i, (before, after))| stages::during(i + 1, before, after))
        .collect();

    // Let a backlog drain before anything is measured on an idle node.
    let sent = shared.sent_count.load(Ordering::Relaxed);
    progress.phase("waiting for the last results");
    let drain_until = Instant::now() + Duration::from_secs(60);
    while shared.answered() < sent && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let unanswered = sent.saturating_sub(shared.answered());
    for r in readers {
        r.abort();
    }

    // Idle memory and the fan-out to 10 000.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The top-up resumes from the current index (as a reconnecting page
    // does), so what is measured is the cost of an idle connection, not of
    // thousands of transient snapshots.
    let index_before = local::applied_index(&http, &procs[0].url(), sale).await?;
    let rss_before = procs[0].rss_bytes();
    let extra = FANOUT_WATCHERS.saturating_sub(watchers);
    progress.phase(format!("connecting {extra} idle watchers"));
    for h in connect_watchers(watchers, watchers + extra, Some(index_before)).await {
        handles.push(h.context("connecting a fan-out watcher")?);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = procs[0].rss_bytes();
    let index_after = local::applied_index(&http, &procs[0].url(), sale).await?;
    let on_node_1 = (watchers..watchers + extra).filter(|i| i % n == 0).count();
    let total = watchers + extra;
    progress.phase(format!("one bid to {total} watchers"));
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
    progress.done();

    let (r50, result_samples) = quantile_ms(&shared.result_us, 0.5);
    let (r99, _) = quantile_ms(&shared.result_us, 0.99);
    let (w50, watcher_samples) = quantile_ms(&shared.watcher_us, 0.5);
    let (w99, _) = quantile_ms(&shared.watcher_us, 0.99);
    let result_p99 = figures::latency(result_samples, r99);
    // Closed loop: a bidder's next bid leaves as its result arrives, often
    // before the watchers saw the last one, so no event pairs with its bid.
    let interval_ms = match pace {
        clients::Pace::Every(every) => every.as_secs_f64() * 1000.0,
        clients::Pace::Closed => 0.0,
    };
    let fanout = |v: Option<&f64>| match v {
        Some(v) => Figure::Measured(*v),
        None => Figure::NotMeasured("no watcher received the update".into()),
    };
    let shown = Shown {
        result_p50: figures::latency(result_samples, r50),
        watcher_p50: figures::watcher_latency(
            watchers,
            watcher_samples,
            w50,
            result_p99.value(),
            interval_ms,
        ),
        watcher_p99: figures::watcher_latency(
            watchers,
            watcher_samples,
            w99,
            result_p99.value(),
            interval_ms,
        ),
        result_p99,
        bytes_per_idle: figures::idle_memory(&IdleWindow {
            rss_before,
            rss_after,
            connections: on_node_1,
            index_before,
            index_after,
            unanswered,
        }),
        client_cpu: figures::cpu_share(client_cpu, wall, cores),
        nodes_cpu: figures::cpu_share(node_cpu.iter().sum(), wall, cores),
        fanout_commit: Figure::Measured(commit_ms),
        fanout_p50: fanout(arrivals.get(arrivals.len() / 2)),
        fanout_last: fanout(arrivals.last()),
    };
    if let Some(path) = &args.plot {
        let series = [
            Series {
                name: "bid -> bid_result".into(),
                points: points(&shared.result_us),
            },
            Series {
                name: "bid -> watcher (all nodes)".into(),
                points: match shown.watcher_p50 {
                    Figure::Measured(_) => points(&shared.watcher_us),
                    Figure::NotMeasured(_) => Vec::new(),
                },
            },
        ];
        let load = if args.closed_loop {
            "closed loop".to_string()
        } else {
            format!("{} bids/s offered", args.bids_per_second)
        };
        let title =
            format!("paddle bench api: {n} nodes, {bidders} bidders, {watchers} watchers, {load}");
        std::fs::write(path, latency_svg(&title, &series))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(Report {
        nodes: n,
        bidders,
        watchers,
        offered_bids_per_second: if args.closed_loop {
            0
        } else {
            args.bids_per_second
        },
        closed_loop: args.closed_loop,
        seconds: elapsed,
        committed_bids_per_second: (accepted + rejected) as f64 / elapsed.max(0.001),
        accepted,
        rejected,
        unknown,
        unanswered,
        result_samples,
        watcher_samples,
        idle_connections_on_node_1: on_node_1,
        fanout_watchers: total,
        fanout_received: arrivals.len(),
        cores,
        node_cpu_seconds: node_cpu,
        stages: node_stages,
        figures: shown.figures(),
        shown,
    })
}

/// Every node's stage histograms.
async fn stage_metrics(
    http: &reqwest::Client,
    procs: &[local::Proc],
) -> anyhow::Result<Vec<stages::Snapshot>> {
    let mut out = Vec::new();
    for p in procs {
        let text = http
            .get(format!("{}/metrics", p.url()))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        out.push(stages::parse(&text));
    }
    Ok(out)
}

/// `paddle bench api`.
pub fn main(args: &BenchApiArgs) -> ExitCode {
    crate::tools::run_bench("api", args.common.json, run(args), |report| {
        report.to_string()
    })
}
