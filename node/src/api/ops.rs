//! Liveness, readiness, Prometheus metrics and the cluster summary.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use paddle_consensus::{ClusterFacts, Role};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// Most entries a follower may trail its known commit index and still be ready.
const READY_LAG: u64 = 100;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, description = "`{\"status\":\"alive\",\"node_id\":N}`")))]
async fn health(State(s): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({ "status": "alive", "node_id": s.consensus.id() }))
}

/// Why this node is or is not ready to serve.
#[derive(Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub member: bool,
    pub leader_known: bool,
    pub caught_up: bool,
    /// This node has agreed cluster time with a majority of the voters, so
    /// the time it gives pages is the cluster's, not its own clock.
    pub clock_synced: bool,
    pub applied: u64,
    pub committed: u64,
    pub reasons: Vec<String>,
}

/// Judge readiness from the cluster facts and whether this node has
/// cluster time.
pub fn readiness(f: &ClusterFacts, clock_synced: bool) -> Readiness {
    let member = f.nodes.contains_key(&f.id);
    let leader_known = f.leader.is_some();
    let caught_up = f.applied + READY_LAG >= f.committed;
    let mut reasons = Vec::new();
    if !member {
        reasons.push("this node is not a member of the cluster (yet)".to_string());
    }
    if f.role == Role::Isolated {
        reasons.push(
            "this node was elected leader but no quorum has answered it within the stale \
             threshold (cut off by a partition?)"
                .to_string(),
        );
    } else if !leader_known {
        reasons.push("no leader is known".to_string());
    }
    if !caught_up {
        reasons.push(format!(
            "applied index {} trails committed index {}",
            f.applied, f.committed
        ));
    }
    if !clock_synced {
        reasons.push(
            "no cluster time yet: too few voters' clocks measured (it would show pages its own clock)"
                .to_string(),
        );
    }
    Readiness {
        ready: member && leader_known && caught_up && clock_synced,
        member,
        leader_known,
        caught_up,
        clock_synced,
        applied: f.applied,
        committed: f.committed,
        reasons,
    }
}

/// Readiness: a member, a leader known, caught up.
#[utoipa::path(get, path = "/ready", tag = "ops", responses((status = 200, description = "Ready"), (status = 503, description = "Not ready, with reasons")))]
async fn ready(State(s): State<AppState>) -> impl IntoResponse {
    let r = readiness(&s.consensus.facts(), s.consensus.clock().status().synced);
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r))
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
    let f = s.consensus.facts();
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge("paddle_node_id", "This node's id.", f.id);
    gauge("paddle_raft_term", "Current Raft term.", f.term);
    gauge(
        "paddle_raft_leader_id",
        "Id of the known leader (0 = none).",
        f.leader.unwrap_or(0),
    );
    gauge(
        "paddle_raft_last_log_index",
        "Last index in the local log.",
        f.last_log.unwrap_or(0),
    );
    gauge(
        "paddle_raft_committed_index",
        "Highest committed index known here.",
        f.committed,
    );
    gauge(
        "paddle_raft_applied_index",
        "Highest index applied to the state machine.",
        f.applied,
    );
    gauge(
        "paddle_raft_snapshot_index",
        "Index of the last snapshot.",
        f.snapshot.unwrap_or(0),
    );
    gauge(
        "paddle_raft_purged_index",
        "Log purged up to this index.",
        f.purged.unwrap_or(0),
    );
    gauge(
        "paddle_raft_voters",
        "Voters in the membership.",
        f.voters.len() as u64,
    );
    gauge(
        "paddle_raft_learners",
        "Learners in the membership.",
        f.learners.len() as u64,
    );
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
    let m = s.consensus.proposal_metrics();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    };
    use std::sync::atomic::Ordering::Relaxed;
    counter(
        "paddle_proposals_committed_total",
        "Proposals through this node that committed.",
        m.committed.load(Relaxed),
    );
    counter(
        "paddle_proposals_forwarded_total",
        "Proposals forwarded to the leader.",
        m.forwarded.load(Relaxed),
    );
    counter(
        "paddle_proposals_failed_total",
        "Proposals that did not commit.",
        m.failed.load(Relaxed),
    );
    let (buckets, count, sum) = m.latency.snapshot();
    let _ = writeln!(
        out,
        "# HELP paddle_commit_latency_seconds Time from propose to committed reply.\n# TYPE paddle_commit_latency_seconds histogram"
    );
    for (le, c) in buckets {
        let _ = writeln!(
            out,
            "paddle_commit_latency_seconds_bucket{{le=\"{le}\"}} {c}"
        );
    }
    let _ = writeln!(
        out,
        "paddle_commit_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(out, "paddle_commit_latency_seconds_sum {sum}");
    let _ = writeln!(out, "paddle_commit_latency_seconds_count {count}");
    render_clock(s, &mut out);
    for extra in s.extra_metrics.iter() {
        out.push_str(&extra(s));
    }
    out
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
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        render_metrics(&s),
    )
}
