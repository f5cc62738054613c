//! The HTTP layer of one real node against clients that misbehave below
//! the API: request heads dribbled a byte at a time, idle keep-alive
//! connections, more connections than the node serves, chunked bodies over
//! the limit on routes that take no body. Raw TCP, so the test controls
//! every byte and sees how the server ends the connection.

mod api_support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use api_support::{Cluster, Ws};
use serde_json::{json, Value};

/// Short timeouts and a small cap, so each can be reached in a test.
const LIMITS: &[&str] = &[
    "--limits-http-header-timeout-ms",
    "3000",
    "--limits-http-body-timeout-ms",
    "60000",
    "--limits-max-http-connections",
    "4",
    "--limits-http-body-bytes",
    "4096",
];

/// Hang guard only: no test asserts on how long anything took.
const GUARD: Duration = Duration::from_secs(60);

fn addr(c: &Cluster) -> String {
    c.url(0).trim_start_matches("http://").to_string()
}

/// Did the server end the connection? (EOF, or a reset when it closed with
/// our bytes unread.)
fn closed_by_server(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

/// Send a request head one byte a second; return how many bytes were sent
/// when the server closed the connection (None: it never did), and what it
/// answered.
fn dribble_head(addr: &str) -> (Option<usize>, Vec<u8>) {
    let head = format!(
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nX-Slow: {}\r\n\r\n",
        "a".repeat(60)
    );
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    for (sent, byte) in head.bytes().enumerate() {
        if let Err(e) = s.write_all(&[byte]) {
            assert!(closed_by_server(&e), "{e}");
            return (Some(sent), got);
        }
        match s.read(&mut buf) {
            Ok(0) => return (Some(sent + 1), got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if closed_by_server(&e) => return (Some(sent + 1), got),
            Err(e) => panic!("{e}"),
        }
    }
    (None, got)
}

/// Read one whole response (head and `Content-Length` body) off `s`.
fn read_response(s: &mut TcpStream) -> (u16, Value) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if got.len() >= end + 4 + len {
                let status = head[9..12].parse().unwrap();
                let body = &got[end + 4..end + 4 + len];
                return (status, serde_json::from_slice(body).unwrap_or(Value::Null));
            }
        }
        let n = s.read(&mut buf).expect("the response arrives");
        assert!(
            n > 0,
            "closed mid-response: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
}

/// One GET on a fresh connection, kept open afterwards.
fn get_keep_alive(addr: &str, path: &str) -> (TcpStream, u16) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let (status, _) = read_response(&mut s);
    (s, status)
}

/// Read until the server closes: true when it did (EOF or reset).
fn server_closes(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if closed_by_server(&e) => return true,
            Err(_) => return false,
        }
    }
}

/// A POST with a chunked body of `bytes` bytes and no Content-Length.
fn chunked_post(addr: &str, path: &str, token: &str, bytes: usize) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..bytes / 1024 {
        req.extend_from_slice(b"400\r\n");
        req.extend_from_slice(&[b' '; 1024]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    s.write_all(&req).unwrap();
    read_response(&mut s)
}

/// A POST whose 100-byte body comes a byte every half second; returns the
/// bytes sent before the answer, and the answer.
fn dribble_body(addr: &str, path: &str, token: &str) -> (usize, (u16, Value)) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut first = [0u8; 1];
    for sent in 0..100 {
        match s.peek(&mut first) {
            Ok(1) => {
                s.set_read_timeout(Some(GUARD)).unwrap();
                return (sent, read_response(&mut s));
            }
            Ok(_) => panic!("closed without an answer"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
        s.write_all(b" ").unwrap();
    }
    panic!("the whole body was sent and no answer came");
}

async fn lot_status(c: &Cluster, lot: u64) -> Value {
    let url = format!("{}/api/v1/lots/{lot}", c.url(0));
    let (s, v) = c.get(&url, Some(&c.operator)).await;
    assert_eq!(s, 200, "{v}");
    v["lot"]["status"].clone()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_silent_and_surplus_connections_are_closed_websockets_are_not() {
    let c = Cluster::start(1, LIMITS).await;
    let a = addr(&c);

    // A head dribbled one byte a second: closed before it is complete.
    let (closed_after, answer) = blocking({
        let a = a.clone();
        move || dribble_head(&a)
    })
    .await;
    let sent = closed_after.expect("the server closes a connection that is slow to send its head");
    assert!(sent < 60, "closed only after {sent} bytes");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A keep-alive connection left idle after its response is closed.
    let idle_closed = blocking({
        let a = a.clone();
        move || {
            let (mut s, status) = get_keep_alive(&a, "/health");
            assert_eq!(status, 200);
            server_closes(&mut s)
        }
    })
    .await;
    assert!(idle_closed, "an idle keep-alive connection stays open");

    // A connection that never sends a byte is closed too.
    let silent_closed = blocking({
        let a = a.clone();
        move || {
            let mut s = TcpStream::connect(&a).unwrap();
            s.set_read_timeout(Some(GUARD)).unwrap();
            server_closes(&mut s)
        }
    })
    .await;
    assert!(silent_closed, "a silent connection stays open");

    // A WebSocket is not an HTTP connection once upgraded: idle past the
    // header timeout, it still answers.
    let mut ws = Ws::hello(&c.ws_url(0), None, None).await;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    ws.send(json!({"type": "ping", "client_time": 1.0})).await;
    ws.expect("pong").await;

    // Connections over the cap: each one held busy (its body never comes);
    // the first one over the cap is told 503 and closed, unread.
    let (held, refusal) = blocking({
        let a = a.clone();
        move || {
            let mut held = Vec::new();
            for _ in 0..12 {
                let mut s = TcpStream::connect(&a).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => return (held, got),
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(e) if closed_by_server(&e) => return (held, got),
                        Err(_) => break, // nothing yet: served
                    }
                }
                write!(
                    s,
                    "POST /api/v1/probe HTTP/1.1\r\nHost: {a}\r\n\
                     Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                )
                .unwrap();
                held.push(s);
            }
            (held, Vec::new())
        }
    })
    .await;
    assert!(!refusal.is_empty(), "12 connections and none refused");
    assert!((1..=4).contains(&held.len()), "{} held", held.len());
    let refusal = String::from_utf8_lossy(&refusal);
    assert!(refusal.starts_with("HTTP/1.1 503"), "{refusal}");
    assert!(refusal.contains("\"too_many_connections\""), "{refusal}");

    // Once they close, a fresh connection is served again.
    drop(held);
    let mut served = false;
    for _ in 0..100 {
        let a = a.clone();
        let status = blocking(move || {
            let mut s = TcpStream::connect(&a).unwrap();
            s.set_read_timeout(Some(GUARD)).unwrap();
            write!(s, "GET /health HTTP/1.1\r\nHost: {a}\r\n\r\n").unwrap();
            let mut first = [0u8; 12];
            match s.read_exact(&mut first) {
                Ok(()) => String::from_utf8_lossy(&first[9..12]).to_string(),
                Err(e) => e.to_string(),
            }
        })
        .await;
        if status == "200" {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "no connection served after the surplus closed");
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_or_too_slow_are_refused_before_any_route_acts() {
    let c = Cluster::start(
        1,
        &[
            "--limits-http-body-bytes",
            "4096",
            "--limits-http-body-timeout-ms",
            "2000",
        ],
    )
    .await;
    let a = addr(&c);
    let base = c.url(0);
    let op = c.operator.clone();

    // A sale with a lot that is not open yet.
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales"),
            Some(&op),
            json!({"title": "Chunks", "currency": "EUR", "mode": {"type": "live"}, "premium_bp": 0,
                   "increments": [{"from": "0", "increment": "1.00"}]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let sale = v["sale"].as_u64().unwrap();
    let (s, v) = c
        .post(
            &format!("{base}/api/v1/sales/{sale}/lots"),
            Some(&op),
            json!({"lots": [{"title": "Lot", "start": "10.00"}]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let lot = v["lots"][0].as_u64().unwrap();
    let token_url = format!("{base}/api/v1/cluster/join-token");
    let (s, token_before) = c.get(&token_url, Some(&op)).await;
    assert_eq!(s, 200, "{token_before}");
    let status_before = lot_status(&c, lot).await;
    assert_eq!(status_before, "scheduled");

    for path in [
        "/api/v1/cluster/join-token/rotate".to_string(),
        format!("/api/v1/lots/{lot}/open"),
    ] {
        let (a, op) = (a.clone(), op.clone());
        let (s, v) = blocking(move || chunked_post(&a, &path, &op, 8 * 1024)).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (413, Some("body_too_large")),
            "{v}"
        );
    }
    let (s, token_after) = c.get(&token_url, Some(&op)).await;
    assert_eq!(s, 200, "{token_after}");
    assert_eq!(token_before, token_after, "the join token was rotated");
    assert_eq!(lot_status(&c, lot).await, status_before, "the lot changed");

    // A body dribbled a byte every half second, each byte in time for a
    // per-read timeout: refused once the whole-body deadline passes.
    let (a2, op2, path) = (a.clone(), op.clone(), format!("/api/v1/lots/{lot}/open"));
    let (sent, (s, v)) = blocking(move || dribble_body(&a2, &path, &op2)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (408, Some("body_timeout")),
        "{v}"
    );
    assert!(sent < 100, "answered only after the whole body");
    assert_eq!(lot_status(&c, lot).await, status_before, "the lot changed");

    // Under the limit, chunked, the same routes act.
    let (a2, op2, path) = (a.clone(), op.clone(), format!("/api/v1/lots/{lot}/open"));
    let (s, v) = blocking(move || chunked_post(&a2, &path, &op2, 1024)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(lot_status(&c, lot).await, "open");
    c.pass();
}
