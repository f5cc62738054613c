//! The nodes a browser test runs against: the same [`Cluster`] of real
//! `paddle serve` processes as every other real-process test (`n1`
//! bootstraps, the others join with its join token, logs printed and data
//! kept when a test fails), with the operator's REST calls the page tests
//! use to set a sale up. No origin is configured: a page loaded from one
//! node that fails over to another node's WebSocket and REST (another
//! origin) is let in because its origin is a cluster member's HTTP address,
//! as on a venue's network.

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::Value as Json;

use crate::cluster::Cluster;

/// Real nodes for browser tests.
pub struct UiCluster {
    cluster: Cluster,
    pub operator_token: String,
    pub http: reqwest::Client,
}

impl UiCluster {
    /// Start `n` nodes of `bin` and wait until each is ready.
    pub async fn start(bin: &Path, n: usize) -> anyhow::Result<UiCluster> {
        UiCluster::start_with(bin, n, &[]).await
    }

    /// [`UiCluster::start`] with extra `serve` flags for every node.
    pub async fn start_with(bin: &Path, n: usize, args: &[&str]) -> anyhow::Result<UiCluster> {
        let cluster = Cluster::start(bin, n, args).await?;
        Ok(UiCluster {
            operator_token: cluster.operator_token.clone(),
            cluster,
            http: reqwest::Client::new(),
        })
    }

    /// Restart node 1 (of a one-node cluster) serving HTTPS with a
    /// certificate from `paddle cluster cert --name localhost --ip
    /// 127.0.0.1`, and trust only the cluster CA from now on. Returns the
    /// PEM chain (leaf first) the node serves.
    pub async fn serve_https(&mut self) -> anyhow::Result<String> {
        let node = &mut self.cluster.nodes[0];
        let dd = node.data_dir.display().to_string();
        let web = node.data_dir.with_file_name("web");
        let (cert, key) = (
            web.join("web.pem").display().to_string(),
            web.join("web.key").display().to_string(),
        );
        let bin = node.bin().to_path_buf();
        let out = crate::paddle_cli(
            &bin,
            &[
                "cluster",
                "cert",
                "--data-dir",
                &dd,
                "--name",
                "localhost",
                "--ip",
                "127.0.0.1",
                "--out-cert",
                &cert,
                "--out-key",
                &key,
            ],
        )
        .await?;
        if out.code() != 0 {
            bail!("paddle cluster cert failed: {out:?}");
        }
        let ca_pem = std::fs::read_to_string(node.data_dir.join("tls/ca.pem"))?;
        node.stop().await?;
        node.args
            .extend(["--tls-cert".into(), cert.clone(), "--tls-key".into(), key]);
        node.tls = true;
        node.start(None)?;
        let api = crate::Api::with_root_ca(&self.operator_token, &ca_pem)?;
        node.wait_ready(&api, crate::READY).await?;
        self.http = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes())?)
            .build()?;
        Ok(std::fs::read_to_string(&cert)?)
    }

    /// Base URL of node `i` (0-based), no trailing slash.
    pub fn url(&self, i: usize) -> String {
        self.cluster.url(i)
    }

    /// SIGKILL node `i`: like pulling its plug.
    pub fn kill9(&mut self, i: usize) {
        self.cluster.nodes[i].kill9();
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

    /// The test passed: stop the nodes and delete their directory.
    pub fn pass(self) {
        self.cluster.pass();
    }
}
