//! What a member answers to its peers: Raft messages (checked against the
//! sender's certificate), forwarded proposals, read indexes, clock
//! requests and the application's own requests.

use std::sync::Arc;
use std::time::Duration;

// tokio's clock: the real one in a node, the paused one in the simulation.
use tokio::time::Instant;

use futures::future::BoxFuture;

use super::Core;
use crate::network::{Handler, Peer, PeerRequest, PeerResponse};
use crate::types::NodeId;

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
                    let timeout = Duration::from_millis(self.cfg.raft.propose_timeout_ms);
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
                PeerRequest::Campaign => {
                    if peer == Peer::Anonymous {
                        return PeerResponse::Refused(
                            "campaign requests need a member certificate".into(),
                        );
                    }
                    tracing::info!(from = ?peer, "asked to campaign by the leader handing over");
                    super::members::campaign_answer(
                        self.raft.trigger().elect().await.map_err(|e| e.to_string()),
                    )
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
