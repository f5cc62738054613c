//! The cluster as the operator sees and changes it: every node's status
//! (`GET /api/v1/cluster`) and membership changes (remove, promote, demote,
//! hand leadership over), asked of any node and made on the leader.

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use futures::future::join_all;
use serde::{Deserialize, Serialize};

use crate::api::auth::require_operator;
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::api::state::AppState;
use crate::cluster::rpc::{ClusterRequest, ClusterResponse, MembershipChange, NodeStatus};
use crate::cluster::service::{call_member, ADMIT_CALL};

/// One row of `cluster status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeRow {
    pub id: u64,
    pub raft_addr: String,
    pub http_addr: String,
    pub voter: bool,
    /// leader, follower, learner, candidate, isolated (a leader no quorum
    /// answers); `unreachable` when it did not answer.
    pub role: String,
    pub term: Option<u64>,
    pub applied: Option<u64>,
    /// Entries behind the leader's last log index.
    pub lag: Option<u64>,
    pub healthy: bool,
    /// Open WebSocket connections on that node; absent when it did not answer.
    pub clients: Option<u64>,
    /// Its wall clock minus cluster time (ms), as measured by the answering
    /// node; absent before it was measured or before cluster time is agreed.
    #[serde(default)]
    pub clock_offset_ms: Option<f64>,
    /// Its clock is further than `clock.max_skew_ms` from cluster time: it
    /// stamps and shows cluster time, but its clock needs fixing.
    #[serde(default)]
    pub clock_skewed: bool,
}

/// The whole cluster as seen from this node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterStatus {
    pub answered_by: u64,
    pub leader: Option<u64>,
    pub term: u64,
    pub committed: u64,
    pub joint: bool,
    /// Cluster time (ms) on the answering node.
    #[serde(default)]
    pub server_time_ms: u64,
    /// The answering node has a majority of the voters' clocks measured and
    /// in agreement right now.
    #[serde(default)]
    pub clock_agreed: bool,
    /// The skew bound (`clock.max_skew_ms`).
    #[serde(default)]
    pub max_skew_ms: u64,
    pub nodes: Vec<NodeRow>,
}

/// Above this many entries behind, a node is reported unhealthy.
const UNHEALTHY_LAG: u64 = 10_000;

/// Every node: addresses, voter or learner, role, term, applied index, lag, health.
#[utoipa::path(get, path = "/api/v1/cluster", tag = "cluster", responses((status = 200, description = "The cluster as seen from this node")))]
pub async fn status(State(s): State<AppState>) -> Json<ClusterStatus> {
    let f = s.consensus.facts();
    let me = s.consensus.id();
    let answers = statuses(&s, &f).await;
    let leader_last = f
        .leader
        .and_then(|l| answers.get(&l).cloned().flatten())
        .and_then(|st| st.facts.last_log)
        .or(f.last_log)
        .unwrap_or(0);
    let clock = s.consensus.clock().status();
    let nodes = f
        .nodes
        .iter()
        .map(|(id, addr)| {
            let (clock_offset_ms, clock_skewed) = if *id == me {
                (clock.offset_ms, clock.skewed)
            } else {
                clock
                    .peers
                    .iter()
                    .find(|p| p.id == *id)
                    .map_or((None, false), |p| (p.offset_ms, p.skewed))
            };
            let row = row(
                *id,
                addr,
                f.voters.contains(id),
                answers.get(id).cloned().flatten(),
                leader_last,
            );
            NodeRow {
                clock_offset_ms,
                clock_skewed,
                ..row
            }
        })
        .collect();
    Json(ClusterStatus {
        answered_by: me,
        leader: f.leader,
        term: f.term,
        committed: f.committed,
        joint: f.joint,
        server_time_ms: clock.now_ms,
        clock_agreed: clock.agreed,
        max_skew_ms: clock.max_skew_ms,
        nodes,
    })
}

/// Every member's own status: asked of the others at once (800 ms each;
/// `None` when one did not answer), this node's from itself.
async fn statuses(
    s: &AppState,
    f: &paddle_consensus::ClusterFacts,
) -> std::collections::BTreeMap<u64, Option<NodeStatus>> {
    let asks = s.consensus.other_members().into_iter().map(|(id, _)| {
        let c = s.consensus.clone();
        async move {
            let r = call_member(&c, id, &ClusterRequest::Status, Duration::from_millis(800)).await;
            match r {
                Ok(ClusterResponse::Status(st)) => (id, Some(st)),
                _ => (id, None),
            }
        }
    });
    let mut answers: std::collections::BTreeMap<u64, Option<NodeStatus>> =
        join_all(asks).await.into_iter().collect();
    let mine = NodeStatus {
        facts: f.into(),
        leader_contact_ms: s
            .consensus
            .leader_contact_age()
            .map(|d| d.as_millis() as u64),
        clients: s.api.limits.connections() as u64,
    };
    answers.insert(s.consensus.id(), Some(mine));
    answers
}

/// One node's row from its own status (`None`: it did not answer).
fn row(
    id: u64,
    addr: &paddle_consensus::types::NodeAddr,
    voter: bool,
    st: Option<NodeStatus>,
    leader_last: u64,
) -> NodeRow {
    let applied = st.as_ref().map(|st| st.facts.applied);
    let lag = applied.map(|a| leader_last.saturating_sub(a));
    let contact_ok = st.as_ref().is_some_and(|st| {
        st.facts.role == "leader" || st.leader_contact_ms.is_some_and(|ms| ms < 5_000)
    });
    NodeRow {
        id,
        raft_addr: addr.raft.clone(),
        http_addr: addr.http.clone(),
        voter,
        role: st
            .as_ref()
            .map(|st| st.facts.role.clone())
            .unwrap_or_else(|| "unreachable".into()),
        term: st.as_ref().map(|st| st.facts.term),
        applied,
        lag,
        healthy: contact_ok && lag.is_some_and(|l| l <= UNHEALTHY_LAG),
        clients: st.as_ref().map(|st| st.clients),
        clock_offset_ms: None,
        clock_skewed: false,
    }
}

pub async fn membership_change(
    s: &AppState,
    headers: &HeaderMap,
    change: MembershipChange,
) -> Result<impl IntoResponse, ApiError> {
    require_operator(s, headers)?;
    let svc = s
        .cluster
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("not_ready", "cluster service not running"))?;
    let done = || {
        Ok(Json(
            serde_json::json!({ "ok": true, "change": format!("{change:?}") }),
        ))
    };
    match svc
        .on_leader(ClusterRequest::Change(change), ADMIT_CALL)
        .await
    {
        ClusterResponse::Done => done(),
        ClusterResponse::Error { code, message } => {
            // Removing the leader hands leadership over and the old leader
            // stops, which can cut the answer off. Judge by the outcome.
            if let MembershipChange::Remove(id) = change {
                if code == "no_quorum" && wait_until_gone(s, id).await {
                    return done();
                }
            }
            Err(cluster_error(&code, message))
        }
        other => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}

/// Wait (briefly) until a linearizable view shows `id` out of the membership.
pub async fn wait_until_gone(s: &AppState, id: u64) -> bool {
    for _ in 0..20 {
        if s.consensus
            .linearizable_view(Duration::from_secs(2))
            .await
            .is_ok()
            && s.consensus.node_addr(id).is_none()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn cluster_error(code: &str, message: String) -> ApiError {
    match code {
        "not_member" => ApiError::not_found("not_member", message),
        "not_voter" => ApiError::conflict("not_voter", message),
        "would_lose_quorum" => ApiError::conflict("would_lose_quorum", message),
        "no_quorum" => ApiError::unavailable("no_quorum", message),
        "no_successor" => ApiError::conflict("no_successor", message),
        "handover_failed" => ApiError::unavailable("handover_failed", message),
        "catch_up_timeout" => ApiError::unavailable("catch_up_timeout", message),
        _ => ApiError::unavailable("membership", message),
    }
}

/// Remove a node live (operator).
#[utoipa::path(post, path = "/api/v1/cluster/nodes/{id}/remove", tag = "cluster", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Node id")),
    responses((status = 200, description = "Removed"), (status = 403, description = "Not the operator token"), (status = 409, description = "Would lose quorum")))]
pub async fn remove(
    State(s): State<AppState>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    membership_change(&s, &headers, MembershipChange::Remove(id)).await
}

/// Make a learner a voter (operator).
#[utoipa::path(post, path = "/api/v1/cluster/nodes/{id}/promote", tag = "cluster", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Node id")),
    responses((status = 200, description = "Promoted"), (status = 403, description = "Not the operator token")))]
pub async fn promote(
    State(s): State<AppState>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    membership_change(&s, &headers, MembershipChange::Promote(id)).await
}

/// Make a voter a learner (operator).
#[utoipa::path(post, path = "/api/v1/cluster/nodes/{id}/demote", tag = "cluster", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Node id")),
    responses((status = 200, description = "Demoted"), (status = 403, description = "Not the operator token")))]
pub async fn demote(
    State(s): State<AppState>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    membership_change(&s, &headers, MembershipChange::Demote(id)).await
}

/// Hand leadership to this voter (operator): before maintenance on the
/// leader's machine, or to choose which machine runs the sale's timer.
#[utoipa::path(post, path = "/api/v1/cluster/nodes/{id}/lead", tag = "cluster", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Node id")),
    responses((status = 200, description = "That node leads"), (status = 403, description = "Not the operator token"),
              (status = 404, description = "`not_member`"), (status = 409, description = "`not_voter` or `no_successor` (not a healthy voter)"),
              (status = 503, description = "`handover_failed` or `no_quorum`")))]
pub async fn lead(
    State(s): State<AppState>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    membership_change(&s, &headers, MembershipChange::Lead(id)).await
}
