//! HTTPS for the web UI, the API and WebSockets, and the plain-HTTP
//! redirect beside it.
//!
//! The node's accept loop (`serve::http`) runs each connection's TLS
//! handshake in the connection's own task with a deadline (a slow or
//! silent client holds up nobody but its own slot of the connection cap)
//! and hands hyper the finished TLS stream. Everything above the stream
//! (routes, WebSocket upgrades, graceful shutdown) is the same as over
//! plain HTTP.

use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finish a TLS handshake within [`HANDSHAKE_TIMEOUT`], or give up on the
/// connection (plain HTTP on the TLS port, a client that does not trust
/// the certificate, a port scan: nothing to serve, nothing to log loudly).
pub async fn handshake(acceptor: &TlsAcceptor, stream: TcpStream) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

/// The plain-HTTP side when TLS is on: every request is answered with a
/// 308 to the same path and query on `https://<host the client used>:<https_port>`
/// (308 keeps the method, so a form POST is not silently turned into a GET).
pub fn redirect_router(https_port: u16) -> axum::Router {
    axum::Router::new().fallback(move |headers: HeaderMap, uri: Uri| async move {
        redirect(&headers, &uri, https_port)
    })
}

fn redirect(headers: &HeaderMap, uri: &Uri, https_port: u16) -> Response {
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(host_without_port)
    else {
        return (
            StatusCode::BAD_REQUEST,
            "this address only redirects to HTTPS, and the request named no host\n",
        )
            .into_response();
    };
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{host}{port}{path}");
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

/// `venue.local:80` -> `venue.local`, `[::1]:80` -> `[::1]`; refuses
/// anything that is not a plain host (no user info, path or spaces).
fn host_without_port(host: &str) -> Option<&str> {
    let bare = if host.starts_with('[') {
        &host[..=host.find(']')?]
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    let plain = !bare.is_empty()
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    plain.then_some(bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(host: &str, uri: &str, port: u16) -> (StatusCode, Option<String>) {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        let r = redirect(&h, &uri.parse().unwrap(), port);
        let loc = r
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        (r.status(), loc)
    }

    #[test]
    fn redirects_keep_host_path_and_query() {
        assert_eq!(
            location("venue.local", "/bid?sale=1", 443),
            (
                StatusCode::PERMANENT_REDIRECT,
                Some("https://venue.local/bid?sale=1".into())
            )
        );
        assert_eq!(
            location("10.0.0.5:80", "/", 8443).1.as_deref(),
            Some("https://10.0.0.5:8443/")
        );
        assert_eq!(
            location("[::1]:80", "/x", 8443).1.as_deref(),
            Some("https://[::1]:8443/x")
        );
        assert_eq!(
            location("evil.example/x@", "/", 443).0,
            StatusCode::BAD_REQUEST
        );
    }
}
