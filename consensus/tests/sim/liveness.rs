//! Liveness after a leader is lost, in the shape that once stalled a real
//! cluster for minutes (CI, issue 16's fault run): the survivors are exactly
//! a majority, so every one of them must vote for the winner, and their logs
//! differ, so only the one with the longest log can win. Survivors with
//! shorter logs must not keep campaigning over it.

use std::time::Duration;

use paddle_consensus::types::NodeId;
use paddle_consensus::Consensus;
use paddle_proto::{Command, Probe};

use super::cluster::{sim_config, SimCluster};
use super::net::{SimNet, Weather};

fn probe(seq: u64) -> Command {
    Command::Probe(Probe {
        writer: 7,
        seq,
        payload: Vec::new(),
    })
}

/// The leader every running member names, if they agree.
fn agreed_leader(c: &SimCluster, among: &[NodeId]) -> Option<NodeId> {
    let named: Vec<Option<NodeId>> = among
        .iter()
        .map(|id| c.running(*id).and_then(|m| m.current_leader()))
        .collect();
    match named.first() {
        Some(Some(l)) if named.iter().all(|n| *n == Some(*l)) && among.contains(l) => Some(*l),
        _ => None,
    }
}

async fn wait_leader(c: &SimCluster, among: &[NodeId], within: Duration) -> anyhow::Result<NodeId> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(l) = agreed_leader(c, among) {
            return Ok(l);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no agreed leader among {among:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Five members; the leader's last entries reach only one follower besides
/// the one that dies with it. Returns how long (virtual time) the three
/// survivors took to agree on a new leader, and checks that it commits.
pub async fn survivors_with_unequal_logs(
    root: &std::path::Path,
    seed: u64,
) -> anyhow::Result<Duration> {
    let cfg = sim_config(10_000);
    let net = SimNet::new(seed, Weather::FAIR, cfg.raft.frame_cap());
    let all: Vec<NodeId> = (1..=5).collect();
    let mut c = SimCluster::form(root, 5, net.clone(), cfg, vec![0; 5]).await?;
    let leader = wait_leader(&c, &all, Duration::from_secs(10)).await?;
    let lead: Consensus = c.member(leader).clone();
    for seq in 0..5 {
        lead.propose(probe(seq)).await?;
    }
    let others: Vec<NodeId> = all.iter().copied().filter(|i| *i != leader).collect();
    // `short` hears nothing more from the leader; `middle` misses the very
    // last entry; `long` and `doomed` get everything.
    let (short, middle, long, doomed) = (others[0], others[1], others[2], others[3]);
    net.set_cut(leader, short, true);
    lead.propose(probe(5)).await?;
    net.set_cut(leader, middle, true);
    lead.propose(probe(6)).await?;
    // The leader and the follower that has everything die together.
    c.crash(leader).await;
    c.crash(doomed).await;
    net.heal_links();
    let survivors = [short, middle, long];
    let lost = tokio::time::Instant::now();
    let new = wait_leader(&c, &survivors, Duration::from_secs(30)).await?;
    let took = lost.elapsed();
    anyhow::ensure!(
        new == long,
        "node {new} won, but only node {long} holds every committed entry"
    );
    c.member(new).propose(probe(7)).await?;
    c.stop().await;
    Ok(took)
}
