//! A running Raft member: storage, transport and openraft wired together,
//! and everything the application asks of it. The openraft handle stays in
//! here; the application sees only these methods.
//!
//! - `propose`: proposals, forwarded to the leader, batched, idempotent.
//! - `reads`: views, read-your-writes, linearizable reads.
//! - `facts`: role, leader, indexes, membership, freshness, isolation.
//! - `members`: membership changes, hand-over, address correction.
//! - `handler`: what this node answers to its peers.
//! - `tasks`: the leader watchdog and the clock sampler.

mod facts;
mod handler;
mod members;
mod propose;
mod reads;
mod tasks;

pub use facts::{ClusterFacts, Role};
pub use members::{ChangeError, Changed, MemberChange, CATCH_UP_SLACK};
pub use propose::{Committed, ProposeError};
pub use reads::ReadError;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

// tokio's clock: the real one in a node, the paused one in the simulation.
use tokio::time::Instant;

use futures::future::BoxFuture;
use openraft::error::RaftError;
use openraft::SnapshotPolicy;
use tracing::Instrument;

use crate::app::Application;
use crate::clock::{ClusterClock, WallClock};
use crate::config::ConsensusConfig;
use crate::kv::KvView;
use crate::metrics::{ProposalMetrics, StageMetrics};
use crate::network::raft_net::Acks;
use crate::network::{server, Network, Peer, PeerClients, PeerRequest, PeerResponse, PeerWire};
use crate::storage::{self, SmShared};
use crate::tls::NodeIdentity;
use crate::types::typ::Raft;
use crate::types::{NodeAddr, NodeId};

/// Most commands in one log entry (group commit). Kept small so one entry's
/// apply stays well under a millisecond on the async worker (`sm.rs`) and
/// a follower's AppendEntries stays small.
const BATCH_COMMANDS: usize = 256;
/// Entries being written at once by the batcher.
const BATCHES_IN_FLIGHT: usize = 4;
/// A log entry (and a forwarded batch) holds at most this fraction of the
/// peer frame cap in encoded commands, so several entries fit one append.
const BATCH_BYTES_PER_FRAME: usize = 8;
/// The largest command accepted is this fraction of the frame cap: an entry
/// holding it alone still fits a frame with room to spare.
const COMMAND_BYTES_PER_FRAME: usize = 4;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid raft configuration: {0}")]
    Config(String),
    #[error("storage: {0}")]
    Storage(String),
    #[error("cannot bind QUIC on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("raft: {0}")]
    Raft(String),
}

/// Application requests carried between nodes (joining, status). The node
/// installs one; consensus only carries the bytes.
pub trait AppRpc: Send + Sync + 'static {
    fn handle(&self, from: Peer, body: Vec<u8>) -> BoxFuture<'static, Result<Vec<u8>, String>>;
}

struct Core {
    id: NodeId,
    raft: Raft,
    shared: Arc<SmShared>,
    clients: Arc<PeerClients>,
    /// The QUIC endpoint; `None` for a simulated member (on a test's wire).
    endpoint: Option<quinn::Endpoint>,
    cfg: ConsensusConfig,
    batcher: crate::batcher::Batcher,
    forwarder: crate::forwarder::Forwarder,
    committed: Arc<AtomicU64>,
    app_rpc: OnceLock<Arc<dyn AppRpc>>,
    metrics: ProposalMetrics,
    /// When a leader last reached this node with an append it accepted.
    last_leader_contact: std::sync::Mutex<Option<Instant>>,
    /// When each peer last accepted this node's appends (as leader).
    acks: Arc<Acks>,
    /// Since when this node leads (its current term), if it does.
    leader_since: std::sync::Mutex<Option<(u64, Instant)>>,
    /// The cluster's agreed time, as measured from here.
    clock: Arc<ClusterClock>,
    /// When this member started.
    started: Instant,
    /// Membership changes run one at a time.
    change_lock: tokio::sync::Mutex<()>,
    /// False while leadership is being handed over: the leader appends
    /// nothing new, so followers' leases can expire and the successor win.
    accepting: std::sync::atomic::AtomicBool,
}

/// What a simulated member is given instead of a socket and the machine's
/// clock (see [`Consensus::start_simulated`]).
pub struct Simulated {
    /// Carries this member's requests to its peers.
    pub wire: Arc<dyn PeerWire>,
    /// This member's wall clock, µs since the epoch.
    pub wall: WallClock,
}

/// A member's pieces before Raft is started on them.
struct Parts {
    id: NodeId,
    log: storage::LogStore,
    sm: storage::StateMachineStore,
    clients: Arc<PeerClients>,
    endpoint: Option<quinn::Endpoint>,
    clock: ClusterClock,
}

/// openraft's configuration from ours, checked by openraft.
fn openraft_config(r: &crate::config::RaftConfig) -> Result<openraft::Config, StartError> {
    openraft::Config {
        cluster_name: "paddle".into(),
        heartbeat_interval: r.heartbeat_ms,
        election_timeout_min: r.election_timeout_min_ms,
        election_timeout_max: r.election_timeout_max_ms,
        install_snapshot_timeout: r.install_snapshot_timeout_ms,
        max_payload_entries: r.max_payload_entries,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(r.snapshot_logs),
        max_in_snapshot_log_to_keep: r.keep_logs_after_snapshot,
        snapshot_max_chunk_size: r.snapshot_chunk_bytes,
        purge_batch_size: 256,
        ..Default::default()
    }
    .validate()
    .map_err(|e| StartError::Config(e.to_string()))
}

/// A running member. Cheap to clone.
#[derive(Clone)]
pub struct Consensus {
    core: Arc<Core>,
}

impl Consensus {
    /// Open storage under `data_dir`, bind QUIC on `bind` and start Raft.
    /// Does not initialise a cluster: see [`Consensus::initialize`].
    pub async fn start(
        identity: &NodeIdentity,
        bind: SocketAddr,
        data_dir: &Path,
        app: Box<dyn Application>,
        cfg: ConsensusConfig,
    ) -> Result<Self, StartError> {
        let raft_config = openraft_config(&cfg.raft)?;
        let (log, sm) =
            storage::open(data_dir, app).map_err(|e| StartError::Storage(e.to_string()))?;
        let endpoint =
            crate::network::transport::bind_endpoint(identity, bind, &cfg.raft.anonymous_limits())
                .map_err(|e| StartError::Bind {
                    addr: bind,
                    reason: e.to_string(),
                })?;
        let clients = Arc::new(PeerClients::new(
            endpoint.clone(),
            identity,
            cfg.raft.frame_cap(),
        )?);
        let clock = ClusterClock::new(identity.node_id, cfg.clock.clone());
        let parts = Parts {
            id: identity.node_id,
            log,
            sm,
            clients,
            endpoint: Some(endpoint.clone()),
            clock,
        };
        let core = Self::assemble(parts, raft_config, cfg).await?;
        tokio::spawn(server::serve(
            endpoint,
            core.clone(),
            core.cfg.raft.frame_cap(),
            core.cfg.raft.anonymous_limits(),
        ));
        tracing::info!(node = core.id, %bind, "raft member started");
        Ok(Consensus { core })
    }

    /// A member for the deterministic simulation: real storage under
    /// `data_dir` (flushed inline, see [`storage::FlushMode::Inline`]),
    /// peers reached over `sim.wire`, wall clock read from `sim.wall`. No
    /// socket and no TLS; the wire delivers requests with
    /// [`Consensus::answer_peer`].
    pub async fn start_simulated(
        id: NodeId,
        data_dir: &Path,
        app: Box<dyn Application>,
        cfg: ConsensusConfig,
        sim: Simulated,
    ) -> Result<Self, StartError> {
        let raft_config = openraft_config(&cfg.raft)?;
        let (log, sm) = storage::open_with(data_dir, app, storage::FlushMode::Inline)
            .map_err(|e| StartError::Storage(e.to_string()))?;
        let parts = Parts {
            id,
            log,
            sm,
            clients: Arc::new(PeerClients::on_wire(id, sim.wire, cfg.raft.frame_cap())),
            endpoint: None,
            clock: ClusterClock::with_wall(id, cfg.clock.clone(), Some(sim.wall)),
        };
        let core = Self::assemble(parts, raft_config, cfg).await?;
        tracing::debug!(node = core.id, "simulated raft member started");
        Ok(Consensus { core })
    }

    /// Answer a request from member `from`, as the QUIC server would once
    /// it has checked `from`'s certificate (the simulation's wire).
    pub fn answer_peer(&self, from: NodeId, req: PeerRequest) -> BoxFuture<'static, PeerResponse> {
        crate::network::Handler::handle(self.core.clone(), Peer::Member(from), req)
    }

    /// Raft, the batcher, the forwarder and the background tasks around
    /// opened storage and a way to reach peers.
    async fn assemble(
        parts: Parts,
        raft_config: openraft::Config,
        cfg: ConsensusConfig,
    ) -> Result<Arc<Core>, StartError> {
        let Parts {
            id,
            log,
            sm,
            clients,
            endpoint,
            clock,
        } = parts;
        let shared = sm.shared();
        let committed = log.committed_index();
        let acks = Arc::new(Acks::default());
        let stages = shared.stages();
        let network = Network {
            clients: clients.clone(),
            acks: acks.clone(),
            stages: stages.clone(),
        };
        let clock = Arc::new(clock);
        let raft = Raft::new(id, Arc::new(raft_config), network, log, sm)
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        let last_stamp = Arc::new(AtomicU64::new(0));
        let forwarder = crate::forwarder::Forwarder::start(
            clients.clone(),
            Duration::from_millis(cfg.raft.propose_timeout_ms),
            cfg.raft.frame_cap() / BATCH_BYTES_PER_FRAME,
            stages.clone(),
        );
        let batcher = crate::batcher::Batcher::start(
            raft.clone(),
            last_stamp.clone(),
            clock.clone(),
            BATCH_COMMANDS,
            cfg.raft.frame_cap() / BATCH_BYTES_PER_FRAME,
            BATCHES_IN_FLIGHT,
            stages,
        );
        let core = Arc::new(Core {
            id,
            raft,
            shared,
            clients,
            endpoint,
            batcher,
            forwarder,
            committed,
            app_rpc: OnceLock::new(),
            metrics: ProposalMetrics::default(),
            last_leader_contact: std::sync::Mutex::new(None),
            accepting: std::sync::atomic::AtomicBool::new(true),
            acks,
            leader_since: std::sync::Mutex::new(None),
            clock,
            started: Instant::now(),
            change_lock: tokio::sync::Mutex::new(()),
            cfg,
        });
        // (In the current span: the simulation's member span names them.)
        tokio::spawn(tasks::leader_watchdog(Arc::downgrade(&core)).in_current_span());
        tokio::spawn(tasks::clock_sampler(Arc::downgrade(&core)).in_current_span());
        Ok(core)
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.core.id
    }

    /// The cluster's agreed time: what stamps entries, decides deadlines
    /// and is given to pages as server time.
    pub fn clock(&self) -> &ClusterClock {
        &self.core.clock
    }

    /// The peer clients (to call other members directly).
    pub fn peers(&self) -> &Arc<PeerClients> {
        &self.core.clients
    }

    /// The QUIC address this node is bound to.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match &self.core.endpoint {
            Some(e) => e.local_addr(),
            None => Err(std::io::Error::other(
                "a simulated member has no socket: its peers reach it over the test's wire",
            )),
        }
    }

    /// Install the handler for application requests from peers.
    pub fn set_app_rpc(&self, handler: Arc<dyn AppRpc>) {
        let _ = self.core.app_rpc.set(handler);
    }

    /// Proposal counters and the commit-latency histogram.
    pub fn proposal_metrics(&self) -> &ProposalMetrics {
        &self.core.metrics
    }

    /// Where this node's proposals spend their time, stage by stage.
    pub fn stage_metrics(&self) -> Arc<StageMetrics> {
        self.core.shared.stages()
    }

    /// True once this node has been part of an initialised cluster.
    pub async fn is_initialized(&self) -> bool {
        self.core.raft.is_initialized().await.unwrap_or(false)
    }

    /// Make this node a one-member cluster. Call only on a fresh node that
    /// is not joining anything; a second call is harmless.
    pub async fn initialize(&self, addr: NodeAddr) -> Result<(), String> {
        if self.is_initialized().await {
            return Ok(());
        }
        let members = BTreeMap::from([(self.core.id, addr)]);
        match self.core.raft.initialize(members).await {
            Ok(()) => Ok(()),
            Err(RaftError::APIError(openraft::error::InitializeError::NotAllowed(_))) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// A consistent view of the state as of the last applied batch.
    pub fn view(&self) -> KvView {
        self.core.shared.view()
    }

    /// The shared state-machine handle (views, snapshot bytes).
    pub fn state(&self) -> &Arc<SmShared> {
        &self.core.shared
    }

    /// The index applied on this node.
    pub fn applied_index(&self) -> u64 {
        *self.core.shared.applied_index().borrow()
    }

    /// The configuration this member runs with.
    pub fn config(&self) -> &ConsensusConfig {
        &self.core.cfg
    }

    /// Stop Raft and the endpoint. In-flight proposals finish or fail first.
    pub async fn shutdown(&self) {
        if let Err(e) = self.core.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown reported an error");
        }
        if let Some(endpoint) = &self.core.endpoint {
            endpoint.close(0u32.into(), b"shutting down");
        }
        if let Err(e) = self.core.shared.sync().await {
            tracing::error!(error = %e, "final flush failed");
        }
        self.core.shared.close().await;
    }
}
