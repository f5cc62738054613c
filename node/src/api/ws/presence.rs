//! Watcher counts of the other members, as they last answered: what the
//! `presence` frames add to this node's own rooms (see `announce`). A node
//! that has not answered for [`REMOTE_TTL`] is left out, so a dead node's
//! watchers stop counting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A remote count older than this is ignored.
pub const REMOTE_TTL: Duration = Duration::from_secs(5);
/// How often rooms hear the cluster-wide count.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(2);

/// One node's last answer: when, and watchers per sale.
type Answer = (Instant, HashMap<u64, u64>);

/// Other nodes' last answers.
#[derive(Default)]
pub struct Presence {
    remote: Mutex<HashMap<u64, Answer>>,
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
}
