//! The public face of a node: HTTP (REST, WebSocket, static UI) with axum.
//! Only this module imports axum.
//!
//! A request comes in through [`router`]: CORS and the body limit first,
//! then one of
//! - `ws`: the WebSocket `/ws` (live sales, bids, explicit outcomes);
//! - `rest`: `/api/v1` sales, lots, bidders, bids, clerk actions, results;
//! - `cluster`, `probe`, `ops`: the operator's cluster API, diagnostics,
//!   health and metrics.
//!
//! Shared pieces: `auth` (tokens and roles), `reads` (consistency and the
//! index a reply reflects), `bidding` (the one bid path for WS and REST),
//! `limits` (rates, caps, origins), `extract` and `error` (every refusal
//! is a stable code and a sentence). `docs/protocol.md` is the contract.

pub mod auth;
pub mod bidding;
pub mod cluster;
pub mod error;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod probe;
pub mod reads;
pub mod rest;
pub mod ui;
pub mod ws;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use paddle_consensus::Consensus;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cluster::datadir::DataDir;
use crate::cluster::service::ClusterService;
use crate::config::LimitsConfig;

pub use error::ApiError;

/// A function that renders more Prometheus lines (other parts of the node
/// add their counters this way).
pub type MetricsFn = fn(&AppState) -> String;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub consensus: Consensus,
    pub extra_metrics: Arc<Vec<MetricsFn>>,
    /// Cluster operations (absent in tests that run consensus alone).
    pub cluster: Option<Arc<ClusterService>>,
    pub data_dir: Option<DataDir>,
    /// Auction events of every applied batch, after they are on disk.
    pub events: tokio::sync::broadcast::Sender<Arc<crate::machine::EventBatch>>,
    /// The public API's limits, WebSocket hub and presence counts.
    pub api: Arc<PublicApi>,
}

/// State of the public API (REST and WebSocket).
pub struct PublicApi {
    pub limits: Arc<limits::Limits>,
    pub hub: Arc<ws::Hub>,
    pub presence: ws::Presence,
    /// The OpenAPI document, built once with the router.
    pub openapi: Arc<serde_json::Value>,
}

impl PublicApi {
    /// The API state for a node with these limits.
    pub fn new(limits: LimitsConfig) -> Arc<PublicApi> {
        let doc = serde_json::to_value(all_routes().split_for_parts().1).unwrap_or_default();
        Arc::new(PublicApi {
            limits: Arc::new(limits::Limits::new(limits)),
            hub: Arc::new(ws::Hub::default()),
            presence: ws::Presence::default(),
            openapi: Arc::new(doc),
        })
    }

    /// This node's watcher counts, for peers asking through the cluster RPC.
    pub fn watcher_counts(hub: Arc<ws::Hub>) -> crate::cluster::service::WatcherCounts {
        Arc::new(move || {
            hub.local_counts()
                .into_iter()
                .map(|(s, n)| (s.0, n))
                .collect()
        })
    }
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
}

/// Every documented route.
fn all_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(rest::routes())
        .merge(ops::routes())
        .merge(cluster::routes())
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

/// Give plain-text refusals from the HTTP layers (body limit, wrong
/// method) the API's JSON error shape.
async fn coded_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json || resp.status().is_success() || resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return resp;
    }
    match resp.status() {
        StatusCode::PAYLOAD_TOO_LARGE => extract::body_too_large().into_response(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route exists with another method; see /api/v1/openapi.json",
        )
        .into_response(),
        _ => resp,
    }
}

/// Header a write may carry with the last index its client has seen.
pub const MIN_INDEX_HEADER: &str = "paddle-min-index";

/// Read-your-writes for writes: a `POST` carrying `Paddle-Min-Index: N` (or
/// `?min_index=N`) is checked only once this node has applied index N, so it
/// is never judged on a state older than what its client has already seen
/// (`504 not_caught_up` if the node does not get there in 10 s).
async fn honour_min_index(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    use axum::http::Method;
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
        if let Err(e) = s.consensus.wait_applied(index, reads::READ_WAIT).await {
            return ApiError::from(e).into_response();
        }
    }
    next.run(req).await
}

/// The advertised HTTP addresses of the cluster's members: their pages may
/// use this node's API (a page fails over to another node of the venue).
pub fn member_http_addrs(consensus: &Consensus) -> Vec<String> {
    consensus
        .facts()
        .nodes
        .into_values()
        .map(|a| a.http)
        .collect()
}

/// The whole HTTP surface of a node.
pub fn router(state: AppState) -> Router {
    let cfg = &state.api.limits.cfg;
    let (routes, _) = all_routes().split_for_parts();
    routes
        .merge(ui::routes())
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(cfg.http_body_bytes))
        .layer(RequestBodyLimitLayer::new(cfg.http_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            honour_min_index,
        ))
        .layer(axum::middleware::from_fn(coded_errors))
        .layer(state.api.limits.cors({
            let consensus = state.consensus.clone();
            move || member_http_addrs(&consensus)
        }))
        .with_state(state)
}
