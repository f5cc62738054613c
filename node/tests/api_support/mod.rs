//! A small harness for the public API tests: real `paddle serve`
//! processes (one, or a cluster joined by token), an HTTP client, and a
//! WebSocket client that reads JSON messages with generous deadlines.
//!
//! Kept minimal on purpose: the shared process harness of `paddle-tests`
//! can replace it once it is on main.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Generous: two shared cores, debug builds.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub fn free_tcp() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_udp() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `paddle serve` process.
pub struct Node {
    pub dir: PathBuf,
    pub http: String,
    pub raft: String,
    args: Vec<String>,
    child: Option<Child>,
}

impl Node {
    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.http)
    }

    fn spawn(&mut self, join: Option<(&str, &str)>) {
        let log = std::fs::File::create(self.dir.with_extension("log")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddle"));
        cmd.args(["serve", "--data-dir"])
            .arg(&self.dir)
            .args(["--http-addr", &self.http, "--raft-addr", &self.raft])
            .args(&self.args)
            .env(
                "PADDLE_LOG",
                std::env::var("PADDLE_TEST_NODE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log);
        if let Some((via, token)) = join {
            cmd.args(["--join", via, "--token", token]);
        }
        self.child = Some(cmd.spawn().expect("paddle starts"));
    }

    /// SIGKILL, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.with_extension("log")).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Nodes of one cluster, the operator token, and an HTTP client.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub operator: String,
    pub http: reqwest::Client,
    _root: tempfile::TempDir,
}

async fn wait_ready(http: &reqwest::Client, url: &str, node: &Node) {
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{url}/ready")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            started.elapsed() < DEADLINE * 2,
            "node {url} not ready in time; log:\n{}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Cluster {
    /// Start `n` nodes (the first bootstraps, the others join it), with
    /// extra `serve` flags for every node.
    pub async fn start(n: usize, args: &[&str]) -> Cluster {
        let root = tempfile::tempdir().unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut nodes: Vec<Node> = (0..n)
            .map(|i| Node {
                dir: root.path().join(format!("node-{}", i + 1)),
                http: format!("127.0.0.1:{}", free_tcp()),
                raft: format!("127.0.0.1:{}", free_udp()),
                args: args.iter().map(|s| s.to_string()).collect(),
                child: None,
            })
            .collect();
        nodes[0].spawn(None);
        let first_url = nodes[0].url();
        wait_ready(&http, &first_url, &nodes[0]).await;
        let operator = read_file(&nodes[0].dir.join("operator.token"));
        let join = read_file(&nodes[0].dir.join("join.token"));
        let via = nodes[0].raft.clone();
        for node in nodes.iter_mut().skip(1) {
            node.spawn(Some((&via, &join)));
            let url = node.url();
            wait_ready(&http, &url, node).await;
        }
        Cluster {
            nodes,
            operator,
            http,
            _root: root,
        }
    }

    pub fn url(&self, i: usize) -> String {
        self.nodes[i].url()
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

fn read_file(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
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
