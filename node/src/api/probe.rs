//! Diagnostic endpoints for operators, benchmarks and the cluster tests:
//! write a probe through Raft, list probes, read the state hash.
//!
//! A probe is a write with no auction meaning (`Command::Probe`): the
//! history checker of the cluster tests writes numbered probes while it
//! kills nodes, then checks that every acknowledged one is present on every
//! node. All endpoints need the operator token.

use std::time::Duration;

use axum::extract::{FromRequest, Request, State};
use axum::http::HeaderMap;
use axum::Json;
use paddle_consensus::probe::PROBE_TREE;
use paddle_proto::{Command, Probe, Reply};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::require_operator;
use crate::api::error::ApiError;
use crate::api::extract::{Body, Query};
use crate::api::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, write))
        .routes(routes!(state_hash))
}

/// Largest probe payload accepted.
const MAX_PAYLOAD: usize = 64 * 1024;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeIn {
    pub writer: u64,
    pub seq: u64,
    #[serde(default)]
    pub payload: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProbeOut {
    pub writer: u64,
    pub seq: u64,
    /// The log index the probe was first applied at.
    pub index: u64,
}

/// Write a diagnostic probe through Raft (operator). The token is checked
/// before the body is read: a caller without it learns nothing about what
/// the route accepts.
#[utoipa::path(post, path = "/api/v1/probe", tag = "diagnostics", security(("bearer" = [])),
    request_body = ProbeIn,
    responses((status = 200, description = "The probe and the index it was applied at"),
              (status = 400, body = crate::api::openapi::ErrorBody, description = "bad_json"),
              (status = 401, body = crate::api::openapi::ErrorBody), (status = 403, body = crate::api::openapi::ErrorBody, description = "Not the operator token")))]
async fn write(
    State(s): State<AppState>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<ProbeOut>, ApiError> {
    require_operator(&s, &headers)?;
    let Body(p) = Body::<ProbeIn>::from_request(req, &s).await?;
    if p.payload.len() > MAX_PAYLOAD {
        return Err(ApiError::bad_request(
            "payload_too_large",
            format!("payload is over {MAX_PAYLOAD} bytes"),
        ));
    }
    let c = s
        .consensus
        .propose(Command::Probe(Probe {
            writer: p.writer,
            seq: p.seq,
            payload: p.payload.into_bytes(),
        }))
        .await?;
    match c.reply {
        Reply::Probe { first_index } => Ok(Json(ProbeOut {
            writer: p.writer,
            seq: p.seq,
            index: first_index,
        })),
        other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
    }
}

#[derive(Debug, Deserialize)]
struct ReadQuery {
    /// Wait until this node has applied at least this index.
    #[serde(default)]
    min_index: Option<u64>,
    /// `local` (default) or `linearizable`.
    #[serde(default)]
    consistency: Option<String>,
    #[serde(default)]
    writer: Option<u64>,
}

async fn view_for(s: &AppState, q: &ReadQuery) -> Result<paddle_consensus::KvView, ApiError> {
    let timeout = Duration::from_secs(10);
    match q.consistency.as_deref() {
        Some("linearizable") => Ok(s.consensus.linearizable_view(timeout).await?),
        None | Some("local") => match q.min_index {
            Some(i) => Ok(s.consensus.wait_applied(i, timeout).await?),
            None => Ok(s.consensus.view()),
        },
        Some(other) => Err(ApiError::bad_request(
            "bad_consistency",
            format!("consistency must be `local` or `linearizable`, not `{other}`"),
        )),
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProbeList {
    pub applied_index: u64,
    pub probes: Vec<ProbeOut>,
}

/// List probes (operator).
#[utoipa::path(get, path = "/api/v1/probe", tag = "diagnostics", security(("bearer" = [])),
    params(crate::api::reads::ReadQuery, ("writer" = Option<u64>, Query, description = "Only this writer's probes")),
    responses((status = 200, description = "Probes with the index each was applied at"), (status = 403, description = "Not the operator token")))]
async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ReadQuery>,
) -> Result<Json<ProbeList>, ApiError> {
    require_operator(&s, &headers)?;
    let view = view_for(&s, &q).await?;
    let prefix = q
        .writer
        .map(|w| w.to_be_bytes().to_vec())
        .unwrap_or_default();
    let probes = view
        .scan(PROBE_TREE, &prefix)
        .map(|(k, v)| ProbeOut {
            writer: u64::from_be_bytes(k[..8].try_into().expect("8 bytes")),
            seq: u64::from_be_bytes(k[8..16].try_into().expect("8 bytes")),
            index: u64::from_be_bytes(v[..8].try_into().expect("8 bytes")),
        })
        .collect();
    Ok(Json(ProbeList {
        applied_index: view.applied_index(),
        probes,
    }))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StateHash {
    pub applied_index: u64,
    pub keys: usize,
    /// Hash of the replicated state without the cluster's own bookkeeping
    /// (token hashes, node ids), so a restored cluster can be compared with
    /// the one it was backed up from.
    pub state_hash: String,
    /// Hash of everything, bookkeeping included.
    pub full_hash: String,
}

/// Hash of the replicated state (operator).
#[utoipa::path(get, path = "/api/v1/state", tag = "diagnostics", security(("bearer" = [])),
    params(crate::api::reads::ReadQuery),
    responses((status = 200, description = "Applied index, key count and state hashes"), (status = 403, description = "Not the operator token")))]
async fn state_hash(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ReadQuery>,
) -> Result<Json<StateHash>, ApiError> {
    require_operator(&s, &headers)?;
    let view = view_for(&s, &q).await?;
    let (applied_index, keys) = (view.applied_index(), view.len());
    let (state_hash, full_hash) = tokio::task::spawn_blocking(move || {
        (
            view.state_hash_without(&[crate::cluster::registry::CLUSTER_TREE]),
            view.state_hash(),
        )
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(StateHash {
        applied_index,
        keys,
        state_hash,
        full_hash,
    }))
}
