//! The operator's membership changes, as the node answers them: consensus
//! decides and makes the change (`Consensus::admit`, `change_members`:
//! quorum safety, hand-over, joint consensus); this module adds what the
//! change means for the cluster's own state and wire: a removal is recorded
//! (the id is never admitted again) and the removed node told to stop, and
//! a change that needed a hand-over is asked of the new leader.

use std::time::{Duration, Instant};

use paddle_consensus::types::NodeAddr;
use paddle_consensus::{ChangeError, Changed, MemberChange};
use paddle_proto::{ClusterCommand, Command};

use super::rpc::{ClusterRequest, ClusterResponse, MembershipChange};
use paddle_consensus::Consensus;

use super::rpc::{call_member, ADMIT_CALL, SHORT_CALL};

/// How long the change after a hand-over waits out a leaderless moment.
const LEADERLESS_GRACE: Duration = Duration::from_secs(10);

fn refused(e: ChangeError) -> ClusterResponse {
    ClusterResponse::error(e.code(), e.to_string())
}

/// Admit a joining node (on the leader): learner, caught up, voter while
/// the cluster has fewer than `max_voters` voters. Idempotent.
pub async fn admit(consensus: &Consensus, id: u64, addr: NodeAddr) -> ClusterResponse {
    match consensus.admit(id, addr).await {
        Ok(voter) => ClusterResponse::Admitted { voter },
        Err(e) => refused(e),
    }
}

/// Apply an operator's membership change (on the leader).
pub async fn change(consensus: &Consensus, change: MembershipChange) -> ClusterResponse {
    let (member, removed) = match change {
        MembershipChange::Remove(id) => (MemberChange::Remove(id), Some(id)),
        MembershipChange::Promote(id) => (MemberChange::Promote(id), None),
        MembershipChange::Demote(id) => (MemberChange::Demote(id), None),
        MembershipChange::Lead(id) => (MemberChange::Lead(id), None),
    };
    let addr = removed.and_then(|id| consensus.node_addr(id));
    match consensus.change_members(member).await {
        Err(e) => refused(e),
        Ok(Changed::HandedOver { .. }) => finish_on_new_leader(consensus, change).await,
        Ok(Changed::Done) => match (removed, addr) {
            (Some(id), Some(addr)) => match finish_removal(consensus, id, addr).await {
                Ok(()) => ClusterResponse::Done,
                Err(e) => e,
            },
            _ => ClusterResponse::Done,
        },
    }
}

/// After a hand-over, have the new leader make `change`. Right after it
/// the cluster can be briefly leaderless (every follower stopped hearing
/// heartbeats and may campaign), so "no leader" answers are retried for a
/// while.
async fn finish_on_new_leader(consensus: &Consensus, change: MembershipChange) -> ClusterResponse {
    let deadline = Instant::now() + LEADERLESS_GRACE;
    loop {
        let answer = match consensus.current_leader() {
            Some(l) if l != consensus.id() => {
                call_member(&consensus, l, &ClusterRequest::Change(change), ADMIT_CALL)
                    .await
                    .unwrap_or_else(|e| {
                        ClusterResponse::error(
                            "no_quorum",
                            format!("could not reach the new leader: {e}"),
                        )
                    })
            }
            _ => ClusterResponse::error(
                "no_quorum",
                "leadership moved but no new leader is known yet; retry",
            ),
        };
        let transient = matches!(&answer, ClusterResponse::Error { code, .. }
            if code == "no_quorum" || code == "not_leader");
        if !transient || Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// After a removal commits: remember the id as gone and tell the node.
async fn finish_removal(
    consensus: &Consensus,
    id: u64,
    addr: NodeAddr,
) -> Result<(), ClusterResponse> {
    tracing::info!(node = id, "node removed from the cluster");
    // The membership no longer lists the node, so address it directly. It
    // may be dead: try a few times in the background, never block on it.
    let c = consensus.clone();
    tokio::spawn(async move {
        let Ok(body) = paddle_proto::codec::encode(&ClusterRequest::Removed { node_id: id }) else {
            return;
        };
        let req = paddle_consensus::network::PeerRequest::App(body);
        for _ in 0..5 {
            if c.peers()
                .call(id, &addr.raft, &req, SHORT_CALL)
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    consensus
        .propose(Command::Cluster(ClusterCommand::MarkRemoved {
            node_id: id,
        }))
        .await
        .map_err(|e| {
            ClusterResponse::error(
                "no_quorum",
                format!("removed, but recording it failed: {e}"),
            )
        })?;
    Ok(())
}
