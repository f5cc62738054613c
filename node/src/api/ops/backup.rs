//! `GET /api/v1/cluster/backup`: a consistent, checksummed snapshot of the
//! replicated state, for `paddle backup`.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::api::auth::require_operator;
use crate::api::error::ApiError;
use crate::api::extract::Query;
use crate::api::state::AppState;

#[derive(Deserialize)]
pub struct BackupQuery {
    #[serde(default)]
    consistency: Option<String>,
}

/// A consistent snapshot of the state (operator).
#[utoipa::path(get, path = "/api/v1/cluster/backup", tag = "cluster", security(("bearer" = [])),
    params(("consistency" = Option<String>, Query, description = "`local` skips the read index")),
    responses((status = 200, description = "Backup bytes", content_type = "application/octet-stream")))]
pub async fn backup(
    State(s): State<AppState>,
    Query(q): Query<BackupQuery>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    require_operator(&s, &headers)?;
    if q.consistency.as_deref() != Some("local") {
        // Everything committed before this request is in the backup.
        s.consensus
            .linearizable_view(Duration::from_secs(10))
            .await?;
    }
    let state = s.consensus.state().clone();
    let bytes = tokio::task::spawn_blocking(move || state.snapshot_now())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes))
}
