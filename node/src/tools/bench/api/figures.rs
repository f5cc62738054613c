//! When a figure of `paddle bench api` counts: each is reported only when
//! the run measured it validly, and says "not measured" and why otherwise.
//!
//! Runs above capacity used to print impossible values: a bid → watcher
//! p50 of 52 s in a 10 s run with no watchers (the fan-out watchers timed
//! the fan-out bid against bids sent long before), 22 bytes per idle
//! connection, or 131,860 bytes measured while the node was still draining
//! a backlog. The rules here are pure so tests can hold them.

use std::collections::BTreeMap;

use serde::Serialize;

/// Fewest new idle connections on one node for a per-connection memory
/// figure: RSS moves in pages and allocator arenas, so a few hundred
/// connections divide noise, not their cost.
pub const MIN_IDLE_CONNECTIONS: usize = 1_000;

/// A figure, or why it was not measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    Measured(f64),
    NotMeasured(String),
}

impl Figure {
    /// The value, if measured.
    pub fn value(&self) -> Option<f64> {
        match self {
            Figure::Measured(v) => Some(*v),
            Figure::NotMeasured(_) => None,
        }
    }

    /// `format` of the value, or "not measured (why)".
    pub fn show(&self, format: impl Fn(f64) -> String) -> String {
        match self {
            Figure::Measured(v) => format(*v),
            Figure::NotMeasured(why) => format!("not measured ({why})"),
        }
    }
}

/// Figures as JSON: measured ones as numbers, the others as `null` with
/// their reason under `not_measured`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Figures {
    #[serde(flatten)]
    pub values: BTreeMap<&'static str, Option<f64>>,
    pub not_measured: BTreeMap<&'static str, String>,
}

impl Figures {
    /// Record `figure` under `name`.
    pub fn put(&mut self, name: &'static str, figure: &Figure) {
        self.values.insert(name, figure.value());
        if let Figure::NotMeasured(why) = figure {
            self.not_measured.insert(name, why.clone());
        }
    }
}

/// A latency percentile from `samples` samples: needs at least one.
pub fn latency(samples: u64, value_ms: f64) -> Figure {
    if samples == 0 {
        return Figure::NotMeasured("no samples".into());
    }
    Figure::Measured(value_ms)
}

/// Bid → watcher latency. A watcher times each `bid_accepted` against the
/// send time of that bidder's latest bid (the event does not carry the bid
/// id), which is that bid's only while a bidder has one bid in flight: when
/// results take longer than the interval between a bidder's bids, the
/// pairing is ambiguous and the figure is not reported.
pub fn watcher_latency(
    watchers: usize,
    samples: u64,
    value_ms: f64,
    result_p99_ms: Option<f64>,
    bid_interval_ms: f64,
) -> Figure {
    if watchers == 0 {
        return Figure::NotMeasured("no watchers".into());
    }
    if samples == 0 {
        return Figure::NotMeasured("no samples".into());
    }
    match result_p99_ms {
        Some(p99) if p99 > bid_interval_ms => Figure::NotMeasured(format!(
            "bids overlapped: bid -> result p99 {p99:.1} ms > {bid_interval_ms:.1} ms between \
             a bidder's bids, so an event cannot be paired with its bid"
        )),
        _ => Figure::Measured(value_ms),
    }
}

/// What was seen around the idle-memory measurement on one node.
#[derive(Debug, Clone, Copy)]
pub struct IdleWindow {
    pub rss_before: u64,
    pub rss_after: u64,
    /// New idle connections on the node.
    pub connections: usize,
    /// The node's applied index at the start and the end of the window.
    pub index_before: u64,
    pub index_after: u64,
    /// Bids sent that had no result when the window opened.
    pub unanswered: u64,
}

/// Memory per idle connection: RSS growth over new idle connections,
/// measured only on an idle node (every bid answered, nothing applied
/// during the window) and over enough connections.
pub fn idle_memory(w: &IdleWindow) -> Figure {
    if w.unanswered > 0 {
        return Figure::NotMeasured(format!(
            "{} bids still unanswered: the node was draining a backlog",
            w.unanswered
        ));
    }
    if w.index_after != w.index_before {
        return Figure::NotMeasured(format!(
            "the node applied entries during the measurement (index {} -> {})",
            w.index_before, w.index_after
        ));
    }
    if w.connections < MIN_IDLE_CONNECTIONS {
        return Figure::NotMeasured(format!(
            "only {} new connections on the node, fewer than {MIN_IDLE_CONNECTIONS}",
            w.connections
        ));
    }
    if w.rss_after <= w.rss_before {
        return Figure::NotMeasured("resident memory did not grow".into());
    }
    Figure::Measured((w.rss_after - w.rss_before) as f64 / w.connections as f64)
}

/// The share of the machine's CPU (all cores) a process used: CPU seconds
/// over wall seconds × cores.
pub fn cpu_share(cpu_seconds: f64, wall_seconds: f64, cores: usize) -> Figure {
    if wall_seconds <= 0.0 || cores == 0 {
        return Figure::NotMeasured("no time elapsed".into());
    }
    Figure::Measured(cpu_seconds / (wall_seconds * cores as f64))
}

/// CPU seconds (user + system) this process has used so far.
pub fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes only the struct we pass, which lives on
    // this stack frame for the duration of the call.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

/// CPU seconds (user + system) process `pid` has used so far, from
/// `/proc/<pid>/stat` (0 when it cannot be read).
pub fn process_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    parse_stat_cpu_seconds(&stat, clock_ticks())
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf reads a constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime + stime of a `/proc/<pid>/stat` line, in seconds. The command
/// name (field 2) may hold spaces and parentheses: fields are counted from
/// the last `)`.
pub fn parse_stat_cpu_seconds(stat: &str, ticks_per_second: f64) -> f64 {
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0.0;
    };
    // After the name: state is field 3, utime field 14, stime field 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (field(14) + field(15)) / ticks_per_second
}

/// Cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle() -> IdleWindow {
        IdleWindow {
            rss_before: 100_000_000,
            rss_after: 107_000_000,
            connections: 1_000,
            index_before: 50,
            index_after: 50,
            unanswered: 0,
        }
    }

    #[test]
    fn latency_needs_samples() {
        assert_eq!(
            latency(0, 52_297.0),
            Figure::NotMeasured("no samples".into())
        );
        assert_eq!(latency(3, 4.5), Figure::Measured(4.5));
    }

    #[test]
    fn watcher_latency_is_not_measured_without_watchers_or_when_bids_overlap() {
        assert!(matches!(
            watcher_latency(0, 500, 52_297.0, Some(3.0), 100.0),
            Figure::NotMeasured(why) if why == "no watchers"
        ));
        assert!(matches!(
            watcher_latency(100, 0, 0.0, Some(3.0), 100.0),
            Figure::NotMeasured(why) if why == "no samples"
        ));
        assert!(matches!(
            watcher_latency(100, 500, 40.0, Some(900.0), 100.0),
            Figure::NotMeasured(why) if why.starts_with("bids overlapped")
        ));
        assert_eq!(
            watcher_latency(100, 500, 4.0, Some(9.0), 100.0),
            Figure::Measured(4.0)
        );
    }

    #[test]
    fn idle_memory_only_on_an_idle_node_over_enough_connections() {
        assert_eq!(idle_memory(&idle()), Figure::Measured(7_000.0));
        let draining = IdleWindow {
            unanswered: 12,
            ..idle()
        };
        assert!(matches!(idle_memory(&draining), Figure::NotMeasured(w) if w.contains("backlog")));
        let applying = IdleWindow {
            index_after: 51,
            ..idle()
        };
        assert!(matches!(idle_memory(&applying), Figure::NotMeasured(w) if w.contains("50 -> 51")));
        let few = IdleWindow {
            connections: 40,
            ..idle()
        };
        assert!(matches!(idle_memory(&few), Figure::NotMeasured(w) if w.contains("only 40")));
        let shrank = IdleWindow {
            rss_after: 90_000_000,
            ..idle()
        };
        assert!(matches!(idle_memory(&shrank), Figure::NotMeasured(_)));
    }

    #[test]
    fn cpu_share_is_cpu_over_wall_times_cores() {
        assert_eq!(cpu_share(3.0, 10.0, 2), Figure::Measured(0.15));
        assert!(matches!(cpu_share(3.0, 0.0, 2), Figure::NotMeasured(_)));
    }

    #[test]
    fn proc_stat_is_read_after_the_command_name() {
        let line = "4242 (paddle (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100";
        assert_eq!(parse_stat_cpu_seconds(line, 100.0), 3.0);
        assert_eq!(parse_stat_cpu_seconds("garbage", 100.0), 0.0);
        assert!(own_cpu_seconds() >= 0.0);
    }

    #[test]
    fn figures_keep_values_and_reasons_for_json() {
        let mut f = Figures::default();
        f.put("a_ms", &Figure::Measured(1.5));
        f.put("b_ms", &Figure::NotMeasured("no watchers".into()));
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["a_ms"], 1.5);
        assert!(v["b_ms"].is_null());
        assert_eq!(v["not_measured"]["b_ms"], "no watchers");
        assert_eq!(
            Figure::NotMeasured("x".into()).show(|v| format!("{v}")),
            "not measured (x)"
        );
    }
}
