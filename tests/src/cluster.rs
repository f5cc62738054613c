//! A cluster of real `paddle serve` processes in one temporary directory,
//! made the way an operator makes one: node `n1` bootstraps, every other
//! node joins with the join token `n1` wrote.
//!
//! Every wait polls with a generous deadline and fails with the logs; no
//! test asserts on how long anything took. When a test fails (the cluster
//! is dropped without [`Cluster::pass`]), the tail of every node's log is
//! printed and the directory is kept for a post-mortem.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::api::{Api, ClusterStatus, StateHash};
use crate::process::NodeProc;

/// Deadline for a node to become ready (a join includes catching up).
pub const READY: Duration = Duration::from_secs(180);
/// Deadline for the cluster to agree on something (leader, state).
pub const SETTLE: Duration = Duration::from_secs(120);

/// Real nodes under one temporary directory.
pub struct Cluster {
    bin: PathBuf,
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    pub nodes: Vec<NodeProc>,
    pub operator_token: String,
    pub join_token: String,
    pub api: Api,
    passed: bool,
}

impl Cluster {
    /// Bootstrap `n1`, then join `n - 1` nodes through it one by one, each
    /// waited for until ready. `args` are extra `serve` flags for all.
    pub async fn start(bin: &Path, n: usize, args: &[&str]) -> anyhow::Result<Cluster> {
        let dir = tempfile::Builder::new().prefix("paddle-test-").tempdir()?;
        let root = dir.path().to_path_buf();
        let mut first = NodeProc::new(bin, &root, "n1", args);
        first.start(None)?;
        let mut cluster = Cluster {
            bin: bin.to_path_buf(),
            dir: Some(dir),
            root,
            nodes: Vec::new(),
            operator_token: String::new(),
            join_token: String::new(),
            api: Api::new(""),
            passed: false,
        };
        cluster.nodes.push(first);
        // The tokens exist once the node is up; until then /ready is 503.
        let probe_api = Api::new("");
        cluster.nodes[0].wait_ready(&probe_api, READY).await?;
        let dd = cluster.nodes[0].data_dir.clone();
        cluster.operator_token = read_trimmed(&dd.join("operator.token"))?;
        cluster.join_token = read_trimmed(&dd.join("join.token"))?;
        cluster.api = Api::new(&cluster.operator_token);
        cluster.learn_id(0).await?;
        for _ in 1..n {
            cluster.join(0, args).await?;
        }
        Ok(cluster)
    }

    /// The temporary directory holding every node.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The binary under test.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// A new node (not started) named `n<k>` with `args`; returns its index.
    pub fn add_node(&mut self, args: &[&str]) -> usize {
        let name = format!("n{}", self.nodes.len() + 1);
        self.nodes
            .push(NodeProc::new(&self.bin, &self.root, &name, args));
        self.nodes.len() - 1
    }

    /// Start node `i` as a joiner through the QUIC address of node `via`.
    pub fn start_join(&mut self, i: usize, via: usize) -> anyhow::Result<()> {
        let contact = self.nodes[via].raft.to_string();
        let token = self.join_token.clone();
        self.nodes[i].start(Some((&contact, &token)))
    }

    /// Add a node that joins through node `via`, wait until it is ready and
    /// learn its id; returns its index.
    pub async fn join(&mut self, via: usize, args: &[&str]) -> anyhow::Result<usize> {
        self.join_with_env(via, args, Vec::new()).await
    }

    /// [`Cluster::join`] with extra environment for the new node (e.g. a
    /// skewed clock, [`crate::process::faketime_env`]).
    pub async fn join_with_env(
        &mut self,
        via: usize,
        args: &[&str],
        env: Vec<(String, String)>,
    ) -> anyhow::Result<usize> {
        let i = self.add_node(args);
        self.nodes[i].env = env;
        self.start_join(i, via)?;
        self.nodes[i].wait_ready(&self.api, READY).await?;
        self.learn_id(i).await?;
        Ok(i)
    }

    /// Ask node `i` its id (`/health`).
    pub async fn learn_id(&mut self, i: usize) -> anyhow::Result<u64> {
        let reply = self
            .api
            .get(&format!("{}/health", self.nodes[i].url()))
            .await?;
        let id = reply.body["node_id"]
            .as_u64()
            .with_context(|| format!("no node_id in /health: {}", reply.body))?;
        self.nodes[i].id = Some(id);
        Ok(id)
    }

    /// Index of the node with id `id`.
    pub fn index_of(&self, id: u64) -> anyhow::Result<usize> {
        self.nodes
            .iter()
            .position(|n| n.id == Some(id))
            .with_context(|| format!("no node with id {id} in this harness"))
    }

    /// Base URL of node `i`.
    pub fn url(&self, i: usize) -> String {
        self.nodes[i].url()
    }

    /// URLs of the nodes at `idx`.
    pub fn urls(&self, idx: &[usize]) -> Vec<String> {
        idx.iter().map(|i| self.url(*i)).collect()
    }

    /// `GET /api/v1/cluster` from node `i`.
    pub async fn status(&self, i: usize) -> anyhow::Result<ClusterStatus> {
        self.api.cluster(&self.url(i)).await
    }

    /// Poll node `i`'s cluster status until `pred` holds.
    pub async fn wait_status(
        &self,
        i: usize,
        what: &str,
        pred: impl Fn(&ClusterStatus) -> bool,
    ) -> anyhow::Result<ClusterStatus> {
        let started = Instant::now();
        let mut last = None;
        loop {
            if let Ok(s) = self.status(i).await {
                if pred(&s) {
                    return Ok(s);
                }
                last = Some(s);
            }
            if started.elapsed() > SETTLE {
                bail!(
                    "waiting for {what}: last status from {}: {last:#?}",
                    self.nodes[i].name
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Wait until every node in `among` names the same leader, which is
    /// itself in `among`; returns the leader's index.
    pub async fn wait_leader(&self, among: &[usize]) -> anyhow::Result<usize> {
        let started = Instant::now();
        loop {
            let mut seen = Vec::new();
            for &i in among {
                let leader = self
                    .api
                    .metric(&self.url(i), "paddle_raft_leader_id")
                    .await
                    .unwrap_or(0);
                seen.push(leader);
            }
            if seen[0] != 0 && seen.iter().all(|l| *l == seen[0]) {
                if let Some(i) = among
                    .iter()
                    .copied()
                    .find(|i| self.nodes[*i].id == Some(seen[0]))
                {
                    return Ok(i);
                }
            }
            if started.elapsed() > SETTLE {
                bail!("no agreed leader among {among:?}: they name {seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until every node in `among` has applied the same index with the
    /// same state hash; returns that state.
    pub async fn wait_converged(&self, among: &[usize]) -> anyhow::Result<StateHash> {
        let started = Instant::now();
        loop {
            let mut states = Vec::new();
            for &i in among {
                states.push(self.api.state(&self.url(i), 0).await.ok());
            }
            if let Some(Some(first)) = states.first() {
                if states.iter().all(|s| s.as_ref() == Some(first)) {
                    return Ok(first.clone());
                }
            }
            if started.elapsed() > SETTLE {
                bail!("nodes {among:?} did not converge: {states:#?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGKILL the nodes at `idx` together (every signal is sent before
    /// any is reaped), like a power cut of the whole venue.
    pub fn kill_all_at_once(&mut self, idx: &[usize]) {
        for &i in idx {
            self.nodes[i].signal(libc::SIGKILL);
        }
        for &i in idx {
            self.nodes[i].kill9();
        }
    }

    /// Restart the stopped nodes at `idx` on their data dirs and wait until
    /// each is ready.
    pub async fn restart(&mut self, idx: &[usize]) -> anyhow::Result<()> {
        for &i in idx {
            self.nodes[i].start(None)?;
        }
        for &i in idx {
            let api = self.api.clone();
            self.nodes[i].wait_ready(&api, READY).await?;
        }
        Ok(())
    }

    /// A gauge from node `i`'s `/metrics`.
    pub async fn metric(&self, i: usize, name: &str) -> anyhow::Result<u64> {
        self.api.metric(&self.url(i), name).await
    }

    /// Check `history` against the probes of every node in `among`, once
    /// they have converged; returns the converged state.
    pub async fn check_history(
        &self,
        history: &crate::History,
        among: &[usize],
    ) -> anyhow::Result<StateHash> {
        let state = self.wait_converged(among).await?;
        for &i in among {
            let at_least = state.applied_index.max(history.max_index());
            let listed = self.api.probes(&self.url(i), at_least).await?;
            history
                .check(&listed.probes)
                .with_context(|| format!("history check on {}", self.nodes[i].name))?;
        }
        Ok(state)
    }

    /// The test passed: stop every node and delete the directory.
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

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill9();
        }
        if self.passed {
            return;
        }
        for node in &self.nodes {
            eprintln!(
                "----- {} (id {:?}, http {}, raft {}): last log lines -----\n{}",
                node.name,
                node.id,
                node.http,
                node.raft,
                node.log_tail(60)
            );
        }
        if let Some(dir) = self.dir.take() {
            let kept = dir.keep();
            eprintln!(
                "----- test failed; node data and logs kept in {} -----",
                kept.display()
            );
        }
    }
}
