//! Watcher counts of the other members, as they last answered: what the
//! `presence` frames add to this node's own rooms (see `announce`). A node
//! that has not answered for [`REMOTE_TTL`] is left out, so a dead node's
//! watchers stop counting.
//!
//! It also keeps the watchers-over-time series of the analytics dashboard:
//! the cluster-wide count this node announced, one sample per
//! [`SAMPLE_EVERY_MS`] per sale it has rooms for. Presence is not in the
//! log, so this series is this node's own view (another node's may differ
//! by a sample or a missed answer), kept in memory and lost on restart.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A remote count older than this is ignored.
pub const REMOTE_TTL: Duration = Duration::from_secs(5);
/// How often rooms hear the cluster-wide count.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(2);

/// Cluster time between two samples of a sale's watchers.
pub const SAMPLE_EVERY_MS: u64 = 10_000;
/// Samples kept per sale: six hours.
pub const MAX_SAMPLES: usize = 2_160;
/// Sales sampled at once; the one sampled least lately is dropped first.
pub const MAX_SAMPLED_SALES: usize = 64;

/// One node's last answer: when, and watchers per sale.
type Answer = (Instant, HashMap<u64, u64>);

/// Other nodes' last answers, and this node's watcher samples.
#[derive(Default)]
pub struct Presence {
    remote: Mutex<HashMap<u64, Answer>>,
    /// Sale → `(cluster time ms, watchers)`, oldest first.
    samples: Mutex<HashMap<u64, VecDeque<(u64, u64)>>>,
}

impl Presence {
    pub(crate) fn store(&self, node: u64, counts: Vec<(u64, u64)>) {
        let mut r = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        r.insert(node, (Instant::now(), counts.into_iter().collect()));
    }

    /// `(watchers elsewhere, nodes that answered lately)` for a sale.
    pub(crate) fn elsewhere(&self, sale: u64) -> (u64, usize) {
        let mut r = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        r.retain(|_, (at, _)| at.elapsed() < REMOTE_TTL);
        let sum = r.values().filter_map(|(_, m)| m.get(&sale)).sum();
        (sum, r.len())
    }

    /// Note the cluster-wide watchers of a sale at cluster time `at_ms`
    /// (kept when the last sample is [`SAMPLE_EVERY_MS`] old).
    pub(crate) fn sample(&self, sale: u64, at_ms: u64, watchers: u64) {
        let mut all = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        if !all.contains_key(&sale) && all.len() >= MAX_SAMPLED_SALES {
            let stalest = all
                .iter()
                .min_by_key(|(_, q)| q.back().map_or(0, |s| s.0))
                .map(|(k, _)| *k);
            if let Some(k) = stalest {
                all.remove(&k);
            }
        }
        let q = all.entry(sale).or_default();
        if q.back()
            .is_some_and(|(t, _)| at_ms < t.saturating_add(SAMPLE_EVERY_MS))
        {
            return;
        }
        if q.len() >= MAX_SAMPLES {
            q.pop_front();
        }
        q.push_back((at_ms, watchers));
    }

    /// This node's samples of a sale's watchers, oldest first.
    pub fn samples(&self, sale: u64) -> Vec<(u64, u64)> {
        let all = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        all.get(&sale)
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_spaced_bounded_and_per_sale() {
        let p = Presence::default();
        p.sample(1, 1_000, 3);
        p.sample(1, 5_000, 9); // too soon: dropped
        p.sample(1, 11_000, 4);
        p.sample(2, 11_000, 7);
        assert_eq!(p.samples(1), [(1_000, 3), (11_000, 4)]);
        assert_eq!(p.samples(2), [(11_000, 7)]);
        assert!(p.samples(3).is_empty());
        for i in 0..(MAX_SAMPLES as u64 + 5) {
            p.sample(9, 100_000 + i * SAMPLE_EVERY_MS, i);
        }
        let s = p.samples(9);
        assert_eq!(s.len(), MAX_SAMPLES);
        assert_eq!(s.last().unwrap().1, MAX_SAMPLES as u64 + 4);
        // As many new sales as are kept: the three sampled least lately go.
        for sale in 100..(100 + MAX_SAMPLED_SALES as u64) {
            p.sample(sale, u64::MAX / 2, 1);
        }
        assert!(p.samples(1).is_empty() && p.samples(2).is_empty() && p.samples(9).is_empty());
        assert_eq!(p.samples(100), [(u64::MAX / 2, 1)]);
    }
}
