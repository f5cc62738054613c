//! How a read picks the state it answers from, and how it says which.
//!
//! Reads are served from this node's applied state. `consistency=
//! linearizable` asks the leader for a read index first; `min_index=N`
//! waits until this node has applied N (read-your-writes for a client that
//! carries the index of its last write or event, from any node). Every
//! answer names the index it reflects and whether this node is stale.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use paddle_consensus::KvView;
use serde::Deserialize;

use crate::api::error::ApiError;
pub use crate::api::freshness::{freshness, server_time_ms, Freshness};
pub use crate::api::headers::{APPLIED_INDEX_HEADER, MIN_INDEX_HEADER, STALE_HEADER};
use crate::api::state::AppState;

/// Longest a read waits for `min_index` or a read index.
pub const READ_WAIT: Duration = Duration::from_secs(10);

/// The consistency parameters every read takes.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// `local` (default): this node's applied state. `linearizable`: every
    /// write committed before the request is included.
    #[serde(default)]
    pub consistency: Option<String>,
    /// Wait (up to 10 s) until this node has applied at least this index.
    #[serde(default)]
    pub min_index: Option<u64>,
}

/// The view a read answers from.
pub async fn view_for(s: &AppState, q: &ReadQuery) -> Result<KvView, ApiError> {
    let view = match q.consistency.as_deref() {
        Some("linearizable") => s.consensus.linearizable_view(READ_WAIT).await?,
        None | Some("local") => s.consensus.view(),
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_consistency",
                format!("consistency must be `local` or `linearizable`, not `{other}`"),
            ))
        }
    };
    match q.min_index {
        Some(i) if i > view.applied_index() => Ok(s.consensus.wait_applied(i, READ_WAIT).await?),
        _ => Ok(view),
    }
}

/// Longest a write's pre-check waits for the leader's read index.
pub const WRITE_CHECK_WAIT: Duration = Duration::from_secs(3);

/// The view a write is checked against before it is proposed: this node's,
/// unless `found` says it lacks what the write needs (a sale created
/// through another node a moment ago). Then the view is brought up to the
/// leader's read index once, so a write is never refused on a view older
/// than what the cluster has committed; without a leader the answer is
/// `503 no_quorum` (nothing was changed), not a refusal this node cannot
/// stand behind.
pub async fn fresh_view(s: &AppState, found: impl Fn(&KvView) -> bool) -> Result<KvView, ApiError> {
    let view = s.consensus.view();
    if found(&view) {
        return Ok(view);
    }
    Ok(s.consensus.linearizable_view(WRITE_CHECK_WAIT).await?)
}

/// The headers of a read reply.
pub fn read_headers(s: &AppState, view: &KvView) -> [(HeaderName, HeaderValue); 2] {
    let stale = freshness(&s.consensus).stale;
    [
        (
            APPLIED_INDEX_HEADER,
            HeaderValue::from(view.applied_index()),
        ),
        (
            STALE_HEADER,
            HeaderValue::from_static(if stale { "true" } else { "false" }),
        ),
    ]
}

/// Read-your-writes for writes: a `POST` carrying `Paddle-Min-Index: N` (or
/// `?min_index=N`) is checked only once this node has applied index N, so it
/// is never judged on a state older than what its client has already seen
/// (`504 not_caught_up` if the node does not get there in 10 s).
pub async fn honour_min_index(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    use axum::response::IntoResponse;
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let from_header = req
        .headers()
        .get(MIN_INDEX_HEADER)
        .map(|v| v.to_str().unwrap_or("").trim().to_string());
    let from_query = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("min_index="))
            .map(str::to_string)
    });
    if let Some(text) = from_header.or(from_query) {
        let Ok(index) = text.parse::<u64>() else {
            return ApiError::bad_request(
                "bad_request",
                format!("min_index must be a log index (an unsigned integer), not `{text}`"),
            )
            .into_response();
        };
        if let Err(e) = s.consensus.wait_applied(index, READ_WAIT).await {
            return ApiError::from(e).into_response();
        }
    }
    next.run(req).await
}
