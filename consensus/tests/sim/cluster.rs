//! The simulated cluster: real members (openraft on sled in temporary
//! directories) running the real auction state machine, on the simulated
//! network; members crash (cut off, stopped) and restart from their
//! directories.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use paddle_auction::{read, AuctionMachine};
use paddle_consensus::kv::{KvTxn, KvView};
use paddle_consensus::types::{NodeAddr, NodeId};
use paddle_consensus::{
    Application, AppliedEntry, ClockConfig, Consensus, ConsensusConfig, RaftConfig, Simulated,
};
use paddle_proto::auction::AuctionCommand;
use paddle_proto::{Command, Reply};

use super::net::SimNet;

/// The applied log the simulation keeps beside the auction's records, in
/// the same atomic writes: key `index BE ++ position BE`, value `1` for a
/// bid id's first application and `0` for a repeat (answered with the
/// first outcome), followed by the bid id.
pub const APPLIED_TREE: &str = "sim.applied";

/// 2026-01-01T00:00:00Z: where every simulated wall clock starts.
pub const EPOCH_US: i64 = 1_767_225_600_000_000;

/// The node's application, reduced to the auction (what `paddle-node`'s
/// `machine.rs` does for `Command::Auction`), plus the applied log.
struct SimApp {
    auction: AuctionMachine,
}

impl Application for SimApp {
    fn apply(&mut self, txn: &mut KvTxn<'_>, e: AppliedEntry<'_>) -> Reply {
        let cmd = match e.command {
            Command::Auction(cmd) => cmd,
            // Probes are stored as a node stores them, so a test can look
            // each acknowledged one up afterwards.
            Command::Probe(p) => return paddle_consensus::probe::apply_probe(txn, e.index, p),
            _ => return Reply::None,
        };
        // A bid id seen before is answered with its first outcome.
        let bid = match cmd {
            AuctionCommand::PlaceBid {
                sale,
                paddle,
                bid_id,
                ..
            } => {
                let seen = read::bid_outcome(&*txn, *sale, *paddle, false, bid_id)
                    .expect("stored outcomes decode")
                    .is_some();
                Some((bid_id, !seen))
            }
            _ => None,
        };
        let reply = Reply::Auction(self.auction.apply(txn, e.index, e.stamp_ms, cmd));
        if let Some((bid_id, first)) = bid {
            let mut key = e.index.to_be_bytes().to_vec();
            key.extend_from_slice(&e.position.to_be_bytes());
            let mut value = vec![first as u8];
            value.extend_from_slice(bid_id.as_str().as_bytes());
            txn.put(APPLIED_TREE, &key, value);
        }
        reply
    }

    fn batch_committed(&mut self, _view: &KvView) {
        // Events would go to browsers; here nobody listens.
        self.auction.take_events();
    }

    fn state_replaced(&mut self, view: &KvView) {
        self.auction
            .state_replaced(view)
            .expect("the stored auction state loads");
    }
}

/// One entry of a member's applied log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedBid {
    pub index: u64,
    pub position: u32,
    pub first: bool,
    pub bid_id: String,
}

/// A member's applied log, read from its state.
pub fn applied_bids(view: &KvView) -> Vec<AppliedBid> {
    view.scan(APPLIED_TREE, b"")
        .map(|(k, v)| AppliedBid {
            index: u64::from_be_bytes(k[..8].try_into().expect("8 bytes")),
            position: u32::from_be_bytes(k[8..12].try_into().expect("4 bytes")),
            first: v[0] == 1,
            bid_id: String::from_utf8_lossy(&v[1..]).into_owned(),
        })
        .collect()
}

/// The Raft settings of the simulation: the defaults, with snapshots every
/// few hundred entries so that catch-up by snapshot happens too.
pub fn sim_config(snapshot_logs: u64) -> ConsensusConfig {
    ConsensusConfig {
        raft: RaftConfig {
            snapshot_logs,
            keep_logs_after_snapshot: snapshot_logs / 2,
            propose_timeout_ms: 3_000,
            ..RaftConfig::default()
        },
        clock: ClockConfig::default(),
    }
}

pub struct Member {
    pub id: NodeId,
    pub dir: PathBuf,
    /// `None` while crashed.
    pub c: Option<Consensus>,
    /// Removed from the cluster and stopped for good.
    pub gone: bool,
}

/// The cluster of one seed.
pub struct SimCluster {
    pub net: SimNet,
    pub members: Vec<Member>,
    cfg: ConsensusConfig,
    /// Per member, its wall clock's offset from the simulation's (µs).
    skew_us: Vec<i64>,
    start: tokio::time::Instant,
}

pub fn addr(id: NodeId) -> NodeAddr {
    NodeAddr {
        raft: format!("sim:{id}"),
        http: String::new(),
    }
}

impl SimCluster {
    /// Start `n` members in directories under `root` and form a cluster.
    pub async fn form(
        root: &Path,
        n: u64,
        net: SimNet,
        cfg: ConsensusConfig,
        skew_us: Vec<i64>,
    ) -> anyhow::Result<Self> {
        let mut cluster = SimCluster {
            net,
            members: Vec::new(),
            cfg,
            skew_us,
            start: tokio::time::Instant::now(),
        };
        for _ in 1..=n {
            cluster.add_empty(root).await?;
        }
        let others: Vec<_> = (2..=n).map(|id| (id, addr(id))).collect();
        cluster
            .member(1)
            .form(addr(1), &others)
            .await
            .map_err(|e| anyhow::anyhow!("forming the cluster: {e}"))?;
        Ok(cluster)
    }

    /// The running member `id` (panics when it is down).
    pub fn member(&self, id: NodeId) -> &Consensus {
        self.members[id as usize - 1]
            .c
            .as_ref()
            .expect("member is up")
    }

    /// Member `id` if it has started and is up.
    pub fn running(&self, id: NodeId) -> Option<Consensus> {
        self.members.get(id as usize - 1).and_then(|m| m.c.clone())
    }

    /// The member that leads, as it sees itself, if one is up and does.
    pub fn leader(&self) -> Option<Consensus> {
        self.members.iter().find_map(|m| {
            m.c.as_ref()
                .filter(|c| c.current_leader() == Some(m.id))
                .cloned()
        })
    }

    /// Every member not removed, in id order.
    pub fn ids(&self) -> Vec<NodeId> {
        self.members
            .iter()
            .filter(|m| !m.gone)
            .map(|m| m.id)
            .collect()
    }

    async fn boot(&mut self, id: NodeId) -> anyhow::Result<()> {
        let i = id as usize - 1;
        let skew = self.skew_us.get(i).copied().unwrap_or(0);
        let start = self.start;
        let wall = Arc::new(move || {
            EPOCH_US
                + skew
                + tokio::time::Instant::now()
                    .duration_since(start)
                    .as_micros() as i64
        });
        let dir = self.members[i].dir.clone();
        // A crashed member's last handles may still be dropping: sled's
        // file lock goes with the last one.
        let mut tries = 0;
        let c = loop {
            match Consensus::start_simulated(
                id,
                &dir,
                Box::new(SimApp {
                    auction: AuctionMachine::new(),
                }),
                self.cfg.clone(),
                Simulated {
                    wire: Arc::new(self.net.clone()),
                    wall: wall.clone(),
                },
            )
            .instrument(super::net::member_span(id))
            .await
            {
                Ok(c) => break c,
                Err(e) if tries < 50 => {
                    tries += 1;
                    tracing::debug!(id, error = %e, "restart refused; trying again");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => anyhow::bail!("member {id} did not restart: {e}"),
            }
        };
        self.net.attach(id, c.clone());
        self.members[i].c = Some(c);
        Ok(())
    }

    /// Start a new, empty member with the next id (not yet in the cluster:
    /// the leader must admit it). Returns its id.
    pub async fn add_empty(&mut self, root: &Path) -> anyhow::Result<NodeId> {
        let id = self.members.len() as NodeId + 1;
        let dir = root.join(format!("n{id}"));
        self.members.push(Member {
            id,
            dir,
            c: None,
            gone: false,
        });
        self.boot(id).await?;
        Ok(id)
    }

    /// Crash `id`: from now on nothing reaches it or leaves it; then it stops.
    pub async fn crash(&mut self, id: NodeId) {
        self.net.detach(id);
        if let Some(c) = self.members[id as usize - 1].c.take() {
            c.shutdown().await;
        }
    }

    /// Start `id` again from its directory (unless it was removed).
    pub async fn restart(&mut self, id: NodeId) -> anyhow::Result<()> {
        let m = &self.members[id as usize - 1];
        if m.c.is_none() && !m.gone {
            self.boot(id).await?;
        }
        Ok(())
    }

    /// `id` was removed from the cluster: stop it for good.
    pub async fn retire(&mut self, id: NodeId) {
        self.crash(id).await;
        self.members[id as usize - 1].gone = true;
    }

    /// Stop every member (the end of a seed).
    pub async fn stop(&mut self) {
        for m in &mut self.members {
            self.net.detach(m.id);
            if let Some(c) = m.c.take() {
                c.shutdown().await;
            }
        }
    }
}
