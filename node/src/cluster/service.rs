//! The node's answers to cluster requests from peers (see [`super::rpc`]).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use paddle_consensus::network::Peer;
use paddle_consensus::node::AppRpc;
use paddle_consensus::{Consensus, Role};
use paddle_proto::codec;
use paddle_proto::{ClusterCommand, ClusterReply, Command, Reply};
use tokio::sync::watch;

use super::datadir::DataDir;
use super::membership;
use super::registry;
pub use super::rpc::{call_member, ADMIT_CALL, SHORT_CALL};
use super::rpc::{ClusterFactsWire, ClusterRequest, ClusterResponse, NodeStatus};
use super::secrets;

/// Why a node stops on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Running,
    /// The cluster removed this node.
    Removed,
}

/// Shared by the RPC handler and the HTTP API.
pub struct ClusterService {
    pub consensus: Consensus,
    pub data_dir: DataDir,
    pub stop: watch::Sender<StopReason>,
    /// This node's watcher count per sale (from the WebSocket hub).
    pub watchers: WatcherCounts,
    /// This node's open WebSocket connections (from the API's limits).
    pub clients: Arc<dyn Fn() -> u64 + Send + Sync>,
}

/// `(sale, watchers)` of this node's WebSocket rooms, asked by peers.
pub type WatcherCounts = Arc<dyn Fn() -> Vec<(u64, u64)> + Send + Sync>;

/// The code of the answer every member gives a removed node.
pub const REMOVED_CODE: &str = "you_were_removed";

impl ClusterService {
    async fn check_join_secret(&self, secret: &str) -> Result<(), ClusterResponse> {
        let mut view = self.consensus.view();
        let matches = |v: &paddle_consensus::KvView| {
            registry::join_hash(v).is_some_and(|h| secrets::token_matches(secret, &h))
        };
        if !matches(&view) {
            // This node may not have applied a rotation yet (the operator
            // rotated through another node, or through this one a moment
            // ago): judge a refusal on the leader's latest state.
            if let Ok(latest) = self.consensus.linearizable_view(SHORT_CALL).await {
                view = latest;
            }
        }
        match registry::join_hash(&view) {
            Some(hash) if secrets::token_matches(secret, &hash) => Ok(()),
            Some(_) => Err(ClusterResponse::error(
                "bad_join_token",
                "the join token's secret is wrong or was rotated; ask the operator for a current token",
            )),
            None => Err(ClusterResponse::error("not_ready", "this node has not seen the cluster's join secret yet")),
        }
    }

    /// The CA for a voter that asks (the caller is a member: checked before).
    fn share_ca(&self, from: Peer) -> ClusterResponse {
        let Peer::Member(caller) = from else {
            return ClusterResponse::error("forbidden", "this request needs a member certificate");
        };
        if !self.consensus.facts().voters.contains(&caller) {
            return ClusterResponse::error(
                "forbidden",
                format!("node {caller} is not a voter; only voters hold the CA key"),
            );
        }
        match self.data_dir.ca() {
            Ok(Some(ca)) => {
                tracing::info!(to = caller, "handing the CA key to a voter");
                ClusterResponse::Ca {
                    cert_pem: ca.cert_pem,
                    key_pem: ca.key_pem,
                }
            }
            _ => ClusterResponse::error("no_ca", "this node does not hold the CA key"),
        }
    }

    /// Status of this node.
    pub fn status(&self) -> NodeStatus {
        let facts = self.consensus.facts();
        NodeStatus {
            facts: ClusterFactsWire::from(&facts),
            leader_contact_ms: self
                .consensus
                .leader_contact_age()
                .map(|d| d.as_millis() as u64),
            clients: (self.clients)(),
        }
    }

    async fn join(&self, secret: &str, csr_pem: &str) -> ClusterResponse {
        if let Err(refusal) = self.check_join_secret(secret).await {
            return refusal;
        }
        let node_id = match self
            .consensus
            .propose(Command::Cluster(ClusterCommand::AllocateNodeId))
            .await
        {
            Ok(c) => match c.reply {
                Reply::Cluster(ClusterReply::NodeId(id)) => id,
                other => {
                    return ClusterResponse::error(
                        "internal",
                        format!("unexpected reply {other:?}"),
                    )
                }
            },
            Err(e) => {
                return ClusterResponse::error(
                    "no_quorum",
                    format!("could not allocate a node id: {e}"),
                )
            }
        };
        match self.sign(csr_pem, node_id).await {
            Ok(cert_pem) => match std::fs::read_to_string(self.data_dir.ca_cert()) {
                Ok(ca_pem) => {
                    tracing::info!(node_id, "issued a certificate to a joining node");
                    ClusterResponse::Joined {
                        node_id,
                        cert_pem,
                        ca_pem,
                    }
                }
                Err(e) => ClusterResponse::error(
                    "internal",
                    format!("cannot read the CA certificate: {e}"),
                ),
            },
            Err(e) => e,
        }
    }

    /// Sign with our CA key, or ask the members that hold one.
    async fn sign(&self, csr_pem: &str, node_id: u64) -> Result<String, ClusterResponse> {
        match self.data_dir.ca() {
            Ok(Some(ca)) => {
                return ca
                    .sign_node(csr_pem, node_id)
                    .map_err(|e| ClusterResponse::error("bad_request", e.to_string()))
            }
            Ok(None) => {}
            Err(e) => return Err(ClusterResponse::error("internal", e.to_string())),
        }
        for (id, _) in self.consensus.other_members() {
            let req = ClusterRequest::Sign {
                csr_pem: csr_pem.to_string(),
                node_id,
            };
            if let Ok(ClusterResponse::Signed { cert_pem }) =
                call_member(&self.consensus, id, &req, SHORT_CALL).await
            {
                return Ok(cert_pem);
            }
        }
        Err(ClusterResponse::error(
            "no_ca",
            "no reachable node holds the cluster CA key (every voter gets it; see deploy/README.md)",
        ))
    }

    /// Run `req` on the leader: here if we lead, else forwarded.
    pub async fn on_leader(&self, req: ClusterRequest, deadline: Duration) -> ClusterResponse {
        let me = self.consensus.id();
        match self.consensus.current_leader() {
            Some(l) if l == me => match req {
                ClusterRequest::Admit { node_id, addr, .. } => {
                    membership::admit(&self.consensus, node_id, addr).await
                }
                ClusterRequest::Change(change) => membership::change(&self.consensus, change).await,
                other => ClusterResponse::error(
                    "bad_request",
                    format!("{other:?} is not a leader request"),
                ),
            },
            Some(l) => call_member(&self.consensus, l, &req, deadline)
                .await
                .unwrap_or_else(|e| {
                    ClusterResponse::error("no_quorum", format!("could not reach the leader: {e}"))
                }),
            None => ClusterResponse::error(
                "no_quorum",
                "no leader is known right now; try again shortly",
            ),
        }
    }

    async fn handle(self: Arc<Self>, from: Peer, req: ClusterRequest) -> ClusterResponse {
        let member = matches!(from, Peer::Member(_));
        if let Peer::Member(caller) = from {
            // A node removed while it was down still holds a valid
            // certificate and an old membership; it learns here that it is
            // out (see `serve::ask_whether_removed`).
            if registry::is_removed(&self.consensus.view(), caller) {
                return ClusterResponse::error(
                    REMOVED_CODE,
                    format!("node {caller} was removed from this cluster"),
                );
            }
        }
        match req {
            ClusterRequest::Join { secret, csr_pem } => self.join(&secret, &csr_pem).await,
            ClusterRequest::Admit {
                ref secret,
                node_id,
                ..
            } => {
                if let Err(refusal) = self.check_join_secret(secret).await {
                    return refusal;
                }
                if from != Peer::Member(node_id) && !member {
                    return ClusterResponse::error(
                        "forbidden",
                        "admit needs the joining node's certificate",
                    );
                }
                let view = self.consensus.view();
                if registry::is_removed(&view, node_id) {
                    return ClusterResponse::error(
                        "node_id_removed",
                        format!(
                            "node id {node_id} was removed from this cluster and cannot come back; \
                             wipe that node's data dir and join it as a new node"
                        ),
                    );
                }
                if node_id >= registry::next_node_id(&view) || node_id == 0 {
                    return ClusterResponse::error(
                        "unknown_node_id",
                        format!("node id {node_id} was never issued"),
                    );
                }
                self.on_leader(req, ADMIT_CALL).await
            }
            _ if !member => {
                ClusterResponse::error("forbidden", "this request needs a member certificate")
            }
            ClusterRequest::Sign { csr_pem, node_id } => match self.data_dir.ca() {
                Ok(Some(ca)) => match ca.sign_node(&csr_pem, node_id) {
                    Ok(cert_pem) => ClusterResponse::Signed { cert_pem },
                    Err(e) => ClusterResponse::error("bad_request", e.to_string()),
                },
                _ => ClusterResponse::error("no_ca", "this node does not hold the CA key"),
            },
            ClusterRequest::Status => ClusterResponse::Status(self.status()),
            ClusterRequest::TriggerElection => {
                // Leaders of the previous build ask this way; leaders of this
                // one send `PeerRequest::Campaign` to consensus directly.
                match self.consensus.campaign().await {
                    Ok(()) => ClusterResponse::Done,
                    Err(e) => ClusterResponse::error("internal", e),
                }
            }
            ClusterRequest::Removed { node_id } => {
                if node_id == self.consensus.id() && self.consensus.facts().role != Role::Leader {
                    tracing::warn!(
                        node_id,
                        "the leader says this node was removed from the cluster"
                    );
                    let _ = self.stop.send(StopReason::Removed);
                }
                ClusterResponse::Done
            }
            ClusterRequest::Change(_) => self.on_leader(req, ADMIT_CALL).await,
            ClusterRequest::Presence => ClusterResponse::Presence((self.watchers)()),
            ClusterRequest::ShareCa => self.share_ca(from),
        }
    }
}

/// Adapter from consensus's byte-level [`AppRpc`] to [`ClusterService`].
pub struct ClusterRpc(pub Arc<ClusterService>);

impl AppRpc for ClusterRpc {
    fn handle(&self, from: Peer, body: Vec<u8>) -> BoxFuture<'static, Result<Vec<u8>, String>> {
        let svc = self.0.clone();
        Box::pin(async move {
            let req: ClusterRequest = match codec::decode(&body) {
                Ok(r) => r,
                Err(e) => {
                    // Anyone can be an anonymous peer: no WARN line per
                    // stranger's garbage (consensus logs its refusals
                    // throttled); a member sending garbage is a bug.
                    if from == Peer::Anonymous {
                        tracing::debug!(error = %e, "refused a malformed cluster request");
                    } else {
                        tracing::warn!(error = %e, ?from, "refused a malformed cluster request");
                    }
                    return Err(format!("malformed cluster request: {e}"));
                }
            };
            let resp = svc.handle(from, req).await;
            codec::encode(&resp).map_err(|e| e.to_string())
        })
    }
}
