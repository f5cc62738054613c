//! The HTTP client every operator command shares: one request to one node,
//! with the node's refusals turned into one clear line.
//!
//! Commands run on a small current-thread runtime ([`block_on`]): they make
//! a handful of requests.

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::cli::run::{run_async, Failure, Threads};
use crate::cli::NodeUrl;
use crate::config::{Secret, SecretError};

/// Exit code of a command whose arguments (here: credentials) are unusable,
/// the same as clap's usage errors.
pub const EXIT_USAGE: u8 = 2;

/// Why a request to a node did not give the answer the command wanted.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No HTTP answer at all (refused connection, timeout, DNS).
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The node answered with a Paddle error (`{"error":{code,message}}`).
    #[error("{message} [{code}, HTTP {status}]")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// The node answered something that is not a Paddle API reply, e.g.
    /// because the URL points at another service.
    #[error("{url} answered HTTP {status} with something that is not a Paddle reply: {snippet}")]
    NotPaddle {
        url: String,
        status: u16,
        snippet: String,
    },
    /// An https:// node, and no CA file to check its certificate with.
    #[error("{0}: {1}")]
    Https(String, String),
    /// The operator token could not be found or read.
    #[error(transparent)]
    Token(#[from] SecretError),
    /// A local file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The output file exists and `--force` was not given.
    #[error("{0} already exists; pass --force to replace it")]
    Exists(std::path::PathBuf),
    /// What the node sent is not a sound backup; nothing was written.
    #[error("the backup from the node is damaged ({0}); nothing was written")]
    Damaged(String),
}

impl ClientError {
    /// The process exit code for this failure: 2 when the operator has to
    /// fix the command line, 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            ClientError::Token(_) | ClientError::Https(..) => ExitCode::from(EXIT_USAGE),
            _ => ExitCode::FAILURE,
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}

#[derive(Deserialize)]
struct ErrorInner {
    code: String,
    message: String,
}

/// The variable naming the PEM file of CAs an https:// node's certificate
/// must chain to.
pub const CA_CERT_VAR: &str = "PADDLE_CA_CERT";

/// Trust only the CAs in `$PADDLE_CA_CERT`, else the cluster CA of the
/// local data dir (`$PADDLE_DATA_DIR` or `./paddle-data`, `tls/ca.pem`):
/// this build has no built-in roots, as the nodes' certificates usually
/// come from the cluster's own CA (`paddle cluster cert`).
fn trust_ca(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, String> {
    let path = match std::env::var_os(CA_CERT_VAR) {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let dd = std::env::var_os("PADDLE_DATA_DIR").unwrap_or_else(|| "./paddle-data".into());
            let local = std::path::Path::new(&dd).join("tls/ca.pem");
            if !local.exists() {
                return Err(format!(
                    "to check an https:// node's certificate, set {CA_CERT_VAR} to the cluster CA \
                     certificate (<data dir>/tls/ca.pem on any node, or the --ca-out file of \
                     `paddle cluster cert`); for a publicly trusted certificate, to \
                     /etc/ssl/certs/ca-certificates.crt"
                ));
            }
            local
        }
    };
    let pem = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{}: not PEM certificates ({e})", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: holds no certificate", path.display()));
    }
    Ok(certs
        .into_iter()
        .fold(builder.tls_built_in_root_certs(false), |b, c| {
            b.add_root_certificate(c)
        }))
}

/// A client for one node's HTTP API.
pub struct NodeClient {
    base: reqwest::Url,
    http: reqwest::Client,
    token: Option<Secret>,
}

impl NodeClient {
    /// A client for `node`; `timeout` bounds each whole request.
    pub fn new(node: &NodeUrl, timeout: Option<Duration>) -> Result<Self, ClientError> {
        let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(5));
        if node.url().scheme() == "https" {
            builder = trust_ca(builder).map_err(|e| ClientError::Https(node.to_string(), e))?;
        }
        if let Some(t) = timeout {
            builder = builder.timeout(t);
        }
        let http = builder.build().map_err(|e| ClientError::Unreachable {
            url: node.to_string(),
            reason: e.to_string(),
        })?;
        Ok(NodeClient {
            base: node.url().clone(),
            http,
            token: None,
        })
    }

    /// Send the operator token with every request.
    pub fn with_token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// The node's base URL.
    pub fn base(&self) -> &reqwest::Url {
        &self.base
    }

    fn url(&self, path: &str) -> reqwest::Url {
        self.base
            .join(path)
            .expect("API paths are valid relative URLs")
    }

    /// Send a request and return the successful response; a Paddle error
    /// reply becomes [`ClientError::Refused`].
    pub async fn send(&self, method: Method, path: &str) -> Result<reqwest::Response, ClientError> {
        let url = self.url(path);
        let mut req = self.http.request(method, url.clone());
        if let Some(token) = &self.token {
            req = req.bearer_auth(token.expose());
        }
        let resp = req.send().await.map_err(|e| unreachable(&url, &e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.bytes().await.unwrap_or_default();
        Err(refusal(&url, status, &body))
    }

    /// `send` and decode the JSON answer.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
    ) -> Result<T, ClientError> {
        let url = self.url(path);
        let resp = self.send(method, path).await?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| unreachable(&url, &e))?;
        serde_json::from_slice(&body).map_err(|_| not_paddle(&url, status, &body))
    }
}

fn unreachable(url: &reqwest::Url, e: &reqwest::Error) -> ClientError {
    // reqwest's top-level message is generic ("error sending request");
    // the cause chain says what happened (refused, timed out, ...).
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    if e.is_timeout() {
        reason = format!("no answer in time ({reason})");
    }
    ClientError::Unreachable {
        url: url.to_string(),
        reason,
    }
}

fn not_paddle(url: &reqwest::Url, status: StatusCode, body: &[u8]) -> ClientError {
    let text = String::from_utf8_lossy(body);
    let snippet: String = text.chars().take(120).collect();
    ClientError::NotPaddle {
        url: url.to_string(),
        status: status.as_u16(),
        snippet: snippet.trim().to_string(),
    }
}

fn refusal(url: &reqwest::Url, status: StatusCode, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => ClientError::Refused {
            status: status.as_u16(),
            code: b.error.code,
            message: b.error.message,
        },
        Err(_) => not_paddle(url, status, body),
    }
}

impl Failure for ClientError {
    fn exit_code(&self) -> ExitCode {
        ClientError::exit_code(self)
    }
}

/// Run an operator command's body (`name` for its messages) on a
/// current-thread runtime: `Ok` is exit 0; a failure is printed and its
/// exit code returned.
pub fn block_on<F>(name: &str, fut: F) -> ExitCode
where
    F: Future<Output = Result<(), ClientError>>,
{
    run_async(name, Threads::One, async {
        fut.await.map(|()| ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> reqwest::Url {
        reqwest::Url::parse("http://127.0.0.1:1/x").unwrap()
    }

    #[test]
    fn paddle_errors_become_one_line_with_code_and_status() {
        let body =
            br#"{"error":{"code":"would_lose_quorum","message":"only 1 of 2 would be healthy"}}"#;
        let e = refusal(&url(), StatusCode::CONFLICT, body);
        assert_eq!(
            e.to_string(),
            "only 1 of 2 would be healthy [would_lose_quorum, HTTP 409]"
        );
        assert_eq!(e.exit_code(), ExitCode::FAILURE);
    }

    #[test]
    fn other_answers_are_named_as_not_paddle() {
        let e = refusal(&url(), StatusCode::NOT_FOUND, b"<html>nginx</html>");
        assert!(e.to_string().contains("not a Paddle reply"), "{e}");
        assert!(e.to_string().contains("<html>nginx</html>"), "{e}");
    }

    #[test]
    fn https_without_a_ca_file_is_a_usage_error() {
        if std::env::var_os(CA_CERT_VAR).is_some() || std::env::var_os("PADDLE_DATA_DIR").is_some()
        {
            return; // the environment names a CA: nothing to refuse
        }
        let node: NodeUrl = "https://venue-1.local".parse().unwrap();
        let Err(e) = NodeClient::new(&node, None) else {
            panic!("https accepted without a CA to check it");
        };
        assert_eq!(e.exit_code(), ExitCode::from(EXIT_USAGE));
        assert!(e.to_string().contains(CA_CERT_VAR), "{e}");
    }
}
