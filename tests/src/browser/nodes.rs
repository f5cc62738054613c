//! A small local cluster for the browser tests: `n1` bootstraps, the others
//! join with its join token. No origin is configured: a page loaded from one
//! node that fails over to another node's WebSocket and REST (another
//! origin) is let in because its origin is a cluster member's HTTP address,
//! as on a venue's network.
//!
//! Ports are chosen here (not port 0) so every address is known before any
//! node starts.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::Rng;
use serde_json::Value as Json;

/// How long a node may take to be ready (a join includes catching up).
const READY: Duration = Duration::from_secs(180);

struct Node {
    http: SocketAddr,
    raft: SocketAddr,
    dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// Real `paddle serve` processes in one temporary directory.
pub struct UiCluster {
    nodes: Vec<Node>,
    pub operator_token: String,
    pub http: reqwest::Client,
    dir: Option<tempfile::TempDir>,
    passed: bool,
}

fn free_port() -> u16 {
    let mut rng = rand::thread_rng();
    loop {
        let port = rng.gen_range(20_000..32_000);
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
            && UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
        {
            return port;
        }
    }
}

impl UiCluster {
    /// Start `n` nodes of `bin` and wait until each is ready.
    pub async fn start(bin: &Path, n: usize) -> anyhow::Result<UiCluster> {
        let dir = tempfile::Builder::new().prefix("paddle-ui-").tempdir()?;
        let nodes: Vec<Node> = (0..n)
            .map(|i| Node {
                http: SocketAddr::from((Ipv4Addr::LOCALHOST, free_port())),
                raft: SocketAddr::from((Ipv4Addr::LOCALHOST, free_port())),
                dir: dir.path().join(format!("n{}", i + 1)),
                log: dir.path().join(format!("n{}.log", i + 1)),
                child: None,
            })
            .collect();
        let mut c = UiCluster {
            nodes,
            operator_token: String::new(),
            http: reqwest::Client::new(),
            dir: Some(dir),
            passed: false,
        };
        c.spawn(bin, 0, None)?;
        c.wait_ready(0).await?;
        let dd = c.nodes[0].dir.clone();
        c.operator_token = read_trimmed(&dd.join("operator.token"))?;
        let join_token = read_trimmed(&dd.join("join.token"))?;
        let contact = c.nodes[0].raft.to_string();
        for i in 1..n {
            c.spawn(bin, i, Some((&contact, &join_token)))?;
            c.wait_ready(i).await?;
        }
        Ok(c)
    }

    fn spawn(&mut self, bin: &Path, i: usize, join: Option<(&str, &str)>) -> anyhow::Result<()> {
        let node = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)?;
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&node.dir)
            .arg("--http-addr")
            .arg(node.http.to_string())
            .arg("--raft-addr")
            .arg(node.raft.to_string());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PADDLE_") {
                cmd.env_remove(key);
            }
        }
        if let Some((contact, token)) = join {
            cmd.arg("--join").arg(contact).env("PADDLE_TOKEN", token);
        }
        cmd.env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        node.child = Some(
            cmd.spawn()
                .with_context(|| format!("starting {}", bin.display()))?,
        );
        Ok(())
    }

    async fn wait_ready(&mut self, i: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        let url = format!("{}/ready", self.url(i));
        loop {
            if let Some(status) = self.nodes[i]
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!(
                    "node n{} exited ({status}) before it was ready:\n{}",
                    i + 1,
                    self.log_tail(i, 30)
                );
            }
            if let Ok(r) = self.http.get(&url).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if started.elapsed() > READY {
                bail!(
                    "node n{} not ready within {READY:?}:\n{}",
                    i + 1,
                    self.log_tail(i, 30)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Base URL of node `i` (0-based), no trailing slash.
    pub fn url(&self, i: usize) -> String {
        format!("http://{}", self.nodes[i].http)
    }

    /// SIGKILL node `i`: like pulling its plug.
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_tail(&self, i: usize, n: usize) -> String {
        let text = std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// A REST call with the operator token; fails on any non-2xx with the
    /// node's error body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Json>,
    ) -> anyhow::Result<Json> {
        let mut req = self
            .http
            .request(method.clone(), url)
            .bearer_auth(&self.operator_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("{method} {url}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Json::String(text)))
    }

    pub async fn get(&self, url: &str) -> anyhow::Result<Json> {
        self.call(reqwest::Method::GET, url, None).await
    }

    pub async fn post(&self, url: &str, body: Json) -> anyhow::Result<Json> {
        self.call(reqwest::Method::POST, url, Some(body)).await
    }

    /// The GET body as text (CSV exports).
    pub async fn get_text(&self, url: &str) -> anyhow::Result<String> {
        let r = self
            .http
            .get(url)
            .bearer_auth(&self.operator_token)
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("GET {url}: {status}: {text}");
        }
        Ok(text)
    }

    /// The test passed: delete the nodes' directory.
    pub fn pass(mut self) {
        self.passed = true;
    }
}

fn read_trimmed(path: &Path) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_string())
}

impl Drop for UiCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill9(i);
        }
        if self.passed {
            return;
        }
        for i in 0..self.nodes.len() {
            eprintln!(
                "----- n{} ({}): last log lines -----\n{}",
                i + 1,
                self.url(i),
                self.log_tail(i, 40)
            );
        }
        if let Some(dir) = self.dir.take() {
            eprintln!(
                "----- browser test failed; node data and logs kept in {} -----",
                dir.keep().display()
            );
        }
    }
}
