//! The HTTP server: hyper's HTTP/1 connection driver (the one
//! `axum::serve` uses) under this node's own accept loop, so that a slow or
//! silent client cannot hold a socket forever.
//!
//! - hyper's `header_read_timeout` closes a connection that has not sent a
//!   whole request head in `limits.http_header_timeout_ms`, counted from
//!   when it opens or its previous response went out; it is therefore also
//!   the keep-alive idle timeout (hyper answers `408` and closes);
//! - at most `limits.max_http_connections` connections are served at once;
//!   one more is answered `503 too_many_connections` and closed at once, not
//!   queued. A connection upgraded to a WebSocket leaves hyper, gives its
//!   slot back and counts under `limits.max_connections`; none of these
//!   timeouts reach it (the WebSocket session has its own ping and idle
//!   handling);
//! - the body deadline and limit are the router's
//!   ([`crate::api::body`]);
//! - with a certificate, each accepted connection's TLS handshake runs in
//!   its own task with a deadline ([`super::https`]) before hyper sees it,
//!   and the optional plain-HTTP redirect listener is served the same way.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower_http::add_extension::AddExtension;
use tracing::Instrument;

use crate::api::{self, state::AppState};
use crate::config::LimitsConfig;

/// The HTTP server (and, with TLS, its plain-HTTP redirect), until it is
/// told to stop.
pub struct Http {
    servers: Vec<tokio::task::JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Http {
    /// Serve the API on the web listeners until [`Http::stop`].
    pub fn start(web: super::WebListeners, state: AppState) -> Http {
        let limits = state.api.limits.cfg.clone();
        let app = api::router(state);
        let (stop, stopped) = watch::channel(false);
        let https_port = web.main.local_addr().map(|a| a.port()).unwrap_or(443);
        let tls = web.tls.map(|cfg| TlsAcceptor::from(Arc::new(cfg)));
        let mut servers = vec![tokio::spawn(accept_loop(
            web.main,
            app,
            limits.clone(),
            stopped.clone(),
            tls,
        ))];
        if let Some(redirect) = web.redirect {
            if let Ok(addr) = redirect.local_addr() {
                tracing::info!(%addr, https_port, "redirecting plain HTTP to HTTPS");
            }
            let app = super::https::redirect_router(https_port);
            servers.push(tokio::spawn(accept_loop(
                redirect, app, limits, stopped, None,
            )));
        }
        Http { servers, stop }
    }

    /// No new connections; the requests in flight get 10 s to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let all = futures::future::join_all(self.servers);
        match tokio::time::timeout(Duration::from_secs(10), all).await {
            Ok(ends) => {
                for e in ends.into_iter().filter_map(Result::err) {
                    tracing::warn!(error = %e, "HTTP server task failed");
                }
            }
            Err(_) => tracing::warn!("in-flight requests did not finish within 10 s"),
        }
    }
}

/// Accept connections until told to stop, then wait until every
/// connection still open has finished (each takes a slot of the
/// connection cap, so all slots back means all done).
async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    limits: LimitsConfig,
    mut stopped: watch::Receiver<bool>,
    tls: Option<TlsAcceptor>,
) {
    let cap = limits.max_http_connections;
    let slots = Arc::new(Semaphore::new(cap));
    let refusal = refusal();
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.http_header_timeout_ms));
    loop {
        let accepted = tokio::select! {
            _ = stopped.wait_for(|s| *s) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, usually: let some close.
                tracing::warn!(error = %e, "cannot accept an HTTP connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refuse(stream, &refusal);
            continue;
        };
        // Every WebSocket frame and response goes out when written: with
        // Nagle's algorithm a small frame waits for the ACK of the one
        // before, and a client delaying its ACKs held prices and
        // bid_results back by up to 40 ms (BENCHMARKS.md, issue 15 step 8).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        // The peer's address reaches handlers as axum's `ConnectInfo`
        // (self-registration is limited per client address).
        // (wrapping the router once per connection; `Router::layer`
        // would rewrap every route on every connection).
        let svc = AddExtension::new(app.clone(), axum::extract::ConnectInfo(peer));
        let (h1, stopped, tls) = (h1.clone(), stopped.clone(), tls.clone());
        let span = tracing::debug_span!("http_connection", %peer);
        tokio::spawn(
            async move {
                match tls {
                    None => serve(&h1, stream, svc, stopped).await,
                    // The handshake holds the connection's slot, so slow
                    // handshakes count against the cap like slow heads.
                    Some(acceptor) => match super::https::handshake(&acceptor, stream).await {
                        Some(tls) => serve(&h1, tls, svc, stopped).await,
                        None => {}
                    },
                }
                drop(slot);
            }
            .instrument(span),
        );
    }
    drop(listener);
    let _ = slots.acquire_many(cap as u32).await;
}

/// The router with the connection's peer address added to each request.
type PeerRouter = AddExtension<axum::Router, axum::extract::ConnectInfo<std::net::SocketAddr>>;

/// Serve one connection (plain or TLS-terminated) until it ends, shutting
/// it down gracefully when the node stops.
async fn serve<I>(h1: &http1::Builder, io: I, svc: PeerRouter, mut stopped: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = h1
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(svc))
        .with_upgrades();
    tokio::pin!(conn);
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let done = tokio::select! {
        done = conn.as_mut() => done,
        () = stop => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = done {
        tracing::debug!(error = %e, "HTTP connection ended with an error");
    }
}

/// A connection over the cap: told why, without reading its request, and
/// closed. Never waits: a client that does not read gets nothing.
fn refuse(stream: TcpStream, refusal: &[u8]) {
    tracing::debug!("HTTP connection refused: limits.max_http_connections reached");
    let _ = stream.try_write(refusal);
}

/// The whole `503` answer to a connection over the cap, in the API's error
/// shape.
fn refusal() -> Vec<u8> {
    let body = serde_json::json!({"error": {
        "code": "too_many_connections",
        "message": "this node serves as many HTTP connections as it may \
                    (limits.max_http_connections); retry shortly or use another node",
    }})
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
