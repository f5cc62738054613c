//! `[assistant]`: the venue-local auction assistant (appraiser, auctioneer
//! voice, rival profiles), off by default. With an `endpoint` it asks an
//! OpenAI-compatible model server on the venue network (llama.cpp's
//! `llama-server`, vLLM); without one, or whenever that server fails, it
//! falls back to deterministic answers built from the cluster's own state.

use serde::{Deserialize, Serialize};

use super::validate::Checker;
use super::Secret;

/// The assistant's settings. Each node uses its own: the leader's decides
/// lot introductions, the answering node's decides a suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssistantConfig {
    /// Turn the assistant on: lot suggestions, lot introductions and rival
    /// profiles. Off, those routes answer `409 assistant_off` and no lot
    /// is introduced.
    pub enabled: bool,
    /// Base URL of an OpenAI-compatible server, e.g.
    /// `http://10.0.0.9:8080/v1` (`/chat/completions` is appended). None:
    /// the deterministic fallbacks only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Model name sent with each request (llama.cpp ignores it).
    pub model: String,
    /// Bearer key for the endpoint, if it wants one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// How long one model request may take before the fallback answers.
    pub timeout_ms: u64,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        AssistantConfig {
            enabled: false,
            endpoint: None,
            model: "local".to_owned(),
            api_key: None,
            timeout_ms: 8_000,
        }
    }
}

impl AssistantConfig {
    pub(super) fn check(&self, c: &mut Checker) {
        if let Some(endpoint) = &self.endpoint {
            if let Err(reason) = check_endpoint(endpoint) {
                c.fail("assistant.endpoint", format!("{endpoint:?}"), reason);
            }
        }
        if self.model.trim().is_empty() || self.model.len() > 200 {
            c.fail(
                "assistant.model",
                format!("{:?}", self.model),
                "must name a model in 1 to 200 characters (llama.cpp accepts any)",
            );
        }
        if self.api_key.is_some() && self.endpoint.is_none() {
            c.fail(
                "assistant.api_key",
                super::REDACTED,
                "is only sent to an endpoint; set assistant.endpoint or remove the key",
            );
        }
        c.range("assistant.timeout_ms", self.timeout_ms, 100, 120_000, "ms");
    }
}

/// An endpoint is an http(s) URL with a host and no query, fragment or
/// credentials (the key goes in `api_key`).
fn check_endpoint(endpoint: &str) -> Result<(), String> {
    const HINT: &str = "give the server's base URL, e.g. http://10.0.0.9:8080/v1";
    let url = reqwest::Url::parse(endpoint).map_err(|e| format!("is not a URL ({e}); {HINT}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must use http or https; {HINT}"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("has no host; {HINT}"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("must not have a query or fragment; {HINT}"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "must not carry credentials (put the key in assistant.api_key); {HINT}"
        ));
    }
    Ok(())
}
