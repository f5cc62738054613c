//! Cluster time: one clock for the whole cluster, agreed from the members'
//! wall clocks, so no single machine's clock decides a deadline.
//!
//! Every node measures every other member's wall clock over the QUIC links
//! it already has (`PeerRequest::Clock`, a few bytes every
//! `sample_interval_ms`), corrected for the round trip as NTP does: the
//! peer says when it received and answered, and the offset is the gap
//! between the peer's midpoint and ours. Of the last samples of a peer the
//! one with the shortest round trip wins (its midpoint is the tightest).
//!
//! Measurements are taken against this process's *steady wall clock*: the
//! wall clock read once at start and advanced by the monotonic clock. A
//! step of the local wall clock (an operator setting the date, NTP waking
//! up) therefore does not spoil the peers' offsets; it only moves this
//! node's own vote.
//!
//! **Cluster time is the median of the voters' clocks** (this node's own
//! among them when it votes), with a majority of the voters measured. With
//! an even count the two middle clocks must agree within the skew bound,
//! and their mean is taken. One clock minutes or years off, fast or slow,
//! never moves the median; a majority skewed the same way does (then the
//! minority is flagged; see ARCHITECTURE.md, "Time"). While no majority
//! is measured (a partition, a node just started), the last agreed offset
//! is kept and carried on by the monotonic clock; a node that never agreed
//! has no cluster time ([`ClusterClock::cluster_ms`] is `None`) and the
//! leader then stamps with the last stamp rather than its own clock.
//!
//! A node whose wall clock is more than `max_skew_ms` from cluster time is
//! *skewed*: flagged in its status, metrics and log. It still serves and
//! may still lead: its stamps are cluster time, never its own clock.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// tokio's clock: the real one in a node, the paused one in the simulation.
use tokio::time::Instant;

use serde::{Deserialize, Serialize};

use crate::types::NodeId;

/// Samples kept per peer; the one with the shortest round trip is used.
const SAMPLES_KEPT: usize = 8;
/// Samples older than this are used only when there is nothing newer.
const SAMPLE_FRESH: Duration = Duration::from_secs(8);
/// How often a skewed node repeats its warning in the log.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Clock agreement settings (`[clock]` in the node's configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockConfig {
    /// A node whose wall clock is further than this from cluster time is
    /// flagged as skewed.
    pub max_skew_ms: u64,
    /// How often each node measures every other member's clock.
    pub sample_interval_ms: u64,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            max_skew_ms: 1_000,
            sample_interval_ms: 500,
        }
    }
}

/// Microseconds since the Unix epoch on this machine's wall clock (negative
/// for a clock set before 1970).
pub fn wall_us() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_micros() as i64,
        Err(e) => -(e.duration().as_micros() as i64),
    }
}

/// Milliseconds since the Unix epoch on this machine's own wall clock. Only
/// for things no deadline depends on (log lines, file names); every time a
/// client or the auction sees is [`ClusterClock::now_ms`].
pub fn local_wall_ms() -> u64 {
    (wall_us().max(0) / 1000) as u64
}

/// One measurement of a peer's clock.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Peer's wall clock minus our steady clock, µs.
    offset_us: i64,
    /// Round trip minus the peer's own handling time, µs.
    rtt_us: i64,
    at: Instant,
}

/// What the median of the voters' clocks says, from offsets against one
/// reference (µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    /// Cluster time minus the reference; `None` without a majority.
    pub offset_us: Option<i64>,
    /// A majority of the voters is measured and, for an even count, the two
    /// middle clocks are within the bound of each other.
    pub agreed: bool,
}

/// The median of the voters' clock offsets (`measured`, one per voter whose
/// clock is known, this node's own included when it votes) for a cluster of
/// `voters` voters. Pure, so the rule can be tested alone.
pub fn agree(measured: &[i64], voters: usize, bound_us: i64) -> Agreement {
    let majority = voters / 2 + 1;
    if voters == 0 || measured.len() < majority {
        return Agreement {
            offset_us: None,
            agreed: false,
        };
    }
    let mut v = measured.to_vec();
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        return Agreement {
            offset_us: Some(v[n / 2]),
            agreed: true,
        };
    }
    let (a, b) = (v[n / 2 - 1], v[n / 2]);
    let mid = a + (b - a) / 2;
    Agreement {
        offset_us: Some(mid),
        agreed: b - a <= bound_us,
    }
}

/// A peer's clock as this node sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerClock {
    pub id: NodeId,
    pub voter: bool,
    /// Its wall clock minus cluster time (ms); `None` before agreement.
    pub offset_ms: Option<f64>,
    /// Round trip of the sample used (ms).
    pub rtt_ms: f64,
    /// Age of the newest sample (ms).
    pub age_ms: u64,
    /// Further from cluster time than the bound.
    pub skewed: bool,
}

/// This node's view of time, for `/api/v1/time`, `/metrics` and the
/// operator's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockStatus {
    /// Cluster time now (ms since the epoch).
    pub now_ms: u64,
    /// This node has cluster time (it agreed with a majority at least once).
    pub synced: bool,
    /// A majority of the voters is measured and agrees right now.
    pub agreed: bool,
    /// This node's wall clock minus cluster time (ms); `None` before sync.
    pub offset_ms: Option<f64>,
    /// This node's wall clock is further from cluster time than the bound.
    pub skewed: bool,
    pub max_skew_ms: u64,
    pub peers: Vec<PeerClock>,
}

struct State {
    peers: BTreeMap<NodeId, VecDeque<Sample>>,
    voters: BTreeSet<NodeId>,
    /// Cluster time minus the steady clock (µs), as last agreed.
    offset_us: Option<i64>,
    agreed: bool,
    /// For log lines on changes: was this node skewed, and which peers.
    warned_self: Option<Instant>,
    warned_peers: BTreeSet<NodeId>,
}

/// A wall clock other than the machine's (µs since the epoch): the
/// simulation's, which runs on tokio's paused time.
pub type WallClock = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

/// The cluster's agreed time, as measured from this node.
pub struct ClusterClock {
    me: NodeId,
    cfg: ClockConfig,
    /// Where this node reads its wall clock; `None`: the machine's.
    wall: Option<WallClock>,
    /// The steady clock: wall time at start, advanced by `Instant`.
    base_us: i64,
    base_at: Instant,
    state: Mutex<State>,
}

impl ClusterClock {
    pub fn new(me: NodeId, cfg: ClockConfig) -> Self {
        Self::with_wall(me, cfg, None)
    }

    /// A clock that reads `wall` instead of the machine's wall clock (the
    /// simulation: every node's time follows the test's paused clock).
    pub fn with_wall(me: NodeId, cfg: ClockConfig, wall: Option<WallClock>) -> Self {
        let base_us = wall.as_ref().map_or_else(wall_us, |w| w());
        ClusterClock {
            me,
            cfg,
            wall,
            base_us,
            base_at: Instant::now(),
            state: Mutex::new(State {
                peers: BTreeMap::new(),
                voters: BTreeSet::new(),
                offset_us: None,
                agreed: false,
                warned_self: None,
                warned_peers: BTreeSet::new(),
            }),
        }
    }

    /// The settings this clock runs with.
    pub fn config(&self) -> &ClockConfig {
        &self.cfg
    }

    fn steady_us_at(&self, at: Instant) -> i64 {
        let since = at.saturating_duration_since(self.base_at).as_micros() as i64;
        self.base_us + since
    }

    fn steady_us(&self) -> i64 {
        self.steady_us_at(Instant::now())
    }

    /// This node's own wall clock against the steady clock (µs): zero unless
    /// the wall clock was stepped since start.
    fn own_us(&self) -> i64 {
        self.wall_now_us() - self.steady_us()
    }

    fn bound_us(&self) -> i64 {
        self.cfg.max_skew_ms as i64 * 1000
    }

    /// Cluster time (ms since the epoch), or `None` when this node has
    /// never agreed with a majority of the voters.
    pub fn cluster_ms(&self) -> Option<u64> {
        let offset = self.state.lock().expect("clock lock").offset_us?;
        Some(((self.steady_us() + offset).max(0) / 1000) as u64)
    }

    /// Cluster time for everything a client sees (server time, countdowns,
    /// the leader's timer). Before the first agreement: this node's own
    /// clock, flagged as not synced in [`ClusterClock::status`].
    pub fn now_ms(&self) -> u64 {
        self.cluster_ms().unwrap_or_else(|| self.local_ms())
    }

    /// This node's wall clock (µs): the machine's, or the one it was given.
    fn wall_now_us(&self) -> i64 {
        self.wall.as_ref().map_or_else(wall_us, |w| w())
    }

    /// This node's own wall clock in ms since the epoch.
    fn local_ms(&self) -> u64 {
        (self.wall_now_us().max(0) / 1000) as u64
    }

    /// Answer a peer's clock request: our wall clock now (µs).
    pub fn answer(&self) -> i64 {
        self.wall_now_us()
    }

    /// Record one exchange with `peer`: we sent at `sent` and got the answer
    /// at `received` (our monotonic clock); the peer received the request at
    /// `peer_recv_us` and answered at `peer_send_us` (its wall clock).
    pub fn record(
        &self,
        peer: NodeId,
        sent: Instant,
        received: Instant,
        peer_recv_us: i64,
        peer_send_us: i64,
    ) {
        let t1 = self.steady_us_at(sent);
        let t4 = self.steady_us_at(received);
        let handling = (peer_send_us - peer_recv_us).max(0);
        let rtt_us = ((t4 - t1) - handling).max(0);
        // NTP: ((t2 - t1) + (t3 - t4)) / 2.
        let offset_us = ((peer_recv_us - t1) + (peer_send_us - t4)) / 2;
        let mut st = self.state.lock().expect("clock lock");
        let samples = st.peers.entry(peer).or_default();
        samples.push_back(Sample {
            offset_us,
            rtt_us,
            at: received,
        });
        while samples.len() > SAMPLES_KEPT {
            samples.pop_front();
        }
    }

    /// The best offset known for a peer: the shortest round trip among the
    /// fresh samples, else the newest (a peer out of reach keeps its last
    /// offset: clocks drift by milliseconds an hour, not by seconds).
    fn best(samples: &VecDeque<Sample>, now: Instant) -> Option<Sample> {
        let fresh = samples
            .iter()
            .filter(|s| now.saturating_duration_since(s.at) <= SAMPLE_FRESH)
            .min_by_key(|s| s.rtt_us);
        fresh.or_else(|| samples.back()).copied()
    }

    /// After a sampling round: take the members as they are now and
    /// recompute the agreement. Logs when this node or a peer becomes (or
    /// stops being) skewed.
    pub fn update(&self, voters: BTreeSet<NodeId>, members: &BTreeSet<NodeId>) {
        let now = Instant::now();
        let own = self.own_us();
        let bound = self.bound_us();
        let mut st = self.state.lock().expect("clock lock");
        st.peers.retain(|id, _| members.contains(id));
        let mut measured = Vec::new();
        if voters.contains(&self.me) {
            measured.push(own);
        }
        for v in voters.iter().filter(|v| **v != self.me) {
            if let Some(s) = st.peers.get(v).and_then(|s| Self::best(s, now)) {
                measured.push(s.offset_us);
            }
        }
        let a = agree(&measured, voters.len(), bound);
        st.voters = voters;
        st.agreed = a.agreed;
        if a.agreed {
            if st.offset_us.is_none() {
                tracing::info!(
                    offset_ms = (a.offset_us.unwrap_or(0) - own) as f64 / 1000.0,
                    "cluster time agreed"
                );
            }
            st.offset_us = a.offset_us;
        }
        let Some(cluster) = st.offset_us else { return };
        // This node.
        let own_off = own - cluster;
        if own_off.abs() > bound {
            if st
                .warned_self
                .is_none_or(|t| now.duration_since(t) >= WARN_EVERY)
            {
                tracing::warn!(
                    offset_ms = own_off as f64 / 1000.0,
                    max_skew_ms = self.cfg.max_skew_ms,
                    "this node's wall clock is off from cluster time; it stamps and shows cluster time, never its own clock (fix the clock)"
                );
                st.warned_self = Some(now);
            }
        } else if st.warned_self.take().is_some() {
            tracing::info!(
                offset_ms = own_off as f64 / 1000.0,
                "this node's wall clock is back within the skew bound"
            );
        }
        // Peers.
        let mut skewed_now = BTreeSet::new();
        for (id, samples) in &st.peers {
            if let Some(s) = Self::best(samples, now) {
                if (s.offset_us - cluster).abs() > bound {
                    skewed_now.insert(*id);
                }
            }
        }
        for id in skewed_now.difference(&st.warned_peers) {
            let off = st
                .peers
                .get(id)
                .and_then(|s| Self::best(s, now))
                .map(|s| s.offset_us - cluster);
            tracing::warn!(
                peer = id,
                offset_ms = off.unwrap_or(0) as f64 / 1000.0,
                "a member's wall clock is off from cluster time"
            );
        }
        for id in st.warned_peers.difference(&skewed_now) {
            tracing::info!(
                peer = id,
                "a member's wall clock is back within the skew bound"
            );
        }
        st.warned_peers = skewed_now;
    }

    /// Everything this node knows about time, for status pages and metrics.
    pub fn status(&self) -> ClockStatus {
        let now = Instant::now();
        let own = self.own_us();
        let bound = self.bound_us();
        let st = self.state.lock().expect("clock lock");
        let rel = |off: i64| st.offset_us.map(|c| (off - c) as f64 / 1000.0);
        let skewed = |off: i64| st.offset_us.is_some_and(|c| (off - c).abs() > bound);
        let peers = st
            .peers
            .iter()
            .filter_map(|(id, samples)| {
                let s = Self::best(samples, now)?;
                let newest = samples.back()?;
                Some(PeerClock {
                    id: *id,
                    voter: st.voters.contains(id),
                    offset_ms: rel(s.offset_us),
                    rtt_ms: s.rtt_us as f64 / 1000.0,
                    age_ms: now.saturating_duration_since(newest.at).as_millis() as u64,
                    skewed: skewed(s.offset_us),
                })
            })
            .collect();
        let now_ms = match st.offset_us {
            Some(c) => ((self.steady_us_at(now) + c).max(0) / 1000) as u64,
            None => self.local_ms(),
        };
        ClockStatus {
            now_ms,
            synced: st.offset_us.is_some(),
            agreed: st.agreed,
            offset_ms: rel(own),
            skewed: skewed(own),
            max_skew_ms: self.cfg.max_skew_ms,
            peers,
        }
    }

    /// This node's wall clock minus cluster time (ms), if synced.
    pub fn own_offset_ms(&self) -> Option<f64> {
        self.status().offset_ms
    }

    /// The interval between sampling rounds.
    pub fn sample_interval(&self) -> Duration {
        Duration::from_millis(self.cfg.sample_interval_ms.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn the_median_ignores_one_clock_far_off_either_way() {
        let a = agree(&[0, 600 * S, -600 * S], 3, S);
        assert_eq!(
            a,
            Agreement {
                offset_us: Some(0),
                agreed: true
            }
        );
        let a = agree(&[600 * S, 3, 0], 3, S);
        assert_eq!(a.offset_us, Some(3));
        // A clock years off is one vote like any other.
        let a = agree(&[-25 * 365 * 86_400 * S, 10, 20, 30, 40], 5, S);
        assert_eq!(a.offset_us, Some(20));
    }

    #[test]
    fn a_majority_must_be_measured() {
        assert!(agree(&[0], 3, S).offset_us.is_none());
        assert!(agree(&[0, 1], 5, S).offset_us.is_none());
        assert!(agree(&[], 0, S).offset_us.is_none());
        assert!(agree(&[7], 1, S).agreed);
    }

    #[test]
    fn two_middle_clocks_must_agree() {
        let a = agree(&[0, 400_000], 3, S);
        assert_eq!(
            a,
            Agreement {
                offset_us: Some(200_000),
                agreed: true
            }
        );
        let a = agree(&[0, 600 * S], 3, S);
        assert!(
            !a.agreed,
            "two clocks ten minutes apart: no way to tell which is right"
        );
    }

    #[test]
    fn offsets_are_round_trip_corrected() {
        let c = ClusterClock::new(1, ClockConfig::default());
        let sent = Instant::now();
        let received = sent + Duration::from_millis(10);
        let t1 = c.steady_us_at(sent);
        // The peer is 600 s ahead; the request took 4 ms, the answer 6 ms.
        let peer_recv = t1 + 600 * S + 4_000;
        c.record(2, sent, received, peer_recv, peer_recv);
        let st = c.state.lock().unwrap();
        let s = st.peers[&2].back().unwrap();
        assert_eq!(s.rtt_us, 10_000);
        assert!((s.offset_us - 600 * S).abs() <= 1_000, "{}", s.offset_us);
    }

    #[test]
    fn the_shortest_round_trip_wins_and_peers_stay_known_when_out_of_reach() {
        let c = ClusterClock::new(1, ClockConfig::default());
        let base = Instant::now();
        for (i, (rtt_ms, off)) in [(30i64, 9_000i64), (2, 100), (20, -7_000)]
            .iter()
            .enumerate()
        {
            let sent = base + Duration::from_millis(i as u64 * 500);
            let received = sent + Duration::from_millis(*rtt_ms as u64);
            let t1 = c.steady_us_at(sent);
            let mid = t1 + rtt_ms * 500;
            c.record(2, sent, received, mid + off, mid + off);
        }
        let st = c.state.lock().unwrap();
        let best = ClusterClock::best(&st.peers[&2], base + Duration::from_secs(2)).unwrap();
        assert_eq!(best.offset_us, 100);
        // Long after, with nothing fresh, the newest is kept.
        let later = ClusterClock::best(&st.peers[&2], base + Duration::from_secs(600)).unwrap();
        assert_eq!(later.offset_us, -7_000);
    }

    #[test]
    fn a_lone_voter_is_its_own_cluster_time() {
        let c = ClusterClock::new(1, ClockConfig::default());
        assert!(c.cluster_ms().is_none());
        c.update(BTreeSet::from([1]), &BTreeSet::from([1]));
        let st = c.status();
        assert!(st.synced && st.agreed && !st.skewed);
        let diff = c.cluster_ms().unwrap() as i64 - local_wall_ms() as i64;
        assert!(diff.abs() <= 5, "{diff}");
    }

    #[test]
    fn a_skewed_node_takes_the_majority_time_and_is_flagged() {
        // This node is 600 s fast: both peers read 600 s behind it.
        let c = ClusterClock::new(1, ClockConfig::default());
        let now = Instant::now();
        for peer in [2, 3] {
            let t = c.steady_us_at(now);
            c.record(peer, now, now, t - 600 * S, t - 600 * S);
        }
        c.update(BTreeSet::from([1, 2, 3]), &BTreeSet::from([1, 2, 3]));
        let st = c.status();
        assert!(st.agreed && st.skewed);
        let off = st.offset_ms.unwrap();
        assert!((off - 600_000.0).abs() < 5.0, "{off}");
        let ahead = local_wall_ms() as i64 - c.cluster_ms().unwrap() as i64;
        assert!((ahead - 600_000).abs() < 50, "{ahead}");
        assert!(st.peers.iter().all(|p| !p.skewed));
    }

    #[test]
    fn agreement_lost_keeps_the_last_offset() {
        let c = ClusterClock::new(1, ClockConfig::default());
        let now = Instant::now();
        let t = c.steady_us_at(now);
        c.record(2, now, now, t + 5_000, t + 5_000);
        c.update(BTreeSet::from([1, 2, 3]), &BTreeSet::from([1, 2, 3]));
        assert!(c.status().agreed);
        // Voters 4 and 5 join, never measured: no majority, same time kept.
        let before = c.status().offset_ms;
        c.update(
            BTreeSet::from([1, 2, 3, 4, 5]),
            &BTreeSet::from([1, 2, 3, 4, 5]),
        );
        let st = c.status();
        assert!(!st.agreed && st.synced);
        let moved = (st.offset_ms.unwrap() - before.unwrap()).abs();
        assert!(moved < 1.0, "the kept offset moved by {moved} ms");
    }
}
