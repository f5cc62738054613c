//! A local cluster of real `paddle serve` processes for `paddle bench
//! api` (separate processes, so each node's memory can be read from
//! `/proc`), and WebSocket clients bound to spread loopback addresses (one
//! process may hold 20 000 files; spreading source addresses keeps the
//! ephemeral ports of 10 000 connections apart).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// One node process.
pub struct Proc {
    pub http: SocketAddr,
    pub raft: SocketAddr,
    pub dir: PathBuf,
    child: Child,
}

impl Proc {
    /// Resident memory of the process in bytes (Linux).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// CPU seconds (user + system) the process has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        super::figures::process_cpu_seconds(self.child.id())
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port(udp: bool) -> anyhow::Result<u16> {
    Ok(if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")?
            .local_addr()?
            .port()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port()
    })
}

/// Limits that let the bench, not the node's defaults, set the pace.
const BENCH_LIMITS: &[&str] = &[
    "--limits-bids-per-second-per-bidder",
    "10000",
    "--limits-bids-per-second-per-connection",
    "10000",
    "--limits-max-connections",
    "30000",
];

fn spawn(dir: &Path, join: Option<(&str, &str)>) -> anyhow::Result<Proc> {
    let http: SocketAddr = format!("127.0.0.1:{}", free_port(false)?).parse()?;
    let raft: SocketAddr = format!("127.0.0.1:{}", free_port(true)?).parse()?;
    let log = std::fs::File::create(dir.with_extension("log"))?;
    let mut cmd = Command::new(std::env::current_exe().context("locating the paddle binary")?);
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(dir)
        .args([
            "--http-addr",
            &http.to_string(),
            "--raft-addr",
            &raft.to_string(),
        ])
        .args(BENCH_LIMITS)
        .env("PADDLE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log);
    if let Some((via, token)) = join {
        cmd.args(["--join", via, "--token", token]);
    }
    let child = cmd.spawn().context("starting a node")?;
    Ok(Proc {
        http,
        raft,
        dir: dir.to_path_buf(),
        child,
    })
}

async fn wait_ready(http: &reqwest::Client, p: &Proc) -> anyhow::Result<()> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = http.get(format!("{}/ready", p.url())).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "node {} did not become ready; see {}.log",
        p.http,
        p.dir.display()
    )
}

/// Start `n` nodes under `root`: the first bootstraps, the rest join.
/// Returns the processes and the operator token.
pub async fn start(
    root: &Path,
    n: usize,
    http: &reqwest::Client,
) -> anyhow::Result<(Vec<Proc>, String)> {
    let first = spawn(&root.join("node-1"), None)?;
    wait_ready(http, &first).await?;
    let operator = std::fs::read_to_string(first.dir.join("operator.token"))?
        .trim()
        .to_string();
    let join = std::fs::read_to_string(first.dir.join("join.token"))?
        .trim()
        .to_string();
    let via = first.raft.to_string();
    let mut procs = vec![first];
    for i in 2..=n {
        let p = spawn(&root.join(format!("node-{i}")), Some((&via, &join)))?;
        wait_ready(http, &p).await?;
        procs.push(p);
    }
    Ok((procs, operator))
}

/// POST with the operator token; the JSON answer or its error.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let v: Value = http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    if let Some(e) = v.get("error") {
        bail!("{url}: {e}");
    }
    Ok(v)
}

/// The cluster's time as a node serves it (`GET /api/v1/time`).
pub async fn server_time_ms(http: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let v: Value = http
        .get(format!("{base}/api/v1/time"))
        .send()
        .await?
        .json()
        .await?;
    v["server_time_ms"]
        .as_u64()
        .with_context(|| format!("{base}/api/v1/time answered {v}"))
}

/// A timed sale open now with `lots` lots (1 cent increments) and
/// `bidders` approved bidders: `(sale, lots, tokens)`.
pub async fn sale(
    http: &reqwest::Client,
    base: &str,
    op: &str,
    lots: usize,
    bidders: usize,
    open_for: Duration,
) -> anyhow::Result<(u64, Vec<u64>, Vec<String>)> {
    // The sale's times are in cluster time, which need not be this machine's.
    let now = server_time_ms(http, base).await?;
    let v = post(http, &format!("{base}/api/v1/sales"), op, json!({
        "title": "bench", "currency": "EUR", "premium_bp": 0,
        "increments": [{"from": "0", "increment": "0.01"}],
        "mode": {"type": "timed", "opens_at_ms": now, "closes_at_ms": now + open_for.as_millis() as u64, "stagger_ms": 0}
    })).await?;
    let sale = v["sale"].as_u64().context("sale id")?;
    let mut lot_ids = Vec::new();
    for chunk in (0..lots).collect::<Vec<_>>().chunks(1000) {
        let specs: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"title": format!("lot {i}"), "start": "1.00"}))
            .collect();
        let v = post(
            http,
            &format!("{base}/api/v1/sales/{sale}/lots"),
            op,
            json!({"lots": specs}),
        )
        .await?;
        lot_ids.extend(
            v["lots"]
                .as_array()
                .context("lots")?
                .iter()
                .filter_map(Value::as_u64),
        );
    }
    let mut tokens = Vec::new();
    for i in 0..bidders {
        let v = post(
            http,
            &format!("{base}/api/v1/sales/{sale}/bidders"),
            op,
            json!({"name": format!("b{i}"), "approved": true}),
        )
        .await?;
        tokens.push(v["token"].as_str().context("token")?.to_string());
    }
    // The leader's timer opens the lots; wait until the last one is open.
    let last = *lot_ids.last().context("no lots")?;
    let started = Instant::now();
    loop {
        let v: Value = http
            .get(format!("{base}/api/v1/lots/{last}"))
            .send()
            .await?
            .json()
            .await?;
        if v["lot"]["status"] == "open" {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the bench lots did not open");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((sale, lot_ids, tokens))
}

/// The index node `base` has applied, from a read of the sale.
pub async fn applied_index(http: &reqwest::Client, base: &str, sale: u64) -> anyhow::Result<u64> {
    let v: Value = http
        .get(format!(
            "{base}/api/v1/sales/{sale}?consistency=linearizable"
        ))
        .send()
        .await?
        .json()
        .await?;
    v["applied_index"].as_u64().context("applied_index")
}

/// A client WebSocket.
pub type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connect to `node` from loopback source address 127.0.0.`2 + i % 200`,
/// with small client buffers.
pub async fn connect(node: SocketAddr, i: usize) -> anyhow::Result<Socket> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    let src: SocketAddr = format!("127.0.0.{}:0", 2 + i % 200).parse()?;
    socket.bind(src)?;
    let stream = socket.connect(node).await?;
    stream.set_nodelay(true)?;
    let cfg = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(format!("ws://{node}/ws"), stream, Some(cfg))
            .await?;
    Ok(ws)
}
