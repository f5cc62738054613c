//! `paddle bench engine`: the rules engine alone in memory, then the same
//! bids applied through the real sled-backed state machine in batches of
//! log entries, as a follower applies them.

use std::time::Instant;

use paddle_consensus::storage::direct::DirectApply;
use paddle_proto::{Command, Proposal};
use serde::Serialize;

use crate::machine::NodeMachine;
use crate::tools::bench::engine_load::{generate, run as run_engine, BenchConfig};

/// Figures of one `paddle bench engine` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub bids: u64,
    pub accepted: u64,
    pub engine_bids_per_sec: u64,
    pub engine_bids_per_cpu_sec: u64,
    pub sled_batch: u32,
    pub sled_bids_per_sec: u64,
}

fn entry(stamp_ms: u64, command: Command) -> Proposal {
    Proposal {
        stamp_ms,
        commands: vec![command],
    }
}

/// Run both measurements.
pub async fn run(cfg: BenchConfig, sled_batch: u32) -> anyhow::Result<Report> {
    let mem = run_engine(&cfg);
    let (setup, bids) = generate(&cfg);
    let dir = tempfile::tempdir()?;
    let mut sm = DirectApply::open(dir.path(), Box::new(NodeMachine::standalone()))
        .map_err(|e| anyhow::anyhow!(e))?;
    let setup_entries: Vec<_> = setup
        .into_iter()
        .map(|c| entry(0, Command::Auction(c)))
        .collect();
    sm.apply(setup_entries)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let started = Instant::now();
    let mut batch = Vec::with_capacity(sled_batch as usize);
    for (stamp, cmd) in bids {
        batch.push(entry(stamp, Command::Auction(cmd)));
        if batch.len() == sled_batch as usize {
            sm.apply(std::mem::take(&mut batch))
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
        }
    }
    if !batch.is_empty() {
        sm.apply(batch).await.map_err(|e| anyhow::anyhow!(e))?;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(Report {
        bids: mem.bids,
        accepted: mem.accepted,
        engine_bids_per_sec: mem.bids_per_sec,
        engine_bids_per_cpu_sec: mem.bids_per_cpu_sec,
        sled_batch,
        sled_bids_per_sec: (mem.bids as f64 / secs) as u64,
    })
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} bids ({} accepted)", self.bids, self.accepted)?;
        writeln!(
            f,
            "engine in memory:         {:>10} bids/s wall, {:>10} bids/s per CPU second",
            self.engine_bids_per_sec, self.engine_bids_per_cpu_sec
        )?;
        writeln!(
            f,
            "sled state machine:       {:>10} bids/s ({} entries per apply batch)",
            self.sled_bids_per_sec, self.sled_batch
        )
    }
}
