//! `paddle bench consensus`: an N-node cluster on loopback in this process
//! (real QUIC, real sled with fdatasync, the node's own state machine),
//! closed-loop proposers, committed proposals/s and commit latency per
//! concurrency level, then the time from stopping the leader to the next
//! commit on the survivors.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use hdrhistogram::Histogram;
use paddle_consensus::tls::{issue_identity, CaBundle};
use paddle_consensus::types::NodeAddr;
use paddle_consensus::{Consensus, ConsensusConfig};
use paddle_proto::{Command, Probe};
use serde::Serialize;

use crate::machine::NodeMachine;

/// One measured concurrency level.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub proposers: u32,
    /// Where proposals enter: the leader only, or every node in turn.
    pub via: &'static str,
    /// Offered rate (open loop), or `None` for closed loop.
    pub offered_per_second: Option<u32>,
    pub committed: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub failed: u64,
}

/// What `paddle bench consensus` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub nodes: u16,
    pub payload_bytes: u32,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: (u64, u64),
    pub rows: Vec<Row>,
    /// Ms from stopping the leader to the first commit through a survivor.
    pub failover_ms: Option<f64>,
}

/// Settings of a run.
pub struct Settings {
    pub nodes: u16,
    pub proposers: Vec<u32>,
    pub payload_bytes: u32,
    pub seconds: u32,
    pub failover: bool,
    /// Open loop at this total rate (proposals/s), if set.
    pub rate: Option<u32>,
    pub dir: Option<PathBuf>,
    pub consensus: ConsensusConfig,
}

struct Cluster {
    nodes: Vec<Consensus>,
    _dir: Option<tempfile::TempDir>,
}

async fn start_cluster(s: &Settings) -> anyhow::Result<Cluster> {
    let (tmp, root) = match &s.dir {
        Some(d) => (None, d.clone()),
        None => {
            let t = tempfile::tempdir()?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let ca = CaBundle::generate("bench")?;
    let mut nodes = Vec::new();
    for id in 1..=s.nodes as u64 {
        let identity = issue_identity(&ca, id)?;
        let dir = root.join(format!("node{id}"));
        let c = Consensus::start(
            &identity,
            "127.0.0.1:0".parse()?,
            &dir,
            Box::new(NodeMachine::standalone()),
            s.consensus.clone(),
        )
        .await?;
        nodes.push(c);
    }
    let addr = |c: &Consensus| -> anyhow::Result<NodeAddr> {
        Ok(NodeAddr {
            raft: c.local_addr()?.to_string(),
            http: String::new(),
        })
    };
    let others = nodes[1..]
        .iter()
        .map(|c| Ok((c.id(), addr(c)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    nodes[0].form(addr(&nodes[0])?, &others).await?;
    Ok(Cluster { nodes, _dir: tmp })
}

/// Run `proposers` closed-loop proposers for `seconds` against `targets`.
async fn measure(
    targets: Vec<Consensus>,
    proposers: u32,
    payload: usize,
    seconds: u32,
    via: &'static str,
    writer_base: u64,
    rate: Option<u32>,
) -> Row {
    // Open loop: proposer p sends at start + (p / proposers + k) * gap.
    let gap = rate.map(|r| Duration::from_secs_f64(proposers as f64 / r as f64));
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for p in 0..proposers {
        let c = targets[p as usize % targets.len()].clone();
        let stop = stop.clone();
        let failed = failed.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3).expect("histogram");
            let mut seq = 0;
            let mut due = gap.map(|g| started + g.mul_f64(p as f64 / proposers as f64));
            while !stop.load(Ordering::Relaxed) {
                let cmd = Command::Probe(Probe {
                    writer: writer_base + p as u64,
                    seq,
                    payload: vec![0x5a; payload],
                });
                seq += 1;
                let t = match (due, gap) {
                    (Some(d), Some(g)) => {
                        tokio::time::sleep_until(d.into()).await;
                        due = Some(d + g);
                        d
                    }
                    _ => Instant::now(),
                };
                match c.propose(cmd).await {
                    Ok(_) => {
                        let _ = hist.record(t.elapsed().as_micros() as u64);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            hist
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds as u64)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Histogram::<u64>::new(3).expect("histogram");
    for t in tasks {
        if let Ok(h) = t.await {
            let _ = all.add(h);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Row {
        proposers,
        via,
        offered_per_second: rate,
        committed: all.len(),
        seconds: elapsed,
        per_second: all.len() as f64 / elapsed,
        p50_ms: all.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: all.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: all.max() as f64 / 1000.0,
        failed: failed.load(Ordering::Relaxed),
    }
}

/// Stop the leader abruptly and time the first commit through a survivor.
async fn failover(cluster: &Cluster) -> anyhow::Result<f64> {
    let leader_id = cluster.nodes[0].current_leader().context("no leader")?;
    let leader = cluster
        .nodes
        .iter()
        .find(|c| c.id() == leader_id)
        .context("leader not found")?
        .clone();
    let survivor = cluster
        .nodes
        .iter()
        .find(|c| c.id() != leader_id)
        .context("no survivor")?
        .clone();
    let started = Instant::now();
    leader.shutdown().await;
    let mut seq = 0;
    loop {
        seq += 1;
        let cmd = Command::Probe(Probe {
            writer: u64::MAX,
            seq,
            payload: vec![],
        });
        if survivor.propose(cmd).await.is_ok() {
            return Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(anyhow!("no commit within 30 s of stopping the leader"));
        }
    }
}

/// Run the whole benchmark.
pub async fn run(s: Settings) -> anyhow::Result<Report> {
    let cluster = start_cluster(&s).await?;
    let leader_id = cluster.nodes[0].current_leader().context("no leader")?;
    let leader = cluster
        .nodes
        .iter()
        .find(|c| c.id() == leader_id)
        .context("leader")?
        .clone();
    let mut rows = Vec::new();
    for (i, &p) in s.proposers.iter().enumerate() {
        let base = (i as u64) << 32;
        rows.push(
            measure(
                vec![leader.clone()],
                p,
                s.payload_bytes as usize,
                s.seconds,
                "leader",
                base,
                s.rate,
            )
            .await,
        );
        let all = cluster.nodes.clone();
        rows.push(
            measure(
                all,
                p,
                s.payload_bytes as usize,
                s.seconds,
                "all nodes",
                base + (1 << 31),
                s.rate,
            )
            .await,
        );
    }
    let failover_ms = if s.failover && s.nodes >= 3 {
        Some(failover(&cluster).await?)
    } else {
        None
    };
    for c in &cluster.nodes {
        c.shutdown().await;
    }
    Ok(Report {
        nodes: s.nodes,
        payload_bytes: s.payload_bytes,
        heartbeat_ms: s.consensus.raft.heartbeat_ms,
        election_timeout_ms: (
            s.consensus.raft.election_timeout_min_ms,
            s.consensus.raft.election_timeout_max_ms,
        ),
        rows,
        failover_ms,
    })
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} nodes on loopback, payload {} B, heartbeat {} ms, election timeout {}-{} ms",
            self.nodes,
            self.payload_bytes,
            self.heartbeat_ms,
            self.election_timeout_ms.0,
            self.election_timeout_ms.1
        )?;
        if let Some(r) = self.rows.first().and_then(|r| r.offered_per_second) {
            writeln!(
                f,
                "open loop: {r} proposals/s offered; latency counts from the scheduled send time"
            )?;
        }
        writeln!(
            f,
            "{:>10} {:>10} {:>10} {:>12} {:>9} {:>9} {:>9} {:>7}",
            "proposers", "via", "committed", "commits/s", "p50 ms", "p99 ms", "max ms", "failed"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:>10} {:>10} {:>10} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>7}",
                r.proposers,
                r.via,
                r.committed,
                r.per_second,
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                r.failed
            )?;
        }
        if let Some(ms) = self.failover_ms {
            writeln!(
                f,
                "leader stopped -> next commit through a survivor: {ms:.0} ms"
            )?;
        }
        Ok(())
    }
}
