//! Membership changes, made on the leader: admit a joining node (learner,
//! caught up, promoted while the cluster has fewer than `max_voters`
//! voters), promote, demote, remove, hand leadership over, and correct a
//! member's address.
//!
//! openraft does the joint consensus; this module decides whether a change
//! is safe (a majority of the remaining voters must be healthy: answering
//! a request now and not far behind), and moves leadership off a node
//! before it stops voting. openraft 0.9 has no leader transfer: the leader stops
//! appending and heartbeating until the followers' leases run out, then
//! asks the chosen successor to campaign (`PeerRequest::Campaign`).
//!
//! What a change means for the application (recording a removed id, telling
//! the removed node, forwarding to the leader) is the application's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

// tokio's clock: the real one in a node, the paused one in the simulation.
use tokio::time::Instant;

use openraft::error::{ClientWriteError, RaftError};
use openraft::ChangeMembers;

use super::{ClusterFacts, Consensus};
use crate::network::{PeerRequest, PeerResponse};
use crate::types::{NodeAddr, NodeId};

/// A learner within this many entries of the leader counts as caught up.
pub const CATCH_UP_SLACK: u64 = 64;
/// A voter further behind than this is not counted as healthy.
const HEALTHY_LAG: u64 = 10_000;
/// How long a change waits for the remaining voters to look healthy
/// before it is refused as losing quorum.
const QUORUM_GRACE: Duration = Duration::from_secs(3);
/// How long an admitted node may take to catch up before we give up.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(600);
/// A short call to a peer (asking it to campaign).
const SHORT_CALL: Duration = Duration::from_secs(2);
/// How long a change waits for the leader's last membership change to be
/// committed before it judges what the membership is.
const MEMBERSHIP_COMMIT_WAIT: Duration = Duration::from_secs(5);
/// How long a peer has to answer to count as alive.
const ALIVE_CALL: Duration = Duration::from_secs(1);

/// A membership change an operator can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Take the node out of the cluster (a voter or a learner).
    Remove(NodeId),
    /// Make a learner a voter.
    Promote(NodeId),
    /// Make a voter a learner (it keeps its data and keeps serving).
    Demote(NodeId),
    /// Hand leadership to this voter.
    Lead(NodeId),
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// The change is committed.
    Done,
    /// The change takes this node itself out of the voters: it handed
    /// leadership to `leader`, which must now be asked to make the change.
    HandedOver { leader: NodeId },
}

/// Why a membership change was refused or failed; `code` is the stable code
/// the operator's API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("node {0} is not a member of this cluster")]
    NotMember(NodeId),
    #[error("node {0} is a learner; only a voter can lead (promote it first)")]
    NotVoter(NodeId),
    #[error("{0}")]
    WouldLoseQuorum(String),
    #[error("{0}")]
    NoSuccessor(String),
    #[error("{0}")]
    HandoverFailed(String),
    #[error("{0}")]
    CatchUpTimeout(String),
    /// Leadership moved while the change ran; whoever forwarded it retries.
    #[error("{0}")]
    NotLeader(String),
    #[error("{0}")]
    Membership(String),
}

impl ChangeError {
    /// The stable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            ChangeError::NotMember(_) => "not_member",
            ChangeError::NotVoter(_) => "not_voter",
            ChangeError::WouldLoseQuorum(_) => "would_lose_quorum",
            ChangeError::NoSuccessor(_) => "no_successor",
            ChangeError::HandoverFailed(_) => "handover_failed",
            ChangeError::CatchUpTimeout(_) => "catch_up_timeout",
            ChangeError::NotLeader(_) => "not_leader",
            ChangeError::Membership(_) => "membership",
        }
    }
}

/// A failed `change_membership`: leadership moving away while it ran is
/// `NotLeader` (retried by whoever forwarded the change).
fn write_error(
    e: &RaftError<NodeId, ClientWriteError<NodeId, NodeAddr>>,
    message: String,
) -> ChangeError {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(_)) => {
            ChangeError::NotLeader(message)
        }
        _ => ChangeError::Membership(message),
    }
}

fn lag(f: &ClusterFacts, id: NodeId) -> Option<u64> {
    let matched = f.matched.get(&id).copied().flatten()?;
    Some(f.last_log.unwrap_or(0).saturating_sub(matched))
}

impl Consensus {
    /// Is `id` healthy from the leader's point of view: not far behind, and
    /// it answers a request now (a clock sample, which is also recorded).
    /// This node itself always is.
    async fn healthy(&self, f: &ClusterFacts, id: NodeId) -> bool {
        if id == f.id {
            return true;
        }
        if lag(f, id).is_none_or(|l| l > HEALTHY_LAG) {
            return false;
        }
        let Some(addr) = f.nodes.get(&id) else {
            return false;
        };
        let sent = Instant::now();
        match self
            .core
            .clients
            .call(id, &addr.raft, &PeerRequest::Clock, ALIVE_CALL)
            .await
        {
            Ok(PeerResponse::Clock {
                received_us,
                sent_us,
            }) => {
                self.core
                    .clock
                    .record(id, sent, Instant::now(), received_us, sent_us);
                true
            }
            _ => false,
        }
    }

    /// Wait until node `id` is within `slack` entries of this leader's log.
    async fn wait_caught_up(
        &self,
        id: NodeId,
        slack: u64,
        timeout: Duration,
    ) -> Result<(), ChangeError> {
        let started = Instant::now();
        loop {
            let f = self.facts();
            if f.leader != Some(f.id) {
                return Err(ChangeError::NotLeader(
                    "leadership moved while the node was catching up; retry".into(),
                ));
            }
            if lag(&f, id).is_some_and(|l| l <= slack) {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(ChangeError::CatchUpTimeout(format!(
                    "node {id} did not catch up within {timeout:?} (lag: {:?})",
                    lag(&f, id)
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until the membership this leader would judge a change by is
    /// committed (applied here). A leader restarted from its own vote may
    /// hold a membership change that never reached a majority and that a
    /// later leader overwrites; judged by it, a change that never happened
    /// looked done (the simulation found an admission answered "stays a
    /// learner" whose learner entry was then lost). While this node leads,
    /// its log is not truncated, so applied at or past the membership's
    /// index means committed.
    async fn wait_membership_committed(&self) -> Result<(), ChangeError> {
        let started = Instant::now();
        loop {
            let (leads, at, applied) = {
                let m = self.core.raft.metrics();
                let m = m.borrow();
                (
                    m.current_leader == Some(self.core.id) && !self.core.isolated(),
                    m.membership_config.log_id().map(|l| l.index),
                    m.last_applied.map(|l| l.index),
                )
            };
            if !leads {
                return Err(ChangeError::NotLeader(
                    "this node does not lead now; retry".into(),
                ));
            }
            if at <= applied {
                return Ok(());
            }
            if started.elapsed() > MEMBERSHIP_COMMIT_WAIT {
                return Err(ChangeError::NotLeader(format!(
                    "this leader's last membership change (index {at:?}) is not committed \
                     yet (applied: {applied:?}); retry"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Admit a joining node (on the leader): add it as a learner, wait until
    /// it has caught up, and promote it while the cluster has fewer than
    /// `raft.max_voters` voters. Returns whether it votes. Idempotent.
    pub async fn admit(&self, id: NodeId, addr: NodeAddr) -> Result<bool, ChangeError> {
        let _guard = self.core.change_lock.lock().await;
        let raft = &self.core.raft;
        self.wait_membership_committed().await?;
        let f = self.facts();
        if f.nodes.get(&id) != Some(&addr) {
            tracing::info!(node = id, %addr, "adding a learner");
            raft.add_learner(id, addr, false).await.map_err(|e| {
                ChangeError::Membership(format!("could not add node {id} as a learner: {e}"))
            })?;
        }
        self.wait_caught_up(id, CATCH_UP_SLACK, CATCH_UP_TIMEOUT)
            .await?;
        let f = self.facts();
        if f.voters.contains(&id) {
            return Ok(true);
        }
        if f.voters.len() as u64 >= self.core.cfg.raft.max_voters {
            tracing::info!(
                node = id,
                voters = f.voters.len(),
                "node stays a learner: the cluster has max_voters voters"
            );
            return Ok(false);
        }
        tracing::info!(node = id, "promoting the caught-up learner to voter");
        raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), true)
            .await
            .map_err(|e| write_error(&e, format!("could not promote node {id}: {e}")))?;
        Ok(true)
    }

    /// Refuse a change that would leave the remaining voters without a
    /// healthy majority.
    async fn check_quorum_after(
        &self,
        f: &ClusterFacts,
        leaving: NodeId,
    ) -> Result<(), ChangeError> {
        let remaining: Vec<NodeId> = f.voters.iter().copied().filter(|v| *v != leaving).collect();
        if remaining.is_empty() {
            return Err(ChangeError::WouldLoseQuorum(format!(
                "node {leaving} is the only voter; the cluster would have no voters left"
            )));
        }
        // A leader elected moments ago (a leader removal is finished by the
        // successor right after the hand-over) has no answers from its
        // followers until its first appends return, so every follower
        // looks unhealthy: judge again for a short while before refusing.
        let deadline = Instant::now() + QUORUM_GRACE;
        let mut healthy;
        loop {
            let f = self.facts();
            healthy = 0;
            for v in &remaining {
                healthy += usize::from(self.healthy(&f, *v).await);
            }
            if healthy * 2 > remaining.len() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if healthy * 2 <= remaining.len() {
            return Err(ChangeError::WouldLoseQuorum(format!(
                "after node {leaving} leaves, only {healthy} of the remaining {} voters {remaining:?} would be healthy; \
                 a majority must be. Remove or repair the unhealthy nodes first.",
                remaining.len()
            )));
        }
        Ok(())
    }

    /// Move leadership from this node (the leader) to `chosen`, or to the
    /// most caught-up healthy voter; returns the new leader.
    pub async fn hand_over(&self, chosen: Option<NodeId>) -> Result<NodeId, ChangeError> {
        let f = self.facts();
        let mut candidates: Vec<(u64, NodeId)> = Vec::new();
        for v in f.voters.iter().copied() {
            if v != f.id && chosen.is_none_or(|c| c == v) && self.healthy(&f, v).await {
                candidates.push((lag(&f, v).unwrap_or(u64::MAX), v));
            }
        }
        candidates.sort();
        let Some(&(_, successor)) = candidates.first() else {
            return Err(ChangeError::NoSuccessor(match chosen {
                Some(c) => {
                    format!("node {c} is not a healthy voter; it cannot take over leadership")
                }
                None => "no healthy voter can take over leadership".to_string(),
            }));
        };
        tracing::info!(successor, "handing leadership over");
        let raft = &self.core.raft;
        let cfg = self.core.cfg.raft.clone();
        // No new entries and no heartbeats from here on (set_accepting).
        // Heartbeats renew the followers' leader leases (openraft 0.9
        // refreshes the lease on every append), and a follower refuses to
        // vote while its lease lasts. Our own elections stop too: once the
        // successor campaigns, this node sees its higher term and steps
        // down, and would otherwise win the next election itself with its
        // longer log.
        self.set_accepting(false);
        let runtime = raft.runtime_config();
        runtime.elect(false);
        let result = async {
            // Every entry, not "nearly": a voter refuses a candidate whose
            // log is shorter than its own. Checked again after the pause, in
            // case a proposal that started before the stop was appended.
            self.wait_caught_up(successor, 0, Duration::from_secs(5))
                .await?;
            tokio::time::sleep(Duration::from_millis(
                cfg.election_timeout_max_ms + cfg.heartbeat_ms,
            ))
            .await;
            // Without heartbeats a follower may have called an election by
            // itself meanwhile: leadership moving elsewhere is the goal
            // unless a successor was chosen.
            if self.current_leader() == Some(f.id) {
                self.wait_caught_up(successor, 0, Duration::from_secs(5))
                    .await?;
            }
            let moved =
                |l: Option<NodeId>| l.filter(|l| *l != f.id && chosen.is_none_or(|c| c == *l));
            for _ in 0..3 {
                if let Some(l) = moved(self.current_leader()) {
                    return Ok(l);
                }
                if let Some(addr) = self.node_addr(successor) {
                    let _ = self
                        .core
                        .clients
                        .call(successor, &addr.raft, &PeerRequest::Campaign, SHORT_CALL)
                        .await;
                }
                let deadline =
                    Instant::now() + Duration::from_millis(cfg.election_timeout_max_ms * 3);
                while Instant::now() < deadline {
                    if let Some(l) = moved(self.current_leader()) {
                        return Ok(l);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Err(ChangeError::HandoverFailed(format!(
                "node {successor} did not take over leadership"
            )))
        }
        .await;
        runtime.elect(true);
        self.set_accepting(true);
        result
    }

    /// Start an election on this node now (asked by a leader handing over).
    pub async fn campaign(&self) -> Result<(), String> {
        self.core
            .raft
            .trigger()
            .elect()
            .await
            .map_err(|e| e.to_string())
    }

    /// Make `change` (on the leader). A change that takes this node out of
    /// the voters hands leadership over first and answers
    /// [`Changed::HandedOver`]: the new leader must make it.
    pub async fn change_members(&self, change: MemberChange) -> Result<Changed, ChangeError> {
        let _guard = self.core.change_lock.lock().await;
        self.wait_membership_committed().await?;
        let f = self.facts();
        let raft = &self.core.raft;
        let id = match change {
            MemberChange::Remove(id)
            | MemberChange::Promote(id)
            | MemberChange::Demote(id)
            | MemberChange::Lead(id) => id,
        };
        if !f.nodes.contains_key(&id) {
            return Err(ChangeError::NotMember(id));
        }
        let is_voter = f.voters.contains(&id);
        match change {
            MemberChange::Lead(_) if id == f.id => Ok(Changed::Done),
            MemberChange::Lead(_) if !is_voter => Err(ChangeError::NotVoter(id)),
            MemberChange::Lead(_) => self.hand_over(Some(id)).await.map(|_| Changed::Done),
            MemberChange::Promote(_) if is_voter => Ok(Changed::Done),
            MemberChange::Promote(_) => {
                self.wait_caught_up(id, CATCH_UP_SLACK, Duration::from_secs(30))
                    .await?;
                raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), true)
                    .await
                    .map_err(|e| write_error(&e, e.to_string()))?;
                Ok(Changed::Done)
            }
            MemberChange::Demote(_) if !is_voter => Ok(Changed::Done),
            MemberChange::Remove(_) | MemberChange::Demote(_) => {
                if is_voter {
                    self.check_quorum_after(&f, id).await?;
                    if id == f.id {
                        // The leader is leaving the voters: hand over, and
                        // let the new leader make the change.
                        let leader = self.hand_over(None).await?;
                        return Ok(Changed::HandedOver { leader });
                    }
                }
                let members = BTreeSet::from([id]);
                let op = match (change, is_voter) {
                    (MemberChange::Demote(_), _) | (_, true) => {
                        ChangeMembers::RemoveVoters(members)
                    }
                    (_, false) => ChangeMembers::RemoveNodes(members),
                };
                let retain = matches!(change, MemberChange::Demote(_));
                raft.change_membership(op, retain)
                    .await
                    .map_err(|e| write_error(&e, e.to_string()))?;
                Ok(Changed::Done)
            }
        }
    }

    /// Record a member's new address (on the leader): restored from a
    /// backup, or its machine moved.
    pub async fn set_address(&self, id: NodeId, addr: NodeAddr) -> Result<(), ChangeError> {
        let _guard = self.core.change_lock.lock().await;
        let nodes = BTreeMap::from([(id, addr)]);
        self.core
            .raft
            .change_membership(ChangeMembers::SetNodes(nodes), true)
            .await
            .map_err(|e| write_error(&e, e.to_string()))?;
        Ok(())
    }

    /// Add a learner and, with `blocking`, wait until it has caught up (for
    /// building clusters in tests and benchmarks; operators go through
    /// [`Consensus::admit`]).
    pub async fn add_learner(
        &self,
        id: NodeId,
        addr: NodeAddr,
        blocking: bool,
    ) -> Result<(), ChangeError> {
        self.core
            .raft
            .add_learner(id, addr, blocking)
            .await
            .map_err(|e| write_error(&e, e.to_string()))?;
        Ok(())
    }

    /// Make exactly `voters` the voters (the others stay learners).
    pub async fn set_voters(&self, voters: BTreeSet<NodeId>) -> Result<(), ChangeError> {
        self.core
            .raft
            .change_membership(voters, true)
            .await
            .map_err(|e| write_error(&e, e.to_string()))?;
        Ok(())
    }

    /// Make this node (at `me`) and `others` one cluster, every node a voter,
    /// this one leading first: in-process clusters for tests, tools and
    /// benchmarks (real nodes join by token instead). Waits until each
    /// learner has caught up before the voters are set.
    pub async fn form(
        &self,
        me: NodeAddr,
        others: &[(NodeId, NodeAddr)],
    ) -> Result<(), ChangeError> {
        self.initialize(me).await.map_err(ChangeError::Membership)?;
        let started = Instant::now();
        while self.current_leader() != Some(self.core.id) {
            if started.elapsed() > Duration::from_secs(30) {
                return Err(ChangeError::NotLeader(
                    "the first node did not become leader within 30 s".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for (id, addr) in others {
            self.add_learner(*id, addr.clone(), true).await?;
        }
        let voters = std::iter::once(self.core.id)
            .chain(others.iter().map(|(id, _)| *id))
            .collect();
        self.set_voters(voters).await
    }

    /// Build a snapshot now (tests and benchmarks of catch-up).
    pub async fn trigger_snapshot(&self) -> Result<(), String> {
        self.core
            .raft
            .trigger()
            .snapshot()
            .await
            .map_err(|e| e.to_string())
    }

    /// Resolves once this node has been a member and the membership it
    /// applied no longer lists it (it was removed through joint consensus).
    pub async fn removed(&self) {
        let mut metrics = self.core.raft.metrics();
        let me = self.core.id;
        let mut was_member = false;
        loop {
            {
                let m = metrics.borrow_and_update();
                let listed = m.membership_config.membership().get_node(&me).is_some();
                if listed {
                    was_member = true;
                } else if was_member && m.membership_config.log_id().is_some() {
                    return;
                }
            }
            if metrics.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Answer of a peer asked to campaign.
pub(super) fn campaign_answer(result: Result<(), String>) -> PeerResponse {
    match result {
        Ok(()) => PeerResponse::Campaigning,
        Err(e) => PeerResponse::Refused(e),
    }
}
