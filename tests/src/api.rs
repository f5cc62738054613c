//! A black-box client of a node's HTTP API, as the tests see it: typed
//! answers for the endpoints they use and [`Reply`] for everything else.
//! It never links the node's own types, so a wire change shows up here.

use std::time::Duration;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// One row of `GET /api/v1/cluster`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NodeRow {
    pub id: u64,
    pub raft_addr: String,
    pub http_addr: String,
    pub voter: bool,
    pub role: String,
    pub term: Option<u64>,
    pub applied: Option<u64>,
    pub lag: Option<u64>,
    pub healthy: bool,
    /// The node's wall clock minus cluster time (ms), as measured by the
    /// answering node.
    #[serde(default)]
    pub clock_offset_ms: Option<f64>,
    #[serde(default)]
    pub clock_skewed: bool,
}

/// `GET /api/v1/time`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TimeReply {
    pub server_time_ms: u64,
    pub node_id: u64,
    pub synced: bool,
    pub agreed: bool,
    pub offset_ms: Option<f64>,
    pub skewed: bool,
    pub max_skew_ms: u64,
}

/// `GET /api/v1/cluster`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ClusterStatus {
    pub answered_by: u64,
    pub leader: Option<u64>,
    pub term: u64,
    pub committed: u64,
    pub joint: bool,
    pub nodes: Vec<NodeRow>,
}

impl ClusterStatus {
    /// Ids of the voters, sorted.
    pub fn voters(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .nodes
            .iter()
            .filter(|n| n.voter)
            .map(|n| n.id)
            .collect();
        v.sort();
        v
    }

    /// Ids of every member, sorted.
    pub fn members(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.nodes.iter().map(|n| n.id).collect();
        v.sort();
        v
    }
}

/// `POST /api/v1/probe` answer.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct ProbeAck {
    pub writer: u64,
    pub seq: u64,
    pub index: u64,
}

/// `GET /api/v1/probe`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProbeList {
    pub applied_index: u64,
    pub probes: Vec<ProbeAck>,
}

/// `GET /api/v1/state`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct StateHash {
    pub applied_index: u64,
    pub keys: u64,
    /// Hash of the state without the cluster's own bookkeeping (tokens,
    /// node ids): equal between a cluster and one restored from its backup.
    pub state_hash: String,
    /// Hash of everything.
    #[serde(default)]
    pub full_hash: String,
}

/// Any answer: status and body, for asserting on refusals.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Reply {
    /// `error.code` of a Paddle error reply, or "".
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// `error.message` of a Paddle error reply, or "".
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }

    fn ok<T: for<'de> Deserialize<'de>>(self, what: &str) -> anyhow::Result<T> {
        if self.status != 200 {
            bail!("{what}: HTTP {} {}", self.status, self.body);
        }
        serde_json::from_value(self.body).with_context(|| format!("{what}: unexpected shape"))
    }
}

/// HTTP client with the operator token.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    token: String,
}

impl Api {
    /// A client sending `token` as the operator's bearer token.
    pub fn new(token: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(3))
            .pool_max_idle_per_host(64)
            .build()
            .expect("reqwest client builds");
        Api {
            http,
            token: token.to_string(),
        }
    }

    /// A client sending `token` that trusts only the CA in `ca_pem` (a
    /// node serving HTTPS with a certificate from `paddle cluster cert`).
    pub fn with_root_ca(token: &str, ca_pem: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(3))
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes())?)
            .build()?;
        Ok(Api {
            http,
            token: token.to_string(),
        })
    }

    /// The underlying HTTP client (for requests the helpers do not cover).
    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    /// The same client with another bearer token (for refusal tests).
    pub fn with_token(&self, token: &str) -> Self {
        Api {
            http: self.http.clone(),
            token: token.to_string(),
        }
    }

    /// A request with any method, path and optional JSON body; `auth`
    /// says whether to send the token.
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<serde_json::Value>,
        auth: bool,
    ) -> anyhow::Result<Reply> {
        let mut req = self.http.request(method, url);
        if auth {
            req = req.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("sending to {url}"))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
        Ok(Reply { status, body })
    }

    pub async fn get(&self, url: &str) -> anyhow::Result<Reply> {
        self.call(reqwest::Method::GET, url, None, true).await
    }

    pub async fn post(&self, url: &str, body: serde_json::Value) -> anyhow::Result<Reply> {
        self.call(reqwest::Method::POST, url, Some(body), true)
            .await
    }

    /// `GET /api/v1/cluster` from the node at `base`.
    pub async fn cluster(&self, base: &str) -> anyhow::Result<ClusterStatus> {
        self.get(&format!("{base}/api/v1/cluster"))
            .await?
            .ok("cluster status")
    }

    /// Write one probe; `Ok(Err(reply))` when the node refused it.
    pub async fn probe(
        &self,
        base: &str,
        writer: u64,
        seq: u64,
        payload: &str,
    ) -> anyhow::Result<Result<ProbeAck, Reply>> {
        let body = serde_json::json!({ "writer": writer, "seq": seq, "payload": payload });
        let reply = self.post(&format!("{base}/api/v1/probe"), body).await?;
        if reply.status == 200 {
            Ok(Ok(reply.ok("probe")?))
        } else {
            Ok(Err(reply))
        }
    }

    /// Every probe the node at `base` has applied, once it has applied at
    /// least `min_index`.
    pub async fn probes(&self, base: &str, min_index: u64) -> anyhow::Result<ProbeList> {
        self.get(&format!("{base}/api/v1/probe?min_index={min_index}"))
            .await?
            .ok("probe list")
    }

    /// The state hash of the node at `base`, once it has applied at least
    /// `min_index`.
    pub async fn state(&self, base: &str, min_index: u64) -> anyhow::Result<StateHash> {
        self.get(&format!("{base}/api/v1/state?min_index={min_index}"))
            .await?
            .ok("state hash")
    }

    /// One gauge from `/metrics` (no labels).
    pub async fn metric(&self, base: &str, name: &str) -> anyhow::Result<u64> {
        let text = self
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .with_context(|| format!("{name} missing from {base}/metrics"))
    }

    /// `GET /api/v1/time`, with how far its `server_time_ms` is from this
    /// process's own wall clock at the request's midpoint (ms; the test
    /// process's clock is the true one).
    pub async fn time(&self, base: &str) -> anyhow::Result<(TimeReply, f64)> {
        let before = wall_ms();
        let reply: TimeReply = self.get(&format!("{base}/api/v1/time")).await?.ok("time")?;
        let after = wall_ms();
        let skew = reply.server_time_ms as f64 - (before + after) / 2.0;
        Ok((reply, skew))
    }

    /// True when `/ready` answers 200.
    pub async fn ready(&self, base: &str) -> bool {
        match self.http.get(format!("{base}/ready")).send().await {
            Ok(r) => r.status().is_success(),
            Err(_) => false,
        }
    }
}

/// This process's wall clock, ms since the epoch (fractional).
pub fn wall_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}
