//! The browser UI: the pages and assets of `web/`, embedded into the binary
//! at compile time and served by every node, so a venue needs nothing but
//! the nodes (no CDN, no internet).
//!
//! A request for `/`, `/clerk`, `/desk`, `/phone`, `/operator`,
//! `/screen` or `/analytics` gets that page;
//! `/js/..`, `/css/..` and `/img/..` get the asset. Every reply carries
//! `Cache-Control: no-cache` and an `ETag` (a hash of the content, made at
//! compile time): a browser keeps its copy but asks each time, so a redeploy
//! is picked up at once and an unchanged asset costs a `304` with no body.
//! The router adds the security headers (`headers::with_security_headers`:
//! a Content-Security-Policy, no framing, no referrer) to every reply.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;

/// Everything under `web/`, in the binary. `debug-embed` embeds debug
/// builds too, so the tests run the same bytes a release serves (and the
/// binary never reads `web/` from wherever it happens to run).
#[derive(RustEmbed)]
#[folder = "../web/"]
#[exclude = "*.md"]
struct Web;

/// The pages, by route.
const PAGES: [(&str, &str); 10] = [
    ("/", "index.html"),
    ("/clerk", "clerk.html"),
    ("/desk", "desk.html"),
    ("/phone", "phone.html"),
    ("/operator", "operator.html"),
    ("/screen", "screen.html"),
    ("/analytics", "analytics.html"),
    ("/cashier", "cashier.html"),
    ("/invoice", "invoice.html"),
    ("/statement", "statement.html"),
];

/// The UI routes, to merge into the node's router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new();
    for (route, file) in PAGES {
        router = router.route(
            route,
            get(move |h: HeaderMap| async move { asset(file, &h) }),
        );
    }
    router
        .route(
            "/js/{*path}",
            get(|p: Path<String>, h: HeaderMap| dir("js", p, h)),
        )
        .route(
            "/css/{*path}",
            get(|p: Path<String>, h: HeaderMap| dir("css", p, h)),
        )
        .route(
            "/img/{*path}",
            get(|p: Path<String>, h: HeaderMap| dir("img", p, h)),
        )
        .route(
            "/favicon.ico",
            get(|h: HeaderMap| async move { asset("img/favicon.svg", &h) }),
        )
}

async fn dir(prefix: &'static str, Path(path): Path<String>, headers: HeaderMap) -> Response {
    asset(&format!("{prefix}/{path}"), &headers)
}

/// The strong ETag of an embedded file: the first 16 bytes of its SHA-256.
pub fn etag(file: &str) -> Option<String> {
    Web::get(file).map(|f| format!("\"{}\"", hex::encode(&f.metadata.sha256_hash()[..16])))
}

/// The reply for one embedded file, honouring `If-None-Match`.
pub fn asset(file: &str, headers: &HeaderMap) -> Response {
    let Some(content) = Web::get(file) else {
        return super::ApiError::not_found("not_found", format!("no such page or asset: /{file}"))
            .into_response();
    };
    let tag = format!("\"{}\"", hex::encode(&content.metadata.sha256_hash()[..16]));
    let mut reply = if if_none_match(headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = content.data.into_owned().into_response();
        let mime = content.metadata.mimetype();
        // Text without a charset may be decoded as Latin-1 by some browsers.
        let mime = if mime.starts_with("text/") || mime.ends_with("javascript") {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_string()
        };
        if let Ok(v) = HeaderValue::from_str(&mime) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    let h = reply.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    reply
}

/// True when the request's `If-None-Match` names `tag` (or `*`). Weak
/// validators (`W/"…"`) match too: a GET may use the weak comparison.
fn if_none_match(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

/// Names of every embedded file (for tests and diagnostics).
pub fn files() -> Vec<String> {
    Web::iter().map(|f| f.into_owned()).collect()
}

#[cfg(test)]
#[path = "ui_tests.rs"]
mod tests;
