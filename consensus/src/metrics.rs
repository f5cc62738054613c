//! Counters, the commit-latency histogram and the per-stage histograms
//! that `/metrics` exposes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the commit-latency buckets, Prometheus style.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
    10.0,
];

/// A histogram of durations with fixed buckets; lock-free. Each
/// observation adds to the one bucket it falls in (three atomic adds:
/// it is on the bid path); `snapshot` makes the counts cumulative.
#[derive(Default)]
pub struct Histogram {
    /// Observations in `(previous bound, bound]`; the last, above every bound.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Record one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = LATENCY_BUCKETS.partition_point(|bound| *bound < secs);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// `(upper bound, cumulative count)` per bucket, then count and sum (s).
    pub fn snapshot(&self) -> (Vec<(f64, u64)>, u64, f64) {
        let mut below = 0;
        let b = LATENCY_BUCKETS
            .iter()
            .zip(self.buckets.iter())
            .map(|(le, c)| {
                below += c.load(Ordering::Relaxed);
                (*le, below)
            })
            .collect();
        (
            b,
            self.count.load(Ordering::Relaxed),
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        )
    }
}

/// What this node has proposed and how it went.
#[derive(Default)]
pub struct ProposalMetrics {
    /// Proposals that committed (through this node).
    pub committed: AtomicU64,
    /// Proposals that were forwarded to the leader.
    pub forwarded: AtomicU64,
    /// Proposals that failed (no leader, timeout, refused).
    pub failed: AtomicU64,
    /// Time from `propose` to the reply, for committed proposals.
    pub latency: Histogram,
}

/// Where a proposal's time goes on this node, stage by stage
/// (`paddle_stage_seconds{stage=...}` in `/metrics`; `paddle bench api`
/// prints the run's share of each). A stage is timed where it happens, so
/// a follower's `forward` contains the leader's `raft_write`, which
/// contains its `log_write`, `append_rpc` and `apply`.
#[derive(Default)]
pub struct StageMetrics {
    /// Leader: a proposal waiting in the batcher until its entry starts.
    pub batch_wait: Histogram,
    /// Leader: one entry's `client_write`, from hand-over to openraft until
    /// it is appended, replicated to a quorum, committed and applied here.
    pub raft_write: Histogram,
    /// One log append until the fdatasync of its segment returned
    /// (openraft is told then).
    pub log_write: Histogram,
    /// One flush of sled plus the fdatasync of its files (flusher thread):
    /// the state, votes and the purge point; no commit waits for it.
    pub disk_flush: Histogram,
    /// Leader: one AppendEntries round trip to a follower, which answers
    /// once the entries are on its disk (heartbeats included).
    pub append_rpc: Histogram,
    /// One batch of committed entries applied to the state machine in
    /// memory (readers wait meanwhile).
    pub apply: Histogram,
    /// One sled batch of the state writer's thread: the writes of the
    /// applies it gathered (up to 10 ms of them), off the apply's path;
    /// made durable by a later flush.
    pub state_write: Histogram,
    /// That batch announced: waiters woken, its events handed to the
    /// application (the connections' queues).
    pub publish: Histogram,
    /// Follower: one forwarded request to the leader until its answer.
    pub forward: Histogram,
}

impl StageMetrics {
    /// Every stage with its name, in the order a proposal meets them.
    pub fn stages(&self) -> [(&'static str, &Histogram); 9] {
        [
            ("forward", &self.forward),
            ("batch_wait", &self.batch_wait),
            ("raft_write", &self.raft_write),
            ("log_write", &self.log_write),
            ("disk_flush", &self.disk_flush),
            ("append_rpc", &self.append_rpc),
            ("apply", &self.apply),
            ("state_write", &self.state_write),
            ("publish", &self.publish),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_bounds_inclusive() {
        let h = Histogram::default();
        for us in [50, 100, 101, 2_000, 20_000_000] {
            h.observe(Duration::from_micros(us));
        }
        let (b, count, sum) = h.snapshot();
        let at = |le: f64| b.iter().find(|(l, _)| *l == le).unwrap().1;
        assert_eq!(at(0.0001), 2, "50 us and exactly 100 us");
        assert_eq!(at(0.00025), 3);
        assert_eq!(at(0.002), 4, "exactly 2 ms");
        assert_eq!(at(10.0), 4, "20 s is above every bound");
        assert_eq!(count, 5);
        assert!((sum - 20.002251).abs() < 1e-9, "{sum}");
        assert!(b.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
