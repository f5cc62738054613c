//! The headers Paddle adds to HTTP exchanges: the applied index and the
//! stale flag of a read reply, and the index a write's client has seen.

use axum::http::HeaderName;

/// Header naming the applied index a reply reflects.
pub const APPLIED_INDEX_HEADER: HeaderName = HeaderName::from_static("paddle-applied-index");
/// Header saying whether this node has lost touch with the leader.
pub const STALE_HEADER: HeaderName = HeaderName::from_static("paddle-stale");

/// Header a write may carry with the last index its client has seen.
pub const MIN_INDEX_HEADER: &str = "paddle-min-index";

/// What a page may load and who may frame it. Pages and scripts come from
/// the node itself (`script-src 'self'`: no inline script, no eval), styles
/// too (inline `style` attributes allowed: the pages set a few); images and
/// connections may also go to the cluster's other members, whose
/// addresses a page learns at run time and fails over to (`link.js`), so
/// those two allow any http(s)/ws(s) origin. Nobody may frame a page
/// (`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for older
/// browsers): a bidding button under someone else's overlay is a click
/// jacked.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: http: https:; \
     connect-src 'self' ws: wss: http: https:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The security headers on every reply, page or API, unless the handler
/// set its own: the policy above, no framing, no referrer (a sign-in
/// code in a page's address must never leak to another site), no MIME
/// sniffing.
pub fn with_security_headers(router: axum::Router) -> axum::Router {
    use axum::http::{header, HeaderValue};
    use tower_http::set_header::SetResponseHeaderLayer;
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}
