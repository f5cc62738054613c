//! `/metrics`: Prometheus text exposition of the Raft facts, the proposal
//! counters and commit latency, cluster time, and what other parts of the
//! node add (`AppState::extra_metrics`).

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use paddle_consensus::metrics::{Histogram, ProposalMetrics, StageMetrics};
use paddle_consensus::{ClusterFacts, Role};

use crate::api::state::AppState;

/// One gauge with its help line.
fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

/// One counter with its help line.
fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Leader => "leader",
        Role::Follower => "follower",
        Role::Candidate => "candidate",
        Role::Learner => "learner",
        Role::Shutdown => "shutdown",
        Role::Isolated => "isolated",
    }
}

/// Prometheus text exposition of the cluster facts and proposal metrics.
pub fn render_metrics(s: &AppState) -> String {
    let mut out = String::new();
    render_raft(&s.consensus.facts(), &mut out);
    render_proposals(s.consensus.proposal_metrics(), &mut out);
    render_stages(&s.consensus.stage_metrics(), &mut out);
    render_clock(s, &mut out);
    for extra in s.extra_metrics.iter() {
        out.push_str(&extra(s));
    }
    out
}

/// Role, term, leader, indexes and membership.
fn render_raft(f: &ClusterFacts, out: &mut String) {
    let gauges: [(&str, &str, u64); 10] = [
        ("paddle_node_id", "This node's id.", f.id),
        ("paddle_raft_term", "Current Raft term.", f.term),
        (
            "paddle_raft_leader_id",
            "Id of the known leader (0 = none).",
            f.leader.unwrap_or(0),
        ),
        (
            "paddle_raft_last_log_index",
            "Last index in the local log.",
            f.last_log.unwrap_or(0),
        ),
        (
            "paddle_raft_committed_index",
            "Highest committed index known here.",
            f.committed,
        ),
        (
            "paddle_raft_applied_index",
            "Highest index applied to the state machine.",
            f.applied,
        ),
        (
            "paddle_raft_snapshot_index",
            "Index of the last snapshot.",
            f.snapshot.unwrap_or(0),
        ),
        (
            "paddle_raft_purged_index",
            "Log purged up to this index.",
            f.purged.unwrap_or(0),
        ),
        (
            "paddle_raft_voters",
            "Voters in the membership.",
            f.voters.len() as u64,
        ),
        (
            "paddle_raft_learners",
            "Learners in the membership.",
            f.learners.len() as u64,
        ),
    ];
    for (name, help, value) in gauges {
        gauge(out, name, help, value);
    }
    let _ = writeln!(
        out,
        "# HELP paddle_raft_role 1 for this node's current role.\n# TYPE paddle_raft_role gauge"
    );
    for r in [
        Role::Leader,
        Role::Follower,
        Role::Candidate,
        Role::Learner,
        Role::Shutdown,
        Role::Isolated,
    ] {
        let _ = writeln!(
            out,
            "paddle_raft_role{{role=\"{}\"}} {}",
            role_name(r),
            u8::from(r == f.role)
        );
    }
    if !f.matched.is_empty() {
        let _ = writeln!(
            out,
            "# HELP paddle_raft_peer_matched_index Highest index each peer holds (leader only).\n# TYPE paddle_raft_peer_matched_index gauge"
        );
        for (peer, idx) in &f.matched {
            let _ = writeln!(
                out,
                "paddle_raft_peer_matched_index{{peer=\"{peer}\"}} {}",
                idx.unwrap_or(0)
            );
        }
    }
}

/// Proposals through this node and their commit latency.
fn render_proposals(m: &ProposalMetrics, out: &mut String) {
    use std::sync::atomic::Ordering::Relaxed;
    counter(
        out,
        "paddle_proposals_committed_total",
        "Proposals through this node that committed.",
        m.committed.load(Relaxed),
    );
    counter(
        out,
        "paddle_proposals_forwarded_total",
        "Proposals forwarded to the leader.",
        m.forwarded.load(Relaxed),
    );
    counter(
        out,
        "paddle_proposals_failed_total",
        "Proposals that did not commit.",
        m.failed.load(Relaxed),
    );
    let _ = writeln!(
        out,
        "# HELP paddle_commit_latency_seconds Time from propose to committed reply.\n# TYPE paddle_commit_latency_seconds histogram"
    );
    histogram(out, "paddle_commit_latency_seconds", "", &m.latency);
}

/// One histogram's buckets, sum and count; `label` is `""` or `key="v",`.
fn histogram(out: &mut String, name: &str, label: &str, h: &Histogram) {
    let (buckets, count, sum) = h.snapshot();
    for (le, c) in buckets {
        let _ = writeln!(out, "{name}_bucket{{{label}le=\"{le}\"}} {c}");
    }
    let _ = writeln!(out, "{name}_bucket{{{label}le=\"+Inf\"}} {count}");
    let label = label.trim_end_matches(',');
    let braces = |l: &str| {
        if l.is_empty() {
            String::new()
        } else {
            format!("{{{l}}}")
        }
    };
    let _ = writeln!(out, "{name}_sum{} {sum}", braces(label));
    let _ = writeln!(out, "{name}_count{} {count}", braces(label));
}

/// Where proposals spend their time on this node, stage by stage
/// (`paddle_consensus::metrics::StageMetrics`).
fn render_stages(m: &StageMetrics, out: &mut String) {
    let _ = writeln!(
        out,
        "# HELP paddle_stage_seconds Time spent in one stage of a proposal's path on this node \
         (forward: follower to leader and back; batch_wait: queued for an entry; raft_write: \
         one entry appended, replicated, committed and applied; log_write: a log append until its fdatasync; \
         disk_flush: one sled flush plus fdatasync (state, vote, purge point; off the commit path); append_rpc: one AppendEntries round trip; \
         apply: one batch applied in memory; state_write: one sled write of the applies gathered within 10 ms, on the writer thread; publish: its events handed out).\n# TYPE paddle_stage_seconds histogram"
    );
    for (stage, h) in m.stages() {
        histogram(
            out,
            "paddle_stage_seconds",
            &format!("stage=\"{stage}\","),
            h,
        );
    }
}

/// Cluster time: this node's skew and every peer's, as measured here.
fn render_clock(s: &AppState, out: &mut String) {
    let c = s.consensus.clock().status();
    let _ = writeln!(
        out,
        "# HELP paddle_clock_synced 1 once this node agreed on cluster time with a majority of the voters.\n\
         # TYPE paddle_clock_synced gauge\npaddle_clock_synced {}\n\
         # HELP paddle_clock_agreed 1 while a majority of the voters' clocks is measured and agrees.\n\
         # TYPE paddle_clock_agreed gauge\npaddle_clock_agreed {}\n\
         # HELP paddle_clock_skewed 1 when this node's wall clock is further than clock.max_skew_ms from cluster time.\n\
         # TYPE paddle_clock_skewed gauge\npaddle_clock_skewed {}\n\
         # HELP paddle_clock_max_skew_seconds The skew bound (clock.max_skew_ms).\n\
         # TYPE paddle_clock_max_skew_seconds gauge\npaddle_clock_max_skew_seconds {}",
        u8::from(c.synced),
        u8::from(c.agreed),
        u8::from(c.skewed),
        c.max_skew_ms as f64 / 1000.0,
    );
    if let Some(off) = c.offset_ms {
        let _ = writeln!(
            out,
            "# HELP paddle_clock_offset_seconds This node's wall clock minus cluster time.\n\
             # TYPE paddle_clock_offset_seconds gauge\npaddle_clock_offset_seconds {}",
            off / 1000.0
        );
    }
    if c.peers.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "# HELP paddle_clock_peer_offset_seconds A member's wall clock minus cluster time, measured here.\n\
         # TYPE paddle_clock_peer_offset_seconds gauge"
    );
    for p in c.peers.iter().filter(|p| p.offset_ms.is_some()) {
        let _ = writeln!(
            out,
            "paddle_clock_peer_offset_seconds{{peer=\"{}\"}} {}",
            p.id,
            p.offset_ms.unwrap_or(0.0) / 1000.0
        );
    }
    let _ = writeln!(
        out,
        "# HELP paddle_clock_peer_skewed 1 when a member's clock is further than clock.max_skew_ms from cluster time.\n\
         # TYPE paddle_clock_peer_skewed gauge"
    );
    for p in &c.peers {
        let _ = writeln!(
            out,
            "paddle_clock_peer_skewed{{peer=\"{}\"}} {}",
            p.id,
            u8::from(p.skewed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP paddle_clock_peer_rtt_seconds Round trip of the clock sample used for a member.\n\
         # TYPE paddle_clock_peer_rtt_seconds gauge"
    );
    for p in &c.peers {
        let _ = writeln!(
            out,
            "paddle_clock_peer_rtt_seconds{{peer=\"{}\"}} {}",
            p.id,
            p.rtt_ms / 1000.0
        );
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        render_metrics(&s),
    )
}
