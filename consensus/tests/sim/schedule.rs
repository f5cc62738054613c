//! One seed's fault schedule, drawn entirely from the seed before anything
//! runs: which faults, when, to whom, and the links' weather. Printed when
//! the seed fails; the same seed always draws the same schedule.

use std::fmt;

use paddle_consensus::types::NodeId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::net::Weather;

/// A fault (or its end) at a moment of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Cut every link to and from the node (a minority / majority split).
    Isolate(NodeId),
    /// Cut one direction only: `from` no longer reaches `to`.
    OneWay {
        from: NodeId,
        to: NodeId,
    },
    /// Mend every cut link.
    Heal,
    /// The node stops at once; nothing reaches it or leaves it.
    Crash(NodeId),
    /// The node starts again from its directory.
    Restart(NodeId),
    /// Every node crashes; they restart together at the next `RestartAll`.
    CrashAll,
    RestartAll,
    /// A new, empty member with this id starts and is admitted as a voter
    /// (in the background: the faults go on meanwhile).
    Join(NodeId),
    /// This member is removed from the cluster (in the background), then
    /// stopped for good.
    Leave(NodeId),
}

/// What happens, when (ms of virtual time from the start of the load).
#[derive(Debug, Clone)]
pub struct Schedule {
    pub seed: u64,
    pub nodes: u64,
    pub weather: Weather,
    /// Per node, its wall clock's offset from true time (µs).
    pub skew_us: Vec<i64>,
    /// Load runs this long; then the cluster is healed and checked.
    pub load_ms: u64,
    pub clients: u32,
    pub snapshot_logs: u64,
    pub faults: Vec<(u64, Fault)>,
}

impl Schedule {
    /// Draw the schedule of `seed`. `load_ms` is how long clients bid.
    pub fn draw(seed: u64, load_ms: u64) -> Schedule {
        let mut rng = StdRng::seed_from_u64(seed);
        let nodes = if rng.gen_ratio(1, 4) { 5 } else { 3 };
        let weather = Weather {
            drop_permille: rng.gen_range(0..40),
            duplicate_permille: rng.gen_range(0..40),
            slow_permille: rng.gen_range(0..150),
            slow_ms: rng.gen_range(20..400),
        };
        let skew_us = (0..nodes)
            .map(|_| rng.gen_range(-400_000..400_000))
            .collect();
        let mut faults = Vec::new();
        let mut t = rng.gen_range(100..600);
        // Until when each node is scheduled to be down.
        let mut down_until = std::collections::BTreeMap::<NodeId, u64>::new();
        while t < load_ms {
            let node = rng.gen_range(1..=nodes);
            let lasts = rng.gen_range(200..2_500);
            match rng.gen_range(0..100) {
                0..=29 => {
                    faults.push((t, Fault::Isolate(node)));
                    faults.push((t + lasts, Fault::Heal));
                }
                30..=44 => {
                    let mut to = rng.gen_range(1..=nodes);
                    if to == node {
                        to = to % nodes + 1;
                    }
                    faults.push((t, Fault::OneWay { from: node, to }));
                    faults.push((t + lasts, Fault::Heal));
                }
                45..=84 => {
                    if down_until.get(&node).is_none_or(|until| *until < t) {
                        down_until.insert(node, t + lasts);
                        faults.push((t, Fault::Crash(node)));
                        faults.push((t + lasts, Fault::Restart(node)));
                    }
                }
                85..=91 => {
                    faults.push((t, Fault::CrashAll));
                    faults.push((t + lasts / 2, Fault::RestartAll));
                }
                _ => {
                    // A quiet spell.
                }
            }
            t += rng.gen_range(100..1_200);
        }
        let clients = rng.gen_range(2..=4);
        let snapshot_logs = rng.gen_range(30..300);
        // One seed in three replaces a member under the faults above: a new
        // one joins, then one of the first ones leaves. (Drawn last, so the
        // rest of an older seed's schedule is what it was.)
        if rng.gen_ratio(1, 3) {
            let join_at = rng.gen_range(200..load_ms / 2);
            let leave_at = join_at + rng.gen_range(100..load_ms / 2);
            faults.push((join_at, Fault::Join(nodes + 1)));
            faults.push((leave_at, Fault::Leave(rng.gen_range(1..=nodes))));
        }
        faults.sort_by_key(|(at, _)| *at);
        Schedule {
            seed,
            nodes,
            weather,
            skew_us,
            load_ms,
            clients,
            snapshot_logs,
            faults,
        }
    }

    /// Every member id the run will have: the first `nodes`, then those
    /// that join.
    pub fn ids(&self) -> Vec<NodeId> {
        let joined = self.faults.iter().filter_map(|(_, f)| match f {
            Fault::Join(id) => Some(*id),
            _ => None,
        });
        (1..=self.nodes).chain(joined).collect()
    }

    /// The voters the cluster must have at the end.
    pub fn final_voters(&self) -> Vec<NodeId> {
        let left: Vec<NodeId> = self
            .faults
            .iter()
            .filter_map(|(_, f)| match f {
                Fault::Leave(id) => Some(*id),
                _ => None,
            })
            .collect();
        self.ids()
            .into_iter()
            .filter(|id| !left.contains(id))
            .collect()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed {}: {} nodes, {} clients for {} ms, snapshot every {} entries",
            self.seed, self.nodes, self.clients, self.load_ms, self.snapshot_logs
        )?;
        writeln!(
            f,
            "  weather: {:?}; clock skew (µs): {:?}",
            self.weather, self.skew_us
        )?;
        for (at, fault) in &self.faults {
            writeln!(f, "  at {at:>6} ms: {fault:?}")?;
        }
        Ok(())
    }
}
