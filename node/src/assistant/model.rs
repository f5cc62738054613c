//! One request to an OpenAI-compatible chat-completions endpoint
//! (`POST {endpoint}/chat/completions`), as llama.cpp's `llama-server` and
//! vLLM serve it. The HTTP client is reqwest (already the node's client for
//! its tools) with rustls on ring; the whole request, connection included,
//! is bounded by `timeout_ms`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::AssistantConfig;

/// Where Debian keeps the machine's trusted CA certificates.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Largest model answer read, in bytes: an appraisal or an introduction
/// is a few hundred; anything far larger is not what we asked for.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why the model gave no usable answer. Its `Display` is the note shown to
/// the operator or logged, so it says what happened in plain words.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No answer within `timeout_ms`.
    #[error("the model server did not answer within {0} ms")]
    Timeout(u64),
    /// Connection refused, no route, DNS: the server is not there.
    #[error("the model server could not be reached ({0})")]
    Unreachable(String),
    /// It answered with an HTTP error.
    #[error("the model server answered HTTP {0}")]
    Status(u16),
    /// It answered, but not with what was asked for.
    #[error("the model's answer was unusable: {0}")]
    Garbage(String),
}

/// Rival profiles one bidder may ask for at once on this node; then one
/// more every [`PROFILE_PERIOD`]. A profile reads the sale's whole public
/// history, so a script asking in a loop must not make a node do that
/// without end.
const PROFILE_BURST: u32 = 3;
/// See [`PROFILE_BURST`].
const PROFILE_PERIOD: Duration = Duration::from_secs(2);

/// The assistant as configured on this node, with its model client.
pub struct Assistant {
    cfg: AssistantConfig,
    model: Option<ModelClient>,
    profiles: governor::DefaultKeyedRateLimiter<(u64, u32)>,
}

impl Assistant {
    /// The assistant for `cfg` (the client opens no connection until asked).
    pub fn new(cfg: AssistantConfig) -> Assistant {
        let model = cfg.endpoint.as_ref().map(|_| ModelClient::new(&cfg));
        let quota = governor::Quota::with_period(PROFILE_PERIOD)
            .expect("a non-zero period")
            .allow_burst(std::num::NonZeroU32::new(PROFILE_BURST).expect("non-zero"));
        Assistant {
            cfg,
            model,
            profiles: governor::RateLimiter::keyed(quota),
        }
    }

    /// May bidder `(sale, paddle)` have another rival profile now?
    pub fn allow_profile(&self, sale: u64, paddle: u32) -> bool {
        self.profiles.retain_recent();
        self.profiles.check_key(&(sale, paddle)).is_ok()
    }

    /// Is the assistant turned on here?
    pub fn enabled(&self) -> bool {
        self.cfg.enabled
    }

    /// The model server, when one is configured.
    pub fn model(&self) -> Option<&ModelClient> {
        self.model.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rival_profiles_are_limited_per_bidder() {
        let a = Assistant::new(AssistantConfig::default());
        for _ in 0..PROFILE_BURST {
            assert!(a.allow_profile(1, 7));
        }
        assert!(!a.allow_profile(1, 7), "the burst is spent");
        assert!(a.allow_profile(1, 8), "another bidder is not held back");
    }
}

/// The configured endpoint and the client that talks to it.
pub struct ModelClient {
    url: String,
    model: String,
    key: Option<crate::config::Secret>,
    timeout_ms: u64,
    http: reqwest::Client,
}

/// The parts of a chat-completions reply we read.
#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

impl ModelClient {
    /// A client for `cfg.endpoint` (which validation checked is a URL).
    pub fn new(cfg: &AssistantConfig) -> ModelClient {
        let base = cfg.endpoint.clone().unwrap_or_default();
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .connect_timeout(Duration::from_millis(cfg.timeout_ms));
        // This build has no built-in roots: an https endpoint is checked
        // against the machine's CA bundle (add a venue CA there with
        // update-ca-certificates).
        if base.starts_with("https:") {
            let certs = std::fs::read(SYSTEM_CA_BUNDLE)
                .ok()
                .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok())
                .unwrap_or_default();
            builder = certs
                .into_iter()
                .fold(builder, |b, c| b.add_root_certificate(c));
        }
        let http = builder.build().unwrap_or_default();
        ModelClient {
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            model: cfg.model.clone(),
            key: cfg.api_key.clone(),
            timeout_ms: cfg.timeout_ms,
            http,
        }
    }

    /// The model name sent, for notes.
    pub fn name(&self) -> &str {
        &self.model
    }

    /// Send `messages` (OpenAI chat format), asking for a JSON object when
    /// `json_answer`; return the first choice's text.
    pub async fn chat(&self, messages: Value, json_answer: bool) -> Result<String, ModelError> {
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "temperature": 0.2,
            "max_tokens": 400,
            "stream": false,
        });
        if json_answer {
            body["response_format"] = json!({"type": "json_object"});
        }
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(key) = &self.key {
            req = req.bearer_auth(key.expose());
        }
        let deadline = Duration::from_millis(self.timeout_ms);
        let answer = tokio::time::timeout(deadline, async {
            let resp = req.send().await.map_err(|e| self.transport(e))?;
            if !resp.status().is_success() {
                return Err(ModelError::Status(resp.status().as_u16()));
            }
            let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
            if bytes.len() > MAX_ANSWER_BYTES {
                return Err(ModelError::Garbage(format!(
                    "{} bytes, more than the {MAX_ANSWER_BYTES} expected",
                    bytes.len()
                )));
            }
            Ok(bytes)
        })
        .await
        .map_err(|_| ModelError::Timeout(self.timeout_ms))??;
        let completion: Completion = serde_json::from_slice(&answer)
            .map_err(|e| ModelError::Garbage(format!("not a chat completion ({e})")))?;
        completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| ModelError::Garbage("no text in the first choice".into()))
    }

    fn transport(&self, e: reqwest::Error) -> ModelError {
        if e.is_timeout() {
            ModelError::Timeout(self.timeout_ms)
        } else if e.is_connect() {
            ModelError::Unreachable("connection refused or no route".into())
        } else {
            ModelError::Unreachable(e.without_url().to_string())
        }
    }
}
