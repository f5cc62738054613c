//! The public face of a node: HTTP (REST, WebSocket, static UI) with axum.
//! Only this module imports axum.
//!
//! A request comes in through [`router`] (served by `serve::http`, which
//! caps connections and times out slow request heads): security headers
//! (CSP, no framing, no referrer) on every reply, CORS, every refusal in
//! the JSON error shape, then `body` reads the whole body within its size
//! limit and deadline, then one of
//! - `ws`: the WebSocket `/ws` (live sales, bids, explicit outcomes);
//! - `rest`: `/api/v1` sales, lots, bidders, bids, clerk actions, results;
//! - `cluster`, `probe`, `ops`: the operator's cluster API, diagnostics,
//!   health and metrics.
//!
//! Shared pieces: `auth` (tokens and roles), `reads` (consistency and the
//! index a reply reflects), `bidding` (the one bid path for WS and REST),
//! `limits` (rates, caps, origins), `extract` and `error` (every refusal
//! is a stable code and a sentence). `docs/protocol.md` is the contract.

pub mod analytics_cache;
pub mod auth;
pub mod bid_result;
pub mod bidding;
pub mod body;
pub mod caller;
pub mod error;
pub mod extract;
pub mod freshness;
pub mod headers;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod probe;
pub mod reads;
pub mod rest;
pub mod state;
pub mod ui;
pub mod ws;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::LimitsConfig;

pub use error::ApiError;
pub use state::{AppState, MetricsFn, PublicApi};

/// The public API's state for a node with these limits (its OpenAPI
/// document built once, from the routes).
pub fn public_api(
    limits: LimitsConfig,
    https: bool,
    assistant: crate::config::AssistantConfig,
) -> Arc<PublicApi> {
    let doc = serde_json::to_value(all_routes().split_for_parts().1).unwrap_or_default();
    PublicApi::new(limits, doc, https, assistant)
}

/// Start the API's background tasks: the WebSocket fan-out and presence.
pub fn start_tasks(state: &AppState) {
    let hub = state.api.hub.clone();
    let c = state.consensus.clone();
    let clock = state.consensus.clone();
    tokio::spawn(ws::hub::run(
        hub,
        state.events.subscribe(),
        move || c.view(),
        move |view, sale| ws::snapshot_text(view, sale, "resync", clock.clock().now_ms()),
    ));
    tokio::spawn(ws::run_presence(state.clone()));
    let api = state.api.clone();
    let watchers = move |sale: paddle_proto::auction::SaleId| {
        let here = api
            .hub
            .local_counts()
            .into_iter()
            .find(|(id, _)| *id == sale)
            .map_or(0, |(_, n)| n);
        here + api.presence.elsewhere(sale.0).0
    };
    tokio::spawn(crate::assistant::intro::run(
        state.consensus.clone(),
        state.events.subscribe(),
        state.api.assistant.clone(),
        Arc::new(watchers),
    ));
}

/// Every documented route.
fn all_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(rest::routes())
        .merge(ops::routes())
        .merge(probe::routes())
        .routes(routes!(ws::upgrade))
        .routes(routes!(openapi::document))
}

/// Answer routes that do not exist with a coded error.
async fn not_found() -> ApiError {
    ApiError::not_found(
        "not_found",
        "there is no such route; see /api/v1/openapi.json",
    )
}

/// Give every refusal the API's JSON error shape: a reply that is not JSON
/// and not a success (axum's own rejections: a body over the limit, a wrong
/// method, a body that is not UTF-8, a bad WebSocket upgrade) becomes
/// `{"error": {code, message}}` with the same status and its text as the
/// message, so a client switches on a code for every refusal.
async fn coded_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let mut coded = match status {
        StatusCode::PAYLOAD_TOO_LARGE => extract::body_too_large(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "method_not_allowed",
            "this route exists with another method; see /api/v1/openapi.json",
        ),
        _ => {
            let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&text).trim().to_string();
            let message = if text.is_empty() {
                status.canonical_reason().unwrap_or("refused").to_string()
            } else {
                text
            };
            ApiError::new(status, http_error_code(status), message)
        }
    }
    .into_response();
    // Keep what the layer said besides its body (`Allow`, CORS headers).
    let body_headers = [header::CONTENT_TYPE, header::CONTENT_LENGTH];
    for (name, value) in &parts.headers {
        if !body_headers.contains(name) {
            coded.headers_mut().append(name, value.clone());
        }
    }
    coded
}

/// The code of an HTTP-layer refusal, by its status.
fn http_error_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "bad_json",
        StatusCode::UPGRADE_REQUIRED => "upgrade_required",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// The whole HTTP surface of a node.
pub fn router(state: AppState) -> Router {
    let cfg = &state.api.limits.cfg;
    let (routes, _) = all_routes().split_for_parts();
    let router = routes
        .merge(ui::routes())
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(cfg.http_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.api.limits.clone(),
            body::read_whole,
        ))
        .layer(RequestBodyLimitLayer::new(cfg.http_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            reads::honour_min_index,
        ))
        .layer(axum::middleware::from_fn(coded_errors))
        .layer(state.api.limits.cors({
            let consensus = state.consensus.clone();
            move || limits::member_http_addrs(&consensus)
        }))
        .with_state(state);
    headers::with_security_headers(router)
}
