//! Leader-side membership changes: admit a joining node, remove, promote,
//! demote; hand leadership over before the leader itself goes.
//!
//! openraft does the joint consensus; this module decides whether a change
//! is safe (a majority of the remaining voters must be healthy), moves
//! leadership off a node that is about to stop voting, and tells a removed
//! node to stop.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use openraft::ChangeMembers;
use paddle_consensus::types::NodeAddr;
use paddle_consensus::ClusterFacts;
use paddle_proto::{ClusterCommand, Command};

use super::rpc::{ClusterRequest, ClusterResponse, MembershipChange};
use super::service::{call_member, ClusterService, SHORT_CALL};

/// A learner within this many entries of the leader counts as caught up.
pub const CATCH_UP_SLACK: u64 = 64;
/// A voter further behind than this is not counted as healthy.
const HEALTHY_LAG: u64 = 10_000;
/// How long the change after a hand-over waits out a leaderless moment.
const LEADERLESS_GRACE: Duration = Duration::from_secs(10);
/// How long a change waits for the remaining voters to look healthy
/// before it is refused as losing quorum.
const QUORUM_GRACE: Duration = Duration::from_secs(3);
/// How long an admitted node may take to catch up before we give up.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(600);

fn lag(f: &ClusterFacts, id: u64) -> Option<u64> {
    let matched = f.matched.get(&id).copied().flatten()?;
    Some(f.last_log.unwrap_or(0).saturating_sub(matched))
}

/// Is `id` healthy from the leader's point of view: it answers a status
/// request and is not far behind.
async fn healthy(svc: &ClusterService, f: &ClusterFacts, id: u64) -> bool {
    if id == f.id {
        return true;
    }
    if lag(f, id).is_none_or(|l| l > HEALTHY_LAG) {
        return false;
    }
    matches!(
        call_member(
            &svc.consensus,
            id,
            &ClusterRequest::Status,
            Duration::from_secs(1)
        )
        .await,
        Ok(ClusterResponse::Status(_))
    )
}

/// Wait until node `id` is within `slack` entries of the leader's log.
async fn wait_caught_up(
    svc: &ClusterService,
    id: u64,
    slack: u64,
    timeout: Duration,
) -> Result<(), ClusterResponse> {
    let started = Instant::now();
    loop {
        let f = svc.consensus.facts();
        if f.leader != Some(f.id) {
            return Err(ClusterResponse::error(
                "not_leader",
                "leadership moved while the node was catching up; retry",
            ));
        }
        if lag(&f, id).is_some_and(|l| l <= slack) {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(ClusterResponse::error(
                "catch_up_timeout",
                format!(
                    "node {id} did not catch up within {timeout:?} (lag: {:?})",
                    lag(&f, id)
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Add `id` as a learner, wait for it to catch up, and promote it while the
/// cluster has fewer than `max_voters` voters. Idempotent.
pub async fn admit(svc: &ClusterService, id: u64, addr: NodeAddr) -> ClusterResponse {
    let _guard = svc.change_lock.lock().await;
    let raft = svc.consensus.raft();
    let f = svc.consensus.facts();
    if f.nodes.get(&id) != Some(&addr) {
        tracing::info!(node = id, %addr, "adding a learner");
        if let Err(e) = raft.add_learner(id, addr, false).await {
            return ClusterResponse::error(
                "membership",
                format!("could not add node {id} as a learner: {e}"),
            );
        }
    }
    if let Err(e) = wait_caught_up(svc, id, CATCH_UP_SLACK, CATCH_UP_TIMEOUT).await {
        return e;
    }
    let f = svc.consensus.facts();
    if f.voters.contains(&id) {
        return ClusterResponse::Admitted { voter: true };
    }
    if f.voters.len() >= svc.max_voters {
        tracing::info!(
            node = id,
            voters = f.voters.len(),
            "node stays a learner: the cluster has max_voters voters"
        );
        return ClusterResponse::Admitted { voter: false };
    }
    tracing::info!(node = id, "promoting the caught-up learner to voter");
    match raft
        .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), true)
        .await
    {
        Ok(_) => ClusterResponse::Admitted { voter: true },
        Err(e) => membership_error(&e, format!("could not promote node {id}: {e}")),
    }
}

/// A failed `change_membership`: leadership moving away while it ran
/// (`not_leader`) is retried by whoever forwarded the change; anything
/// else is reported as it is.
fn membership_error<E>(
    e: &openraft::error::RaftError<
        u64,
        openraft::error::ClientWriteError<u64, paddle_consensus::types::NodeAddr>,
    >,
    message: E,
) -> ClusterResponse
where
    E: Into<String>,
{
    match e {
        openraft::error::RaftError::APIError(
            openraft::error::ClientWriteError::ForwardToLeader(_),
        ) => ClusterResponse::error("not_leader", message),
        _ => ClusterResponse::error("membership", message),
    }
}

/// Refuse a change that would leave the remaining voters without a
/// healthy majority.
async fn check_quorum_after(
    svc: &ClusterService,
    f: &ClusterFacts,
    leaving: u64,
) -> Result<(), ClusterResponse> {
    let remaining: Vec<u64> = f.voters.iter().copied().filter(|v| *v != leaving).collect();
    if remaining.is_empty() {
        return Err(ClusterResponse::error(
            "would_lose_quorum",
            format!("node {leaving} is the only voter; the cluster would have no voters left"),
        ));
    }
    // A leader elected moments ago (a leader removal is finished by the
    // successor right after the hand-over) knows no follower's match index
    // until its first appends are answered, so every follower looks
    // unhealthy: judge again for a short while before refusing.
    let deadline = Instant::now() + QUORUM_GRACE;
    let mut healthy_count;
    loop {
        let f = svc.consensus.facts();
        healthy_count = 0;
        for v in &remaining {
            if healthy(svc, &f, *v).await {
                healthy_count += 1;
            }
        }
        if healthy_count * 2 > remaining.len() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if healthy_count * 2 <= remaining.len() {
        return Err(ClusterResponse::error(
            "would_lose_quorum",
            format!(
                "after node {leaving} leaves, only {healthy_count} of the remaining {} voters {:?} would be healthy; \
                 a majority must be. Remove or repair the unhealthy nodes first.",
                remaining.len(),
                remaining
            ),
        ));
    }
    Ok(())
}

/// Move leadership from this node to `chosen`, or to the most caught-up
/// healthy voter.
async fn hand_over(
    svc: &ClusterService,
    f: &ClusterFacts,
    chosen: Option<u64>,
) -> Result<u64, ClusterResponse> {
    let mut candidates = Vec::new();
    for v in f.voters.iter().copied().filter(|v| *v != f.id) {
        if chosen.is_none_or(|c| c == v) && healthy(svc, f, v).await {
            candidates.push((lag(f, v).unwrap_or(u64::MAX), v));
        }
    }
    candidates.sort();
    let Some(&(_, successor)) = candidates.first() else {
        return Err(ClusterResponse::error(
            "no_successor",
            match chosen {
                Some(c) => {
                    format!("node {c} is not a healthy voter; it cannot take over leadership")
                }
                None => "no healthy voter can take over leadership".to_string(),
            },
        ));
    };
    tracing::info!(successor, "handing leadership over");
    let cfg = svc.consensus.config().clone();
    // No new entries and no heartbeats from here on (set_accepting).
    // Heartbeats renew the followers' leader leases (openraft 0.9 refreshes
    // the lease on every append), and a follower refuses to vote while its
    // lease lasts. Our own elections stop too: once the successor
    // campaigns, this node sees its higher term and steps down, and would
    // otherwise win the next election itself with its longer log.
    svc.consensus.set_accepting(false);
    let runtime = svc.consensus.raft().runtime_config();
    runtime.elect(false);
    let result = async {
        // Every entry, not "nearly": a voter refuses a candidate whose log
        // is shorter than its own. Checked again after the pause, in case a
        // proposal that started before the stop was appended meanwhile.
        wait_caught_up(svc, successor, 0, Duration::from_secs(5)).await?;
        tokio::time::sleep(Duration::from_millis(
            cfg.election_timeout_max_ms + cfg.heartbeat_ms,
        ))
        .await;
        // Without heartbeats a follower may have called an election by
        // itself meanwhile: leadership moving anywhere else is the goal.
        if svc.consensus.current_leader() == Some(f.id) {
            wait_caught_up(svc, successor, 0, Duration::from_secs(5)).await?;
        }
        for _ in 0..3 {
            if let Some(l) = svc.consensus.current_leader().filter(|l| *l != f.id) {
                if chosen.is_none_or(|c| c == l) {
                    return Ok(l);
                }
            }
            let _ = call_member(
                &svc.consensus,
                successor,
                &ClusterRequest::TriggerElection,
                SHORT_CALL,
            )
            .await;
            let deadline = Instant::now() + Duration::from_millis(cfg.election_timeout_max_ms * 3);
            while Instant::now() < deadline {
                match svc.consensus.current_leader() {
                    Some(l) if l != f.id && chosen.is_none_or(|c| c == l) => return Ok(l),
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }
        Err(ClusterResponse::error(
            "handover_failed",
            format!("node {successor} did not take over leadership"),
        ))
    }
    .await;
    runtime.elect(true);
    svc.consensus.set_accepting(true);
    result
}

/// Apply an operator's membership change (on the leader).
pub async fn change(svc: &ClusterService, change: MembershipChange) -> ClusterResponse {
    let guard = svc.change_lock.lock().await;
    let f = svc.consensus.facts();
    let raft = svc.consensus.raft();
    let id = match change {
        MembershipChange::Remove(id)
        | MembershipChange::Promote(id)
        | MembershipChange::Demote(id)
        | MembershipChange::Lead(id) => id,
    };
    if !f.nodes.contains_key(&id) {
        return ClusterResponse::error(
            "not_member",
            format!("node {id} is not a member of this cluster"),
        );
    }
    let is_voter = f.voters.contains(&id);
    match change {
        MembershipChange::Lead(_) if id == f.id => ClusterResponse::Done,
        MembershipChange::Lead(_) if !is_voter => ClusterResponse::error(
            "not_voter",
            format!("node {id} is a learner; only a voter can lead (promote it first)"),
        ),
        MembershipChange::Lead(_) => match hand_over(svc, &f, Some(id)).await {
            Ok(_) => ClusterResponse::Done,
            Err(e) => e,
        },
        MembershipChange::Promote(_) if is_voter => ClusterResponse::Done,
        MembershipChange::Promote(_) => {
            if let Err(e) = wait_caught_up(svc, id, CATCH_UP_SLACK, Duration::from_secs(30)).await {
                return e;
            }
            match raft
                .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), true)
                .await
            {
                Ok(_) => ClusterResponse::Done,
                Err(e) => membership_error(&e, e.to_string()),
            }
        }
        MembershipChange::Demote(_) if !is_voter => ClusterResponse::Done,
        MembershipChange::Remove(_) | MembershipChange::Demote(_) => {
            if is_voter {
                if let Err(e) = check_quorum_after(svc, &f, id).await {
                    return e;
                }
                if id == f.id {
                    // The leader is leaving the voters: hand over, then let
                    // the new leader make the change.
                    if let Err(e) = hand_over(svc, &f, None).await {
                        return e;
                    }
                    drop(guard);
                    return finish_on_new_leader(svc, change).await;
                }
            }
            let members = BTreeSet::from([id]);
            let op = match (change, is_voter) {
                (MembershipChange::Demote(_), _) => ChangeMembers::RemoveVoters(members),
                (_, true) => ChangeMembers::RemoveVoters(members),
                (_, false) => ChangeMembers::RemoveNodes(members),
            };
            let retain = matches!(change, MembershipChange::Demote(_));
            let addr = f.nodes.get(&id).cloned();
            if let Err(e) = raft.change_membership(op, retain).await {
                return membership_error(&e, e.to_string());
            }
            if let (MembershipChange::Remove(_), Some(addr)) = (change, addr) {
                if let Err(e) = finish_removal(svc, id, addr).await {
                    return e;
                }
            }
            ClusterResponse::Done
        }
    }
}

/// After a hand-over, have the new leader make `change`. Right after it
/// the cluster can be briefly leaderless (every follower stopped hearing
/// heartbeats and may campaign), so "no leader" answers are retried for a
/// while.
async fn finish_on_new_leader(svc: &ClusterService, change: MembershipChange) -> ClusterResponse {
    let deadline = Instant::now() + LEADERLESS_GRACE;
    loop {
        let answer = match svc.consensus.current_leader() {
            Some(l) if l != svc.consensus.id() => call_member(
                &svc.consensus,
                l,
                &ClusterRequest::Change(change),
                super::service::ADMIT_CALL,
            )
            .await
            .unwrap_or_else(|e| {
                ClusterResponse::error("no_quorum", format!("could not reach the new leader: {e}"))
            }),
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
    svc: &ClusterService,
    id: u64,
    addr: NodeAddr,
) -> Result<(), ClusterResponse> {
    tracing::info!(node = id, "node removed from the cluster");
    // The membership no longer lists the node, so address it directly. It
    // may be dead: try a few times in the background, never block on it.
    let consensus = svc.consensus.clone();
    tokio::spawn(async move {
        let Ok(body) = paddle_proto::codec::encode(&ClusterRequest::Removed { node_id: id }) else {
            return;
        };
        let req = paddle_consensus::network::PeerRequest::App(body);
        for _ in 0..5 {
            if consensus
                .peers()
                .call(id, &addr.raft, &req, SHORT_CALL)
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    svc.consensus
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
