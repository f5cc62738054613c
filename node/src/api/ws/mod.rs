//! The WebSocket `/ws`: live sales for browsers, bids in, explicit outcomes
//! and events out. The protocol is `docs/protocol.md`.
//!
//! - [`upgrade`]: origin and connection cap, small buffers, message cap.
//! - `session`: one connection: a writer and a reader joined by `select!`.
//! - [`hub`]: fan-out of committed events to rooms, serialized once.
//! - `presence`: the other members' watcher counts; `announce`: presence
//!   and node status pushed on a schedule.
//! - [`messages`]: the JSON both ways.

mod announce;
pub mod hub;
pub mod messages;
pub mod presence;
mod session;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub use announce::run as run_presence;
pub use hub::Hub;
pub use messages::snapshot_text;
pub use presence::Presence;

use crate::api::error::ApiError;
use crate::api::state::AppState;

/// Open a WebSocket (see `docs/protocol.md`).
#[utoipa::path(
    get,
    path = "/ws",
    tag = "websocket",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol of docs/protocol.md"),
        (status = 403, description = "`origin_not_allowed`", body = super::openapi::ErrorBody),
        (status = 503, description = "`too_many_connections`", body = super::openapi::ErrorBody),
    )
)]
pub async fn upgrade(
    State(s): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let limits = &s.api.limits;
    if !limits.origin_allowed(
        &headers,
        &crate::api::limits::member_http_addrs(&s.consensus),
    ) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this page's origin is neither a node of this cluster nor in limits.allowed_origins",
        )
        .into_response();
    }
    let Some(slot) = limits.connection_slot() else {
        return ApiError::unavailable(
            "too_many_connections",
            "this node has as many WebSocket connections as it accepts; try another node",
        )
        .into_response();
    };
    let cookie = super::auth::cookie_token(&headers);
    let cfg = &limits.cfg;
    // The session refuses messages over the limit with a coded error; the
    // protocol layer cuts off anything far larger without reading it.
    let hard_cap = cfg.ws_max_message_bytes * 4;
    ws.read_buffer_size(cfg.ws_buffer_bytes)
        .write_buffer_size(0)
        .max_message_size(hard_cap)
        .max_frame_size(hard_cap)
        .on_upgrade(move |socket| session::run(s, socket, cookie, slot))
}
