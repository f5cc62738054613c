//! Counters and the commit-latency histogram that `/metrics` exposes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the commit-latency buckets, Prometheus style.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// A cumulative histogram of durations with fixed buckets; lock-free.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Record one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// `(upper bound, cumulative count)` per bucket, then count and sum (s).
    pub fn snapshot(&self) -> (Vec<(f64, u64)>, u64, f64) {
        let b = LATENCY_BUCKETS
            .iter()
            .zip(self.buckets.iter())
            .map(|(le, c)| (*le, c.load(Ordering::Relaxed)))
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
