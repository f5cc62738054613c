//! HTTPS for the web UI, the API and WebSockets, and the plain-HTTP
//! redirect beside it.
//!
//! TLS runs under `axum::serve` as a [`Listener`]: a task accepts TCP
//! connections and runs each handshake in its own task (a slow or silent
//! client holds up nobody), and the server takes finished TLS streams.
//! Everything above the stream (routes, WebSocket upgrades, graceful
//! shutdown) is the same as over plain HTTP.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for the server to take them.
const READY_QUEUE: usize = 128;

/// A TCP listener whose connections come out TLS-terminated.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Serve TLS with `config` on connections `tcp` accepts. The accepting
    /// task ends when this listener is dropped (the server stopped).
    pub fn new(tcp: TcpListener, config: rustls::ServerConfig) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(TlsListener { ready, local })
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = tx.closed() => return,
            accepted = tcp.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off as axum does.
                    tracing::debug!(error = %e, "accepting an HTTPS connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                // Plain HTTP on the TLS port, an untrusted certificate on
                // the client's side, a port scan: nothing to serve.
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task only ends once this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
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
