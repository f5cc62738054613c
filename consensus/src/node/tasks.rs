//! Background tasks of a member: the leader watchdog (fast failover) and
//! the clock sampler (cluster time).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

// tokio's clock: the real one in a node, the paused one in the simulation.
use tokio::time::Instant;

use openraft::ServerState;

use super::Core;
use crate::network::{PeerRequest, PeerResponse};
use crate::types::{NodeAddr, NodeId};

/// Start an election as soon as the old leader's lease has run out.
///
/// openraft's own timer fires somewhere in [min, max] election timeout after
/// the last heartbeat, while the other followers still honour the dead
/// leader's lease (max election timeout); that first campaign is refused and
/// the next one comes a whole timeout later. Campaigning right after the
/// lease ends (plus one heartbeat of slack for the other followers' clocks)
/// makes failover take one lease instead of two timeouts.
///
/// The watchdog campaigns **once per lost leader**, and each member waits a
/// little longer than the last by its id ([`stagger`]). Later elections are
/// openraft's own: randomised timeouts, and a member that learned of a
/// longer log waits longer. A watchdog that campaigned on a fixed cadence
/// stalled a real cluster for minutes (CI, the combined fault run): three
/// survivors of four voters must all vote for the winner, and a survivor
/// whose log was too short to win kept raising the term every lease,
/// in step with the others, so no candidate ever gathered all the votes.
/// `consensus/tests/sim/liveness.rs` keeps that shape under test.
pub(super) async fn leader_watchdog(core: std::sync::Weak<Core>) {
    // The leader contact after whose silence this member already campaigned.
    let mut campaigned_after: Option<Instant> = None;
    loop {
        let Some(core) = core.upgrade() else { return };
        let hb = Duration::from_millis(core.cfg.raft.heartbeat_ms);
        let lease = Duration::from_millis(core.cfg.raft.election_timeout_max_ms);
        let stagger = stagger(
            core.id,
            Duration::from_millis(core.cfg.raft.election_timeout_min_ms),
            lease,
        );
        let m = core.raft.metrics().borrow().clone();
        {
            let mut since = core.leader_since.lock().expect("lock");
            match (m.state, *since) {
                (ServerState::Leader, Some((term, _))) if term == m.current_term => {}
                (ServerState::Leader, _) => *since = Some((m.current_term, Instant::now())),
                (_, Some(_)) => {
                    // Just stepped down: a newer leader exists (a quorum
                    // elected it) and will be heard from within a heartbeat.
                    // Count that as contact, or this watchdog would campaign
                    // at once and unseat it (our last contact as a follower
                    // is from before we led).
                    *since = None;
                    *core.last_leader_contact.lock().expect("lock") = Some(Instant::now());
                }
                _ => {}
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
                if last.elapsed() > lease + hb + stagger && campaigned_after != Some(last) {
                    tracing::info!(
                        silent_ms = last.elapsed().as_millis() as u64,
                        "leader silent past its lease; campaigning"
                    );
                    campaigned_after = Some(last);
                    let _ = core.raft.trigger().elect().await;
                }
            }
        }
        drop(core);
        tokio::time::sleep(hb / 2).await;
    }
}

/// How much longer than the lease member `id` waits before its one
/// campaign: members that lost the same leader at the same moment do not
/// all campaign in the same instant (a split vote), and none waits longer
/// than openraft's own timer would.
pub(super) fn stagger(id: NodeId, min: Duration, max: Duration) -> Duration {
    max.saturating_sub(min) * (id % 8) as u32 / 8
}

/// Measure every other member's clock once per sampling interval, and at
/// once when the membership changes (a new voter changes the median), and
/// recompute the cluster's time (see `clock.rs`).
pub(super) async fn clock_sampler(core: std::sync::Weak<Core>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_wait_different_times_all_within_the_timeout_spread() {
        let (min, max) = (Duration::from_millis(150), Duration::from_millis(300));
        let waits: BTreeSet<Duration> = (1..=8).map(|id| stagger(id, min, max)).collect();
        assert_eq!(waits.len(), 8, "eight members, eight different waits");
        assert!(waits.iter().all(|w| *w < max - min));
        assert_eq!(stagger(3, max, max), Duration::ZERO);
    }
}
