//! The WebSocket `/ws`: live sales for browsers, bids in, explicit outcomes
//! and events out. The protocol is `docs/protocol.md`.
//!
//! - [`upgrade`]: origin and connection cap, small buffers, message cap.
//! - `session`: one connection: a writer and a reader joined by `select!`.
//! - [`hub`]: fan-out of committed events to rooms, serialized once.
//! - `presence`: watcher counts across the cluster, node status.
//! - [`messages`]: the JSON both ways.

pub mod hub;
pub mod messages;
mod presence;
mod session;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use paddle_consensus::KvView;
use paddle_proto::auction::SaleId;

pub use hub::Hub;
pub use presence::{run as run_presence, Presence};

use super::{ApiError, AppState};
use messages::ServerMsg;
use paddle_auction::read;

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
    if !limits.origin_allowed(&headers, &super::member_http_addrs(&s.consensus)) {
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

/// A sale's `snapshot` message at the view's index, with the server (cluster)
/// time `now_ms`, or `None` when the sale does not exist there.
pub fn snapshot_text(
    view: &KvView,
    sale: SaleId,
    reason: &'static str,
    now_ms: u64,
) -> Option<String> {
    let sale_view = read::get_sale(view, sale).ok().flatten()?;
    let lots = read::lots(view, sale).ok().flatten().unwrap_or_default();
    Some(
        ServerMsg::Snapshot {
            reason,
            index: view.applied_index(),
            server_time_ms: now_ms,
            sale: sale_view.into(),
            lots,
        }
        .to_text(),
    )
}
