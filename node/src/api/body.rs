//! Every request body is read whole, within `limits.http_body_bytes` and
//! `limits.http_body_timeout_ms`, before any handler runs.
//!
//! tower-http's `RequestBodyLimitLayer` (outside this) refuses a declared
//! `Content-Length` over the limit without reading, but a chunked body is
//! only counted as it is read, and a handler that takes no body never
//! reads it: it would act on a request the node should have refused. So
//! the body is read here first, bounded in size (http-body-util's
//! `Limited`) and in time (one deadline for the whole body: tower-http's
//! `RequestBodyTimeoutLayer` restarts its timer at every frame, which a
//! client sending one byte at a time keeps alive). Handlers then get the
//! bytes in memory, as their extractors would have buffered them anyway.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ApiError;
use super::extract::body_too_large;
use super::limits::Limits;

/// Read the body whole (or refuse it), then run the handler.
pub async fn read_whole(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.size_hint().exact() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let cfg = &limits.cfg;
    let deadline = Duration::from_millis(cfg.http_body_timeout_ms);
    let read = Limited::new(body, cfg.http_body_bytes).collect();
    match tokio::time::timeout(deadline, read).await {
        Ok(Ok(whole)) => {
            let body = Body::from(whole.to_bytes());
            next.run(Request::from_parts(parts, body)).await
        }
        Ok(Err(e)) if over_limit(&*e) => body_too_large().into_response(),
        Ok(Err(e)) => ApiError::bad_request(
            "bad_body",
            format!("the request body could not be read: {e}"),
        )
        .into_response(),
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body did not arrive in time (limits.http_body_timeout_ms)",
        )
        .into_response(),
    }
}

/// Is the limit (ours, or tower-http's further out) the reason the read
/// failed?
fn over_limit(e: &(dyn Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if e.is::<LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}
