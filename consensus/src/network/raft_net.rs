//! openraft's network traits over [`PeerClients`].
//!
//! `new_client` never connects; the connection is made (and cached) on the
//! first RPC. Our deadline is a little under openraft's own TTL so that we,
//! not openraft's cancellation, end a slow call, and the cached connection
//! is dropped cleanly.
//!
//! Every accepted append (heartbeats included) is noted in [`Acks`]: the
//! leader's own measure of when a quorum last answered it. openraft's
//! `millis_since_quorum_ack` is computed only when its metrics are
//! reported, which an isolated leader stops doing, so it cannot tell a
//! cut-off leader from a healthy one.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// tokio's clock: the real one in a node, the paused one in the simulation.
use tokio::time::Instant;

use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};

use super::rpc::{PeerRequest, PeerResponse};
use super::transport::{PeerClients, TransportError};
use crate::metrics::StageMetrics;
use crate::types::typ::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    RaftError, VoteRequest, VoteResponse,
};
use crate::types::{NodeAddr, NodeId, TypeConfig};

/// When each peer last accepted an append from this node, and in which term.
#[derive(Default)]
pub struct Acks {
    last: Mutex<HashMap<NodeId, (u64, Instant)>>,
}

impl Acks {
    fn note(&self, peer: NodeId, term: u64) {
        self.last
            .lock()
            .expect("acks lock")
            .insert(peer, (term, Instant::now()));
    }

    /// How long ago a majority of `voters` (this node, `me`, counting as
    /// now) last accepted an append of `term`; `None` if they never did.
    pub fn quorum_age(&self, me: NodeId, voters: &BTreeSet<NodeId>, term: u64) -> Option<Duration> {
        let now = Instant::now();
        let last = self.last.lock().expect("acks lock");
        let mut ages: Vec<Duration> = voters
            .iter()
            .filter_map(|v| {
                if *v == me {
                    return Some(Duration::ZERO);
                }
                match last.get(v) {
                    Some((t, at)) if *t == term => Some(now.saturating_duration_since(*at)),
                    _ => None,
                }
            })
            .collect();
        ages.sort();
        let majority = voters.len() / 2 + 1;
        ages.get(majority.checked_sub(1)?).copied()
    }
}

/// Hands openraft a client per peer.
#[derive(Clone)]
pub struct Network {
    pub(crate) clients: Arc<PeerClients>,
    pub(crate) acks: Arc<Acks>,
    pub(crate) stages: Arc<StageMetrics>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerLink;

    async fn new_client(&mut self, target: NodeId, node: &NodeAddr) -> Self::Network {
        PeerLink {
            target,
            node: node.clone(),
            clients: self.clients.clone(),
            acks: self.acks.clone(),
            stages: self.stages.clone(),
        }
    }
}

/// openraft's view of one peer.
pub struct PeerLink {
    target: NodeId,
    node: NodeAddr,
    clients: Arc<PeerClients>,
    acks: Arc<Acks>,
    stages: Arc<StageMetrics>,
}

fn rpc_error<E: std::error::Error>(e: TransportError) -> RPCError<NodeId, NodeAddr, RaftError<E>> {
    match e {
        TransportError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&e)),
        e => RPCError::Network(NetworkError::new(&e)),
    }
}

fn deadline(option: &RPCOption) -> Duration {
    let ttl = option.hard_ttl();
    ttl.saturating_sub(ttl / 10).max(Duration::from_millis(1))
}

impl PeerLink {
    async fn call<E: std::error::Error>(
        &self,
        req: PeerRequest,
        option: &RPCOption,
    ) -> Result<PeerResponse, RPCError<NodeId, NodeAddr, RaftError<E>>> {
        self.clients
            .call(self.target, &self.node.raft, &req, deadline(option))
            .await
            .map_err(rpc_error)
    }

    fn unexpected<E: std::error::Error>(
        &self,
        resp: PeerResponse,
    ) -> RPCError<NodeId, NodeAddr, RaftError<E>> {
        let e = TransportError::Refused {
            addr: self.node.raft.clone(),
            reason: format!("unexpected response {resp:?}"),
        };
        RPCError::Network(NetworkError::new(&e))
    }

    fn remote<E: std::error::Error>(
        &self,
        e: RaftError<E>,
    ) -> RPCError<NodeId, NodeAddr, RaftError<E>> {
        RPCError::RemoteError(RemoteError::new_with_node(
            self.target,
            self.node.clone(),
            e,
        ))
    }
}

impl RaftNetwork<TypeConfig> for PeerLink {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse, RPCError<NodeId, NodeAddr, RaftError>> {
        let entries = rpc.entries.len() as u64;
        let term = rpc.vote.leader_id().get_term();
        let req = PeerRequest::AppendEntries(rpc);
        let started = std::time::Instant::now();
        let answer = self
            .clients
            .call(self.target, &self.node.raft, &req, deadline(&option))
            .await;
        self.stages.append_rpc.observe(started.elapsed());
        match answer {
            Ok(PeerResponse::AppendEntries(r)) => {
                if matches!(&r, Ok(ok) if !matches!(ok, AppendEntriesResponse::HigherVote(_))) {
                    self.acks.note(self.target, term);
                }
                r.map_err(|e| self.remote(e))
            }
            Ok(other) => Err(self.unexpected(other)),
            // Entries that do not fit one frame together: openraft retries
            // at once with fewer (each entry alone fits: the batcher keeps
            // entries under a fraction of the cap).
            Err(TransportError::RequestTooLarge { .. }) if entries > 1 => Err(
                RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(entries / 2)),
            ),
            Err(e) => Err(rpc_error(e)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse, RPCError<NodeId, NodeAddr, RaftError<InstallSnapshotError>>>
    {
        match self
            .call(PeerRequest::InstallSnapshot(rpc), &option)
            .await?
        {
            PeerResponse::InstallSnapshot(r) => r.map_err(|e| self.remote(e)),
            other => Err(self.unexpected(other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest,
        option: RPCOption,
    ) -> Result<VoteResponse, RPCError<NodeId, NodeAddr, RaftError>> {
        match self.call(PeerRequest::Vote(rpc), &option).await? {
            PeerResponse::Vote(r) => r.map_err(|e| self.remote(e)),
            other => Err(self.unexpected(other)),
        }
    }
}
