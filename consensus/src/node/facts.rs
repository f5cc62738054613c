//! What a member knows about itself and the cluster: role, leader, indexes,
//! membership, and whether it is in touch with a working leader.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use openraft::ServerState;

use super::{Consensus, Core};
use crate::types::{NodeAddr, NodeId};

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

impl Consensus {
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

    /// Every member but this node, with its addresses, in id order: whom to
    /// ask when asking the others.
    pub fn other_members(&self) -> Vec<(NodeId, NodeAddr)> {
        let m = self.core.raft.metrics();
        let m = m.borrow();
        m.membership_config
            .membership()
            .nodes()
            .filter(|(id, _)| **id != self.core.id)
            .map(|(id, n)| (*id, n.clone()))
            .collect()
    }

    /// The address of a member (voter or learner) from the membership.
    pub fn node_addr(&self, id: NodeId) -> Option<NodeAddr> {
        let m = self.core.raft.metrics();
        let m = m.borrow();
        m.membership_config.membership().get_node(&id).cloned()
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
}

impl Core {
    pub(super) fn stale_after(&self) -> Duration {
        Duration::from_millis((3 * self.cfg.raft.election_timeout_max_ms).max(2_000))
    }

    pub(super) fn leader_contact_age(&self) -> Option<Duration> {
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
    pub(super) fn cut_off(&self) -> bool {
        let stale = self.stale_after();
        match self.leader_contact_age() {
            Some(age) => age > stale,
            None => self.started.elapsed() > stale,
        }
    }

    /// Leading, but no quorum has answered for longer than the stale
    /// threshold: a partition has cut this node off.
    pub(super) fn isolated(&self) -> bool {
        if self.raft.metrics().borrow().state != ServerState::Leader {
            return false;
        }
        self.leader_contact_age()
            .is_some_and(|a| a > self.stale_after())
    }
}
