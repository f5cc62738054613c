//! Liveness and readiness: `/health` (the process answers) and `/ready`
//! (a member, a leader known, caught up, cluster time agreed).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use paddle_consensus::{ClusterFacts, Role};
use serde::Serialize;

use crate::api::state::AppState;

/// Most entries a follower may trail its known commit index and still be ready.
const READY_LAG: u64 = 100;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, description = "`{\"status\":\"alive\",\"node_id\":N}`")))]
pub async fn health(State(s): State<AppState>) -> impl IntoResponse {
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
pub async fn ready(State(s): State<AppState>) -> impl IntoResponse {
    let r = readiness(&s.consensus.facts(), s.consensus.clock().status().synced);
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r))
}
