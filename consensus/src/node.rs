//! A running Raft member: storage, transport and openraft wired together,
//! plus the operations the application uses (propose, read, facts).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use openraft::error::RaftError;
use openraft::{ServerState, SnapshotPolicy};
use paddle_proto::{Command, Reply};

use crate::app::Application;
use crate::clock::{ClockConfig, ClusterClock};
use crate::kv::KvView;
use crate::metrics::ProposalMetrics;
use crate::network::raft_net::Acks;
use crate::network::{
    server, ForwardError, Handler, Network, Peer, PeerClients, PeerRequest, PeerResponse,
};
use crate::storage::{self, SmShared};
use crate::tls::NodeIdentity;
use crate::types::typ::Raft;
use crate::types::{NodeAddr, NodeId};

/// Most commands in one log entry (group commit). Kept small enough that an
/// entry stays inline in sled's log (larger values go to blob files, which
/// cost a file create and an extra fsync each).
const BATCH_COMMANDS: usize = 256;
/// Entries being written at once by the batcher.
const BATCHES_IN_FLIGHT: usize = 4;
/// A log entry (and a forwarded batch) holds at most this fraction of the
/// peer frame cap in encoded commands, so several entries fit one append.
const BATCH_BYTES_PER_FRAME: usize = 8;
/// The largest command accepted is this fraction of the frame cap: an entry
/// holding it alone still fits a frame with room to spare.
const COMMAND_BYTES_PER_FRAME: usize = 4;

/// Tunables of one member.
///
/// The append RPC's timeout is the heartbeat interval, so the heartbeat must
/// cover a follower's fsync plus a round trip: 50 ms leaves room for fsync
/// spikes of 10 ms on shared disks. The election timeout bounds failover:
/// followers refuse votes while the old leader's lease (the longest election
/// timeout) runs, so a new leader needs at least that long. On slow disks
/// raise the heartbeat to 250–500 ms and the election timeouts with it.
#[derive(Debug, Clone)]
pub struct ConsensusConfig {
    pub heartbeat_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// Build a snapshot after this many entries since the last one.
    pub snapshot_logs: u64,
    /// Entries kept in the log behind a snapshot (for slightly lagging peers).
    pub keep_logs_after_snapshot: u64,
    /// Most entries in one append RPC.
    pub max_payload_entries: u64,
    /// Largest frame sent or accepted between nodes.
    pub frame_cap_bytes: usize,
    pub install_snapshot_timeout_ms: u64,
    pub snapshot_chunk_bytes: u64,
    /// How long `propose` may take in all before it reports an unknown outcome.
    pub propose_timeout_ms: u64,
    /// How many times `propose` re-sends when leadership moves.
    pub forward_retries: u32,
    /// Cluster time: skew bound and sampling interval.
    pub clock: ClockConfig,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig {
            heartbeat_ms: 50,
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            snapshot_logs: 10_000,
            keep_logs_after_snapshot: 1_000,
            max_payload_entries: 64,
            frame_cap_bytes: 16 * 1024 * 1024,
            install_snapshot_timeout_ms: 5_000,
            snapshot_chunk_bytes: 1024 * 1024,
            propose_timeout_ms: 5_000,
            forward_retries: 5,
            clock: ClockConfig::default(),
        }
    }
}

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

/// Why a proposal did not produce a committed reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// No leader could be reached in time (no quorum): nothing was appended.
    #[error("no leader reachable: the cluster has no quorum right now")]
    NoLeader,
    /// The command may or may not have been committed (timeout after it was
    /// sent). Commands carrying an idempotency key can be sent again.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// Refused without being appended (shutting down, membership change).
    #[error("refused: {0}")]
    Refused(String),
}

/// Why a read could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("no leader reachable for a linearizable read")]
    NoLeader,
    #[error("index {wanted} not applied within {waited_ms} ms (applied: {applied})")]
    Timeout {
        wanted: u64,
        applied: u64,
        waited_ms: u64,
    },
}

/// A committed proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The log index it was committed at.
    pub index: u64,
    /// What the state machine answered.
    pub reply: Reply,
}

/// Application requests carried between nodes (joining, status). The node
/// installs one; consensus only carries the bytes.
pub trait AppRpc: Send + Sync + 'static {
    fn handle(&self, from: Peer, body: Vec<u8>) -> BoxFuture<'static, Result<Vec<u8>, String>>;
}

/// Role of a node, as shown to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    Learner,
    Shutdown,
    /// Elected leader, but no quorum has answered it for longer than the
    /// stale threshold (cut off by a partition): it claims no leadership,
    /// takes no proposals and serves no leader reads until a quorum answers
    /// again or it learns of a newer leader.
    Isolated,
}

/// Everything an operator or `/metrics` wants to know about this member.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterFacts {
    pub id: NodeId,
    pub role: Role,
    pub term: u64,
    pub leader: Option<NodeId>,
    pub last_log: Option<u64>,
    pub committed: u64,
    pub applied: u64,
    pub snapshot: Option<u64>,
    pub purged: Option<u64>,
    pub voters: BTreeSet<NodeId>,
    pub learners: BTreeSet<NodeId>,
    pub nodes: BTreeMap<NodeId, NodeAddr>,
    /// Highest index each peer is known to hold (on the leader only).
    pub matched: BTreeMap<NodeId, Option<u64>>,
    /// On the leader: ms since a quorum last acknowledged it.
    pub millis_since_quorum_ack: Option<u64>,
    /// True while membership is in a joint (changing) configuration.
    pub joint: bool,
}

struct Core {
    id: NodeId,
    raft: Raft,
    shared: Arc<SmShared>,
    clients: Arc<PeerClients>,
    endpoint: quinn::Endpoint,
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
    /// False while leadership is being handed over: the leader appends
    /// nothing new, so followers' leases can expire and the successor win.
    accepting: std::sync::atomic::AtomicBool,
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
        let raft_config = openraft::Config {
            cluster_name: "paddle".into(),
            heartbeat_interval: cfg.heartbeat_ms,
            election_timeout_min: cfg.election_timeout_min_ms,
            election_timeout_max: cfg.election_timeout_max_ms,
            install_snapshot_timeout: cfg.install_snapshot_timeout_ms,
            max_payload_entries: cfg.max_payload_entries,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(cfg.snapshot_logs),
            max_in_snapshot_log_to_keep: cfg.keep_logs_after_snapshot,
            snapshot_max_chunk_size: cfg.snapshot_chunk_bytes,
            purge_batch_size: 256,
            ..Default::default()
        }
        .validate()
        .map_err(|e| StartError::Config(e.to_string()))?;

        let (log, sm) =
            storage::open(data_dir, app).map_err(|e| StartError::Storage(e.to_string()))?;
        let shared = sm.shared();
        let committed = log.committed_index();
        let endpoint = crate::network::transport::bind_endpoint(identity, bind).map_err(|e| {
            StartError::Bind {
                addr: bind,
                reason: e.to_string(),
            }
        })?;
        let clients = Arc::new(PeerClients::new(
            endpoint.clone(),
            identity,
            cfg.frame_cap_bytes,
        )?);
        let acks = Arc::new(Acks::default());
        let network = Network {
            clients: clients.clone(),
            acks: acks.clone(),
        };
        let clock = Arc::new(ClusterClock::new(identity.node_id, cfg.clock.clone()));
        let raft = Raft::new(identity.node_id, Arc::new(raft_config), network, log, sm)
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        let last_stamp = Arc::new(AtomicU64::new(0));
        let forwarder = crate::forwarder::Forwarder::start(
            clients.clone(),
            Duration::from_millis(cfg.propose_timeout_ms),
            cfg.frame_cap_bytes / BATCH_BYTES_PER_FRAME,
        );
        let batcher = crate::batcher::Batcher::start(
            raft.clone(),
            last_stamp.clone(),
            clock.clone(),
            BATCH_COMMANDS,
            cfg.frame_cap_bytes / BATCH_BYTES_PER_FRAME,
            BATCHES_IN_FLIGHT,
        );
        let core = Arc::new(Core {
            id: identity.node_id,
            raft,
            shared,
            clients,
            endpoint: endpoint.clone(),
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
            cfg,
        });
        tokio::spawn(server::serve(
            endpoint,
            core.clone(),
            core.cfg.frame_cap_bytes,
        ));
        tokio::spawn(leader_watchdog(Arc::downgrade(&core)));
        tokio::spawn(clock_sampler(Arc::downgrade(&core)));
        tracing::info!(node = core.id, %bind, "raft member started");
        Ok(Consensus { core })
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.core.id
    }

    /// The underlying openraft handle, for membership changes.
    pub fn raft(&self) -> &Raft {
        &self.core.raft
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
        self.core.endpoint.local_addr()
    }

    /// Install the handler for application requests from peers.
    pub fn set_app_rpc(&self, handler: Arc<dyn AppRpc>) {
        let _ = self.core.app_rpc.set(handler);
    }

    /// Proposal counters and the commit-latency histogram.
    pub fn proposal_metrics(&self) -> &ProposalMetrics {
        &self.core.metrics
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

    /// Wait until this node has applied `index`, then return a view at or
    /// after it. Read-your-writes for a client that carries its last index.
    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> Result<KvView, ReadError> {
        let mut rx = self.core.shared.applied_index();
        let started = Instant::now();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|applied| *applied >= index)).await;
        match reached {
            Ok(Ok(_)) => Ok(self.view()),
            _ => Err(ReadError::Timeout {
                wanted: index,
                applied: self.applied_index(),
                waited_ms: started.elapsed().as_millis() as u64,
            }),
        }
    }

    /// A view that reflects every write committed before this call started
    /// (linearizable): the leader confirms its leadership with a quorum and
    /// names a read index; this node waits until it has applied that index.
    pub async fn linearizable_view(&self, timeout: Duration) -> Result<KvView, ReadError> {
        let started = Instant::now();
        let index = self.read_index(timeout).await?;
        self.wait_applied(index, timeout.saturating_sub(started.elapsed()))
            .await
    }

    async fn read_index(&self, timeout: Duration) -> Result<u64, ReadError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // A node cut off from the leader fails at once rather than
            // hanging until the partition heals.
            let cut_off = self.core.cut_off();
            if left.is_zero() || cut_off {
                return Err(ReadError::NoLeader);
            }
            match self.current_leader() {
                Some(l) if l == self.core.id => {
                    if let Ok(Ok(i)) =
                        tokio::time::timeout(left, self.core.local_read_index()).await
                    {
                        return Ok(i);
                    }
                }
                Some(l) => {
                    if let Some(addr) = self.node_addr(l) {
                        let resp = self
                            .core
                            .clients
                            .call(l, &addr.raft, &PeerRequest::ReadIndex, left)
                            .await;
                        if let Ok(PeerResponse::ReadIndex(Ok(i))) = resp {
                            return Ok(i);
                        }
                    }
                }
                None => {}
            }
            tokio::time::sleep(Duration::from_millis(self.core.cfg.heartbeat_ms).min(left)).await;
        }
    }

    /// The leader this node currently knows, if any. A leader that no
    /// quorum has answered for longer than the stale threshold does not
    /// count itself (see [`Role::Isolated`]).
    pub fn current_leader(&self) -> Option<NodeId> {
        let leader = self.core.raft.metrics().borrow().current_leader;
        if leader == Some(self.core.id) && self.core.isolated() {
            return None;
        }
        leader
    }

    /// The address of a member (voter or learner) from the membership.
    pub fn node_addr(&self, id: NodeId) -> Option<NodeAddr> {
        let m = self.core.raft.metrics();
        let m = m.borrow();
        m.membership_config.membership().get_node(&id).cloned()
    }

    /// Propose a command: on the leader it is appended directly, elsewhere it
    /// is forwarded to the leader. Retries (a bounded number of times) only
    /// when the command certainly was not appended.
    pub async fn propose(&self, command: Command) -> Result<Committed, ProposeError> {
        let started = Instant::now();
        let bytes = paddle_proto::codec::encoded_len(&command);
        let most = self.core.cfg.frame_cap_bytes / COMMAND_BYTES_PER_FRAME;
        if bytes > most {
            return Err(ProposeError::Refused(format!(
                "a command of {bytes} bytes is over the {most} bytes a log entry may carry \
                 (a quarter of raft.frame_cap_bytes)"
            )));
        }
        let result = self.propose_inner(command, started).await;
        let m = &self.core.metrics;
        match &result {
            Ok(_) => {
                m.committed.fetch_add(1, Ordering::Relaxed);
                m.latency.observe(started.elapsed());
            }
            Err(_) => {
                m.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// Propose a command that carries its own idempotency key (a bid id):
    /// while its outcome is unknown, propose it again until `deadline` has
    /// passed; the application answers a repeat with the first outcome.
    ///
    /// An answer is definite only when it is known. Once an attempt may have
    /// reached a leader, a later attempt that finds no leader (or is refused)
    /// says nothing about the first, which may still commit: the result is
    /// then `Unknown`, never `NoLeader`. Only a command that certainly never
    /// left this node is answered `NoLeader` or `Refused`.
    pub async fn propose_idempotent(
        &self,
        command: Command,
        deadline: Duration,
    ) -> Result<Committed, ProposeError> {
        let started = Instant::now();
        let mut unknown: Option<String> = None;
        loop {
            match self.propose(command.clone()).await {
                Ok(c) => return Ok(c),
                Err(ProposeError::Unknown(why)) => unknown = Some(why),
                Err(definite) => match &unknown {
                    None => return Err(definite),
                    Some(why) => tracing::debug!(
                        first = %why, now = %definite,
                        "a retry of an unknown outcome found no leader; the first attempt may still commit"
                    ),
                },
            }
            if started.elapsed() >= deadline {
                let why = unknown.unwrap_or_default();
                return Err(ProposeError::Unknown(why));
            }
            tracing::debug!("outcome unknown; proposing the same command again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn propose_inner(
        &self,
        command: Command,
        started: Instant,
    ) -> Result<Committed, ProposeError> {
        let timeout = Duration::from_millis(self.core.cfg.propose_timeout_ms);
        let pause = Duration::from_millis(self.core.cfg.heartbeat_ms);
        let mut attempts = 0u32;
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(ProposeError::NoLeader);
            }
            let outcome: Result<(), Option<NodeId>> = match self.current_leader() {
                None => Err(None),
                Some(l) if l == self.core.id => {
                    match self.core.propose_local(command.clone(), left).await {
                        Ok((index, reply)) => return Ok(Committed { index, reply }),
                        Err(ForwardError::NotLeader { leader }) => Err(leader),
                        Err(ForwardError::Unknown(e)) => return Err(ProposeError::Unknown(e)),
                        Err(ForwardError::Refused(e)) => return Err(ProposeError::Refused(e)),
                    }
                }
                Some(l) => match self.node_addr(l) {
                    None => Err(None),
                    Some(addr) => {
                        self.core.metrics.forwarded.fetch_add(1, Ordering::Relaxed);
                        match self
                            .core
                            .forwarder
                            .forward(l, addr.raft, command.clone())
                            .await
                        {
                            Ok(Ok((index, reply))) => return Ok(Committed { index, reply }),
                            Ok(Err(ForwardError::NotLeader { leader })) => Err(leader),
                            Ok(Err(ForwardError::Unknown(e))) => {
                                return Err(ProposeError::Unknown(e))
                            }
                            Ok(Err(ForwardError::Refused(e))) => {
                                return Err(ProposeError::Refused(e))
                            }
                            Err(e) if e.not_sent() => Err(None),
                            Err(e) => return Err(ProposeError::Unknown(e.to_string())),
                        }
                    }
                },
            };
            // Not appended anywhere: leadership is moving. Wait until a new
            // leader is known (or a growing pause passes), then retry.
            let tried = self.current_leader();
            let hint = outcome.err().flatten();
            attempts += 1;
            if attempts > self.core.cfg.forward_retries {
                return Err(ProposeError::NoLeader);
            }
            let backoff = (pause * 2u32.saturating_pow(attempts - 1)).min(Duration::from_secs(1));
            let wait = backoff.min(timeout.saturating_sub(started.elapsed()));
            let mut metrics = self.core.raft.metrics();
            let _ = tokio::time::timeout(wait, async {
                loop {
                    let leader = metrics.borrow_and_update().current_leader;
                    if leader.is_some()
                        && (leader != tried
                            || hint.is_some_and(|h| Some(h) == leader && h != self.core.id))
                    {
                        return;
                    }
                    if metrics.changed().await.is_err() {
                        return;
                    }
                }
            })
            .await;
        }
    }

    /// Role, term, leader, indexes and membership, from openraft's metrics.
    pub fn facts(&self) -> ClusterFacts {
        let m = self.core.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let nodes: BTreeMap<NodeId, NodeAddr> =
            membership.nodes().map(|(id, n)| (*id, n.clone())).collect();
        let learners = nodes
            .keys()
            .filter(|id| !voters.contains(id))
            .copied()
            .collect();
        let role = match m.state {
            ServerState::Leader => Role::Leader,
            ServerState::Follower => Role::Follower,
            ServerState::Candidate => Role::Candidate,
            ServerState::Learner => Role::Learner,
            ServerState::Shutdown => Role::Shutdown,
        };
        let isolated = role == Role::Leader && self.core.isolated();
        let role = if isolated { Role::Isolated } else { role };
        let matched = m
            .replication
            .as_ref()
            .map(|r| r.iter().map(|(id, l)| (*id, l.map(|l| l.index))).collect())
            .unwrap_or_default();
        ClusterFacts {
            id: m.id,
            role,
            term: m.current_term,
            leader: m.current_leader.filter(|_| !isolated),
            last_log: m.last_log_index,
            committed: self.core.committed.load(Ordering::Relaxed),
            applied: m.last_applied.map(|l| l.index).unwrap_or(0),
            snapshot: m.snapshot.map(|l| l.index),
            purged: m.purged.map(|l| l.index),
            voters,
            learners,
            nodes,
            matched,
            millis_since_quorum_ack: m.millis_since_quorum_ack,
            joint: membership.get_joint_config().len() > 1,
        }
    }

    /// How long since this node last heard from a working leader: on the
    /// leader, since a quorum accepted its appends (heartbeats included);
    /// elsewhere, since the leader's last accepted append. `None` = never.
    pub fn leader_contact_age(&self) -> Option<Duration> {
        self.core.leader_contact_age()
    }

    /// How long without a leader's contact before this node calls itself
    /// stale (and a leader calls itself isolated): three election timeouts
    /// (a healthy cluster elects within one), at least two seconds (a loaded
    /// machine can delay heartbeats past one).
    pub fn stale_after(&self) -> Duration {
        self.core.stale_after()
    }

    /// No leader known, or none heard from within [`Consensus::stale_after`]:
    /// reads are "as of" the applied index and writes are refused.
    pub fn is_stale(&self) -> bool {
        if self.current_leader().is_none() {
            return true;
        }
        self.leader_contact_age()
            .is_none_or(|a| a > self.stale_after())
    }

    /// Stop (false) or resume (true) appending new proposals and sending
    /// heartbeats on this node, for a leadership hand-over: callers see
    /// "not leader" and retry, and followers' leader leases run out.
    pub fn set_accepting(&self, accepting: bool) {
        self.core.accepting.store(accepting, Ordering::SeqCst);
        self.core.raft.runtime_config().heartbeat(accepting);
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
        self.core.endpoint.close(0u32.into(), b"shutting down");
        if let Err(e) = self.core.shared.sync().await {
            tracing::error!(error = %e, "final flush failed");
        }
        self.core.shared.close().await;
    }
}

impl Core {
    fn stale_after(&self) -> Duration {
        Duration::from_millis((3 * self.cfg.election_timeout_max_ms).max(2_000))
    }

    fn leader_contact_age(&self) -> Option<Duration> {
        let m = self.raft.metrics().borrow().clone();
        if m.state == ServerState::Leader {
            let voters: BTreeSet<NodeId> = m.membership_config.membership().voter_ids().collect();
            if voters.len() <= 1 {
                return Some(Duration::ZERO);
            }
            let since = self
                .leader_since
                .lock()
                .expect("lock")
                .filter(|(term, _)| *term == m.current_term)
                .map(|(_, at)| at.elapsed());
            return match self.acks.quorum_age(self.id, &voters, m.current_term) {
                // Winning the election was a quorum's answer too.
                Some(age) => Some(since.map_or(age, |s| age.min(s))),
                None => since,
            };
        }
        self.last_leader_contact
            .lock()
            .expect("lock")
            .map(|t| t.elapsed())
    }

    /// No leader heard from (as leader: no quorum answered) for longer than
    /// the stale threshold, counting from start when none ever was: reads
    /// that need the leader fail at once instead of waiting.
    fn cut_off(&self) -> bool {
        let stale = self.stale_after();
        match self.leader_contact_age() {
            Some(age) => age > stale,
            None => self.started.elapsed() > stale,
        }
    }

    /// Leading, but no quorum has answered for longer than the stale
    /// threshold: a partition has cut this node off.
    fn isolated(&self) -> bool {
        if self.raft.metrics().borrow().state != ServerState::Leader {
            return false;
        }
        self.leader_contact_age()
            .is_some_and(|a| a > self.stale_after())
    }

    async fn propose_local(
        &self,
        command: Command,
        timeout: Duration,
    ) -> Result<(u64, Reply), ForwardError> {
        if !self.accepting.load(Ordering::SeqCst) || self.isolated() {
            return Err(ForwardError::NotLeader { leader: None });
        }
        let rx = self.batcher.submit(command).await?;
        match tokio::time::timeout(timeout, rx).await {
            Err(_) => Err(ForwardError::Unknown(format!(
                "not committed within {timeout:?}"
            ))),
            Ok(Err(_)) => Err(ForwardError::Unknown("the batch was dropped".into())),
            Ok(Ok(outcome)) => outcome,
        }
    }

    async fn local_read_index(&self) -> Result<u64, ForwardError> {
        match self.raft.get_read_log_id().await {
            Ok((read, _applied)) => Ok(read.map(|l| l.index).unwrap_or(0)),
            Err(RaftError::APIError(openraft::error::CheckIsLeaderError::ForwardToLeader(f))) => {
                Err(ForwardError::NotLeader {
                    leader: f.leader_id,
                })
            }
            Err(RaftError::APIError(openraft::error::CheckIsLeaderError::QuorumNotEnough(e))) => {
                Err(ForwardError::Refused(e.to_string()))
            }
            Err(RaftError::Fatal(f)) => Err(ForwardError::Refused(f.to_string())),
        }
    }
}

/// Start an election as soon as the old leader's lease has run out.
///
/// openraft's own timer fires somewhere in [min, max] election timeout after
/// the last heartbeat, while the other followers still honour the dead
/// leader's lease (max election timeout); that first campaign is refused and
/// the next one comes a whole timeout later. Campaigning right after the
/// lease ends (plus one heartbeat of slack for the other followers' clocks)
/// makes failover take one lease instead of two timeouts.
async fn leader_watchdog(core: std::sync::Weak<Core>) {
    loop {
        let Some(core) = core.upgrade() else { return };
        let hb = Duration::from_millis(core.cfg.heartbeat_ms);
        let lease = Duration::from_millis(core.cfg.election_timeout_max_ms);
        let m = core.raft.metrics().borrow().clone();
        {
            let mut since = core.leader_since.lock().expect("lock");
            match (m.state, *since) {
                (ServerState::Leader, Some((term, _))) if term == m.current_term => {}
                (ServerState::Leader, _) => *since = Some((m.current_term, Instant::now())),
                _ => *since = None,
            }
        }
        if m.state == ServerState::Follower
            && m.membership_config
                .membership()
                .voter_ids()
                .any(|v| v == core.id)
        {
            let last = *core.last_leader_contact.lock().expect("lock");
            if let Some(last) = last {
                if last.elapsed() > lease + hb {
                    tracing::info!(
                        silent_ms = last.elapsed().as_millis() as u64,
                        "leader silent past its lease; campaigning"
                    );
                    *core.last_leader_contact.lock().expect("lock") = Some(Instant::now());
                    let _ = core.raft.trigger().elect().await;
                }
            }
        }
        drop(core);
        tokio::time::sleep(hb / 2).await;
    }
}

/// Measure every other member's clock once per sampling interval, and at
/// once when the membership changes (a new voter changes the median), and
/// recompute the cluster's time (see `clock.rs`).
async fn clock_sampler(core: std::sync::Weak<Core>) {
    loop {
        let Some(core) = core.upgrade() else { return };
        let interval = core.clock.sample_interval();
        let mut metrics = core.raft.metrics();
        let m = metrics.borrow_and_update().clone();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let members: BTreeMap<NodeId, NodeAddr> =
            membership.nodes().map(|(id, n)| (*id, n.clone())).collect();
        let timeout = interval.max(Duration::from_secs(1));
        let asks = members
            .iter()
            .filter(|(id, _)| **id != core.id)
            .map(|(id, addr)| {
                let core = core.clone();
                let (id, addr) = (*id, addr.raft.clone());
                async move {
                    let sent = Instant::now();
                    let r = core
                        .clients
                        .call(id, &addr, &PeerRequest::Clock, timeout)
                        .await;
                    if let Ok(PeerResponse::Clock {
                        received_us,
                        sent_us,
                    }) = r
                    {
                        core.clock
                            .record(id, sent, Instant::now(), received_us, sent_us);
                    }
                }
            });
        futures::future::join_all(asks).await;
        core.clock
            .update(voters, &members.keys().copied().collect());
        drop(core);
        let seen = *m.membership_config.log_id();
        let _ = tokio::time::timeout(interval, async {
            while metrics.changed().await.is_ok() {
                if *metrics.borrow_and_update().membership_config.log_id() != seen {
                    return;
                }
            }
        })
        .await;
    }
}

/// Refuse a Raft message whose claimed sender is not the certificate holder.
fn check_sender(peer: Peer, claimed: Option<NodeId>, kind: &str) -> Result<(), PeerResponse> {
    match (peer, claimed) {
        (Peer::Member(id), Some(c)) if id == c => Ok(()),
        (Peer::Member(id), c) => {
            tracing::warn!(cert = id, claimed = ?c, kind, "refused a raft message claiming another node id");
            Err(PeerResponse::Refused(format!(
                "certificate names node {id} but the message claims {c:?}"
            )))
        }
        (Peer::Anonymous, _) => {
            tracing::warn!(
                kind,
                "refused a raft message from a peer without a certificate"
            );
            Err(PeerResponse::Refused(
                "raft messages need a member certificate".into(),
            ))
        }
    }
}

impl Handler for Core {
    fn handle(self: Arc<Self>, peer: Peer, req: PeerRequest) -> BoxFuture<'static, PeerResponse> {
        Box::pin(async move {
            match req {
                PeerRequest::AppendEntries(r) => {
                    if let Err(refusal) =
                        check_sender(peer, r.vote.leader_id().voted_for(), "append_entries")
                    {
                        return refusal;
                    }
                    let result = self.raft.append_entries(r).await;
                    if matches!(result, Ok(ref ok) if !matches!(ok, openraft::raft::AppendEntriesResponse::HigherVote(_)))
                    {
                        *self.last_leader_contact.lock().expect("lock") = Some(Instant::now());
                    }
                    PeerResponse::AppendEntries(result)
                }
                PeerRequest::Vote(r) => {
                    if let Err(refusal) = check_sender(peer, r.vote.leader_id().voted_for(), "vote")
                    {
                        return refusal;
                    }
                    PeerResponse::Vote(self.raft.vote(r).await)
                }
                PeerRequest::InstallSnapshot(r) => {
                    if let Err(refusal) =
                        check_sender(peer, r.vote.leader_id().voted_for(), "install_snapshot")
                    {
                        return refusal;
                    }
                    PeerResponse::InstallSnapshot(self.raft.install_snapshot(r).await)
                }
                PeerRequest::ProposeMany(commands) => {
                    if peer == Peer::Anonymous {
                        tracing::warn!(
                            "refused forwarded proposals from a peer without a certificate"
                        );
                        return PeerResponse::Refused("proposals need a member certificate".into());
                    }
                    let timeout = Duration::from_millis(self.cfg.propose_timeout_ms);
                    let all = commands.into_iter().map(|c| self.propose_local(c, timeout));
                    PeerResponse::ProposedMany(futures::future::join_all(all).await)
                }
                PeerRequest::ReadIndex => {
                    if peer == Peer::Anonymous {
                        return PeerResponse::Refused("reads need a member certificate".into());
                    }
                    PeerResponse::ReadIndex(self.local_read_index().await)
                }
                PeerRequest::Clock => {
                    let received_us = self.clock.answer();
                    if peer == Peer::Anonymous {
                        return PeerResponse::Refused(
                            "clock requests need a member certificate".into(),
                        );
                    }
                    PeerResponse::Clock {
                        received_us,
                        sent_us: self.clock.answer(),
                    }
                }
                PeerRequest::App(body) => match self.app_rpc.get() {
                    Some(h) => PeerResponse::App(h.handle(peer, body).await),
                    None => PeerResponse::Refused(
                        "this node is not ready for application requests".into(),
                    ),
                },
            }
        })
    }
}
