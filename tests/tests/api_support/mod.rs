//! A small harness for the public API tests: real `paddle serve`
//! processes (one, or a cluster joined by token), an HTTP client, and a
//! WebSocket client that reads JSON messages with generous deadlines.
//!
//! Kept minimal on purpose: the shared process harness of `paddle-tests`
//! can replace it once it is on main.

#![allow(dead_code)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Generous: two shared cores, debug builds.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A cluster of real nodes (the shared `paddle-tests` harness: start,
/// kill, logs on failure) with the API helpers these tests use.
pub struct Cluster {
    inner: paddle_tests::Cluster,
    pub operator: String,
    pub http: reqwest::Client,
}

impl Cluster {
    /// Start `n` nodes (the first bootstraps, the others join it), with
    /// extra `serve` flags for every node.
    pub async fn start(n: usize, args: &[&str]) -> Cluster {
        let bin = std::path::Path::new(env!("CARGO_BIN_EXE_paddle"));
        let inner = paddle_tests::Cluster::start(bin, n, args)
            .await
            .expect("the cluster starts");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Cluster {
            operator: inner.operator_token.clone(),
            inner,
            http,
        }
    }

    /// The test passed: drop the directory without printing the logs.
    pub fn pass(self) {
        self.inner.pass();
    }

    /// SIGKILL node `i`.
    pub fn kill(&mut self, i: usize) {
        self.inner.nodes[i].kill9();
    }

    /// Start the killed node `i` again on its data dir; wait until ready.
    pub async fn restart(&mut self, i: usize) {
        self.inner.restart(&[i]).await.expect("the node restarts");
    }

    pub fn ws_url(&self, i: usize) -> String {
        format!("ws://{}/ws", self.inner.nodes[i].http)
    }

    pub fn url(&self, i: usize) -> String {
        self.inner.nodes[i].url()
    }

    /// An HTTP call: `(status, JSON body)`.
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("node answers");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, url: &str, token: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::GET, url, token, None).await
    }

    pub async fn post(&self, url: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, url, token, Some(body))
            .await
    }

    /// Hash of the replicated auction state on node `i`.
    pub async fn state_hash(&self, i: usize) -> String {
        let (s, v) = self
            .get(
                &format!("{}/api/v1/state?consistency=linearizable", self.url(i)),
                Some(&self.operator),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["state_hash"].as_str().unwrap().to_string()
    }

    /// A live sale with `lots` lots (the first one open) and `bidders`
    /// approved bidders: `(sale, lots, tokens by paddle order)`.
    pub async fn live_sale(&self, lots: usize, bidders: usize) -> (u64, Vec<u64>, Vec<String>) {
        let base = self.url(0);
        let op = Some(self.operator.as_str());
        let (s, v) = self
            .post(
                &format!("{base}/api/v1/sales"),
                op,
                json!({"title": "Test sale", "currency": "EUR", "mode": {"type": "live"}, "premium_bp": 1000,
                       "increments": [{"from": "0", "increment": "1.00"}]}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let sale = v["sale"].as_u64().unwrap();
        let lot_list: Vec<Value> = (0..lots)
            .map(|i| json!({"title": format!("Lot {i}"), "start": "10.00"}))
            .collect();
        let (s, v) = self
            .post(
                &format!("{base}/api/v1/sales/{sale}/lots"),
                op,
                json!({ "lots": lot_list }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let lot_ids: Vec<u64> = v["lots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_u64().unwrap())
            .collect();
        let mut tokens = Vec::new();
        for i in 0..bidders {
            let (s, v) = self
                .post(
                    &format!("{base}/api/v1/sales/{sale}/bidders"),
                    op,
                    json!({"name": format!("Bidder {i}"), "approved": true}),
                )
                .await;
            assert_eq!(s, 201, "{v}");
            tokens.push(v["token"].as_str().unwrap().to_string());
        }
        let (s, v) = self
            .post(
                &format!("{base}/api/v1/lots/{}/open", lot_ids[0]),
                op,
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        (sale, lot_ids, tokens)
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client speaking the JSON protocol.
pub struct Ws {
    socket: Socket,
    /// Every message received, in order.
    pub seen: Vec<Value>,
    /// How the server closed the connection, if it did: `(code, reason)`.
    pub closed: Option<(u16, String)>,
}

impl Ws {
    pub async fn connect(url: &str) -> Ws {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("WebSocket connects");
        Ws {
            socket,
            seen: Vec::new(),
            closed: None,
        }
    }

    /// Connect and say hello; returns after `welcome`.
    pub async fn hello(url: &str, token: Option<&str>, since: Option<u64>) -> Ws {
        let mut ws = Ws::connect(url).await;
        let mut hello = json!({"type": "hello"});
        if let Some(t) = token {
            hello["token"] = json!(t);
        }
        if let Some(s) = since {
            hello["since"] = json!(s);
        }
        ws.send(hello).await;
        ws.expect("welcome").await;
        ws
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        if std::env::var_os("PADDLE_TEST_TRACE").is_some() {
            eprintln!("-> {}", &text[..text.len().min(200)]);
        }
        self.socket
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Send a binary frame (the protocol is text only).
    pub async fn socket_send_binary(&mut self) {
        self.socket
            .send(Message::Binary(vec![1u8, 2, 3].into()))
            .await
            .expect("send");
    }

    /// The next JSON message, or `None` when the connection ended.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(DEADLINE, self.socket.next())
                .await
                .expect("a message in time")?;
            match m {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).expect("server sends JSON");
                    if std::env::var_os("PADDLE_TEST_TRACE").is_some() {
                        eprintln!("<- {t}");
                    }
                    self.seen.push(v.clone());
                    return Some(v);
                }
                Ok(Message::Close(f)) => {
                    self.closed = f.map(|f| (u16::from(f.code), f.reason.to_string()));
                    return None;
                }
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Read until a message of this type arrives (others are kept in `seen`).
    pub async fn expect(&mut self, ty: &str) -> Value {
        loop {
            match self.next().await {
                Some(v) if v["type"] == ty => return v,
                Some(_) => continue,
                None => panic!("connection ended before a `{ty}`; seen: {:?}", self.seen),
            }
        }
    }

    /// Read until `pred` holds for a message.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next().await {
                Some(v) if pred(&v) => return v,
                Some(_) => continue,
                None => panic!("connection ended before {what}; seen: {:?}", self.seen),
            }
        }
    }

    /// Read until an event record (in an `event` or `events` message)
    /// satisfies `pred`; returns that record.
    pub async fn until_event(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next().await {
                Some(v) => {
                    if let Some(r) = events_in(std::slice::from_ref(&v))
                        .into_iter()
                        .find(|r| pred(r))
                    {
                        return r;
                    }
                }
                None => panic!("connection ended before {what}; seen: {:?}", self.seen),
            }
        }
    }

    pub async fn subscribe(&mut self, sale: u64, since: Option<u64>) -> Value {
        let mut m = json!({"type": "subscribe", "sale": sale});
        if let Some(s) = since {
            m["since"] = json!(s);
        }
        self.send(m).await;
        self.expect("subscribed").await
    }

    pub async fn bid(&mut self, bid_id: &str, lot: u64, max: Value) -> Value {
        self.send(json!({"type": "bid", "bid_id": bid_id, "lot": lot, "max": max}))
            .await;
        self.until("its bid_result", |v| {
            v["type"] == "bid_result" && v["bid_id"] == bid_id
        })
        .await
    }
}

/// Every event record in the messages seen, in order (`event` and `events`).
pub fn events_in(seen: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for m in seen {
        match m["type"].as_str() {
            Some("event") => out.push(m.clone()),
            Some("events") => out.extend(m["events"].as_array().unwrap().iter().cloned()),
            _ => {}
        }
    }
    out
}

/// `(index, seq)` of an event record.
pub fn key(e: &Value) -> (u64, u64) {
    (e["index"].as_u64().unwrap(), e["seq"].as_u64().unwrap())
}
