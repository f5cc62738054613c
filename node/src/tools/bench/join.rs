//! `paddle bench join`: how long a new node takes to become a caught-up
//! voter when the cluster already holds N committed commands, and how much
//! proposal throughput dips while it catches up.
//!
//! In-process nodes over real QUIC and sled. The log is compacted behind
//! snapshots as in production, so the newcomer installs a snapshot and then
//! replays the tail of the log.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use paddle_consensus::tls::{issue_identity, CaBundle};
use paddle_consensus::types::NodeAddr;
use paddle_consensus::{Consensus, ConsensusConfig, MemberChange};
use paddle_proto::{Command, Probe};
use serde::Serialize;

use crate::machine::NodeMachine;
use paddle_consensus::CATCH_UP_SLACK;

/// One measured history size.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Commands committed before the new node started.
    pub commands: u64,
    /// Raft log index at that point (commands are batched into entries).
    pub log_index: u64,
    /// Size of the snapshot the newcomer installed, bytes.
    pub snapshot_bytes: u64,
    /// From adding the learner to it being within the catch-up slack.
    pub catch_up_ms: f64,
    /// From adding the learner to it being a voter.
    pub voter_ms: f64,
    /// Proposals/s of a steady background load before and during catch-up.
    pub load_before_per_s: f64,
    pub load_during_per_s: f64,
}

/// Settings of a run.
pub struct Settings {
    pub nodes: u16,
    pub entries: Vec<u64>,
    pub consensus: ConsensusConfig,
}

fn addr(c: &Consensus) -> anyhow::Result<NodeAddr> {
    Ok(NodeAddr {
        raft: c.local_addr()?.to_string(),
        http: String::new(),
    })
}

async fn start(
    ca: &CaBundle,
    id: u64,
    dir: &std::path::Path,
    cfg: &ConsensusConfig,
) -> anyhow::Result<Consensus> {
    let identity = issue_identity(ca, id)?;
    Ok(Consensus::start(
        &identity,
        "127.0.0.1:0".parse()?,
        dir,
        Box::new(NodeMachine::standalone()),
        cfg.clone(),
    )
    .await?)
}

/// The node that currently leads (leadership can move under load); waits
/// out an election.
async fn current_leader(nodes: &[Consensus]) -> anyhow::Result<Consensus> {
    for _ in 0..1000 {
        if let Some(id) = nodes[0].current_leader() {
            if let Some(c) = nodes.iter().find(|c| c.id() == id) {
                return Ok(c.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(anyhow!("no leader for 10 s"))
}

async fn fill(c: &Consensus, n: u64, writer: u64) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..512 {
        let c = c.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= n {
                    return Ok::<_, anyhow::Error>(());
                }
                let cmd = Command::Probe(Probe {
                    writer,
                    seq,
                    payload: vec![0x42; 16],
                });
                c.propose(cmd).await.map_err(|e| anyhow!("{e}"))?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// Closed-loop background load; returns a stop flag and the commit counter.
fn background(c: Consensus) -> (Arc<AtomicBool>, Arc<AtomicU64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    for w in 0..32u64 {
        let (c, stop, count) = (c.clone(), stop.clone(), count.clone());
        tokio::spawn(async move {
            let mut seq = 0;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                if c.propose(Command::Probe(Probe {
                    writer: 1_000_000 + w,
                    seq,
                    payload: vec![],
                }))
                .await
                .is_ok()
                {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    (stop, count)
}

async fn one(s: &Settings, commands: u64) -> anyhow::Result<Row> {
    let root = tempfile::tempdir()?;
    let ca = CaBundle::generate("bench-join")?;
    let mut nodes = Vec::new();
    for id in 1..=s.nodes as u64 {
        nodes.push(start(&ca, id, &root.path().join(format!("n{id}")), &s.consensus).await?);
    }
    let others = nodes[1..]
        .iter()
        .map(|c| Ok((c.id(), addr(c)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    nodes[0].form(addr(&nodes[0])?, &others).await?;
    fill(&nodes[0], commands, 7).await?;
    let leader = current_leader(&nodes).await?;
    // Let a snapshot cover the whole history and the log be purged behind
    // it, as in a venue that has been running a while: the newcomer must
    // install the snapshot.
    let log_index = leader.facts().last_log.unwrap_or(0);
    leader.trigger_snapshot().await.map_err(|e| anyhow!(e))?;
    while leader.facts().snapshot.unwrap_or(0) < log_index {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let snapshot_bytes = leader
        .state()
        .snapshot_bytes()?
        .map(|b| b.len() as u64)
        .unwrap_or(0);

    let (stop, count) = background(leader.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let c0 = count.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let load_before_per_s = (count.load(Ordering::Relaxed) - c0) as f64 / 2.0;

    let new_id = s.nodes as u64 + 1;
    let newcomer = start(&ca, new_id, &root.path().join("new"), &s.consensus).await?;
    let started = Instant::now();
    let c1 = count.load(Ordering::Relaxed);
    leader.add_learner(new_id, addr(&newcomer)?, false).await?;
    let catch_up = loop {
        let leader = current_leader(&nodes).await?;
        let f = leader.facts();
        let matched = f.matched.get(&new_id).copied().flatten().unwrap_or(0);
        if matched + CATCH_UP_SLACK >= f.last_log.unwrap_or(0)
            && newcomer.applied_index() >= log_index
        {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(anyhow!("the new node did not catch up within 10 minutes"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let during = count.load(Ordering::Relaxed) - c1;
    current_leader(&nodes)
        .await?
        .change_members(MemberChange::Promote(new_id))
        .await
        .context("promoting the new node")?;
    let voter = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for c in nodes.iter().chain(std::iter::once(&newcomer)) {
        c.shutdown().await;
    }
    Ok(Row {
        commands,
        log_index,
        snapshot_bytes,
        catch_up_ms: catch_up.as_secs_f64() * 1000.0,
        voter_ms: voter.as_secs_f64() * 1000.0,
        load_before_per_s,
        load_during_per_s: during as f64 / catch_up.as_secs_f64().max(1e-3),
    })
}

/// Run every history size.
pub async fn run(s: Settings) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for &n in &s.entries {
        rows.push(one(&s, n).await?);
    }
    Ok(rows)
}

/// Print rows as a table.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:>10} {:>10} {:>14} {:>12} {:>10} {:>14} {:>14}\n",
        "commands",
        "log index",
        "snapshot MB",
        "caught up s",
        "voter s",
        "load before/s",
        "load during/s"
    );
    for r in rows {
        out.push_str(&format!(
            "{:>10} {:>10} {:>14.1} {:>12.2} {:>10.2} {:>14.0} {:>14.0}\n",
            r.commands,
            r.log_index,
            r.snapshot_bytes as f64 / 1e6,
            r.catch_up_ms / 1000.0,
            r.voter_ms / 1000.0,
            r.load_before_per_s,
            r.load_during_per_s
        ));
    }
    out
}
