//! Clerk tokens: made by the operator, shown once, replicated as hashes,
//! listed by id and label, revoked on every node at once.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use paddle_proto::ClusterCommand;
use serde::{Deserialize, Serialize};

use super::fields::Read;
use super::propose::propose_cluster;
use crate::api::auth::require_operator_role;
use crate::api::error::ApiError;
use crate::api::extract::{Body, Path, Query};
use crate::api::reads::{read_headers, view_for, ReadQuery};
use crate::api::rest::bidders::Done;
use crate::api::state::AppState;
use crate::cluster::{registry, secrets};

/// Prefix of clerk tokens, so a leaked string is recognisable.
pub const CLERK_PREFIX: &str = "pdc_";

/// A new clerk token's label.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClerkIn {
    /// 1–100 characters, e.g. "rostrum left".
    pub label: String,
}

/// A new clerk token (shown once).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClerkCreated {
    /// Public id (first 12 hex digits of the token's hash), for revoking.
    pub id: String,
    pub label: String,
    /// The bearer token. Not stored anywhere; hand it to the clerk.
    pub token: String,
    pub index: u64,
}

/// One clerk token (never the token itself).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClerkRow {
    pub id: String,
    pub label: String,
}

/// The accepted clerk tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClerksOut {
    pub applied_index: u64,
    pub clerks: Vec<ClerkRow>,
}

/// Make a clerk token (operator).
#[utoipa::path(post, path = "/api/v1/clerks", tag = "auth", request_body = ClerkIn, security(("bearer" = [])),
    responses((status = 201, body = ClerkCreated), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 401, body = crate::api::openapi::ErrorBody), (status = 403, body = crate::api::openapi::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    Body(c): Body<ClerkIn>,
) -> Result<(StatusCode, Json<ClerkCreated>), ApiError> {
    require_operator_role(&s, &headers).await?;
    let label = c.label.trim().to_string();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_input",
            "label: 1 to 100 printable characters",
        ));
    }
    let token = format!("{CLERK_PREFIX}{}", secrets::random_secret());
    let hash = secrets::hash_token(&token);
    let id = hash[..registry::CLERK_ID_LEN].to_string();
    let index = propose_cluster(
        &s,
        ClusterCommand::AddClerkToken {
            hash,
            label: label.clone(),
        },
    )
    .await?;
    tracing::info!(clerk = %id, "clerk token created");
    Ok((
        StatusCode::CREATED,
        Json(ClerkCreated {
            id,
            label,
            token,
            index,
        }),
    ))
}

/// List clerk tokens (operator).
#[utoipa::path(get, path = "/api/v1/clerks", tag = "auth", params(ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = ClerksOut), (status = 401, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<ClerksOut> {
    require_operator_role(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let clerks = registry::clerks(&view)
        .into_iter()
        .map(|(id, label)| ClerkRow { id, label })
        .collect();
    Ok((
        read_headers(&s, &view),
        Json(ClerksOut {
            applied_index: view.applied_index(),
            clerks,
        }),
    ))
}

/// Revoke a clerk token (operator); it stops working on every node as
/// soon as the node applies the returned index.
#[utoipa::path(post, path = "/api/v1/clerks/{id}/revoke", tag = "auth", security(("bearer" = [])),
    params(("id" = String, Path, description = "Clerk token id")),
    responses((status = 200, body = Done), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn revoke(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Done>, ApiError> {
    require_operator_role(&s, &headers).await?;
    // Judged on a view not older than the cluster's commits: a token made
    // through another node a moment ago is found (see `fresh_view`).
    let has = |v: &paddle_consensus::KvView| registry::clerks(v).iter().any(|(i, _)| *i == id);
    let known = has(&crate::api::reads::fresh_view(&s, has).await?);
    if !known {
        return Err(ApiError::not_found(
            "unknown_clerk",
            format!("there is no clerk token with id `{id}`"),
        ));
    }
    let index = propose_cluster(&s, ClusterCommand::RevokeClerkToken { id: id.clone() }).await?;
    tracing::info!(clerk = %id, "clerk token revoked");
    Ok(Json(Done { index }))
}
