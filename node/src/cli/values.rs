//! Typed values of command-line arguments that no other crate defines yet:
//! node URLs, typed amounts and ids. Parsing here means a typo is a usage
//! error (exit 2) before any command runs.

use std::fmt;
use std::str::FromStr;

/// The base URL of a node's HTTP API. `10.0.0.5:8080` is accepted and
/// means `http://10.0.0.5:8080/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeUrl(reqwest::Url);

impl NodeUrl {
    /// The URL, ending in `/`, to join API paths onto.
    pub fn url(&self) -> &reqwest::Url {
        &self.0
    }
}

impl fmt::Display for NodeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl FromStr for NodeUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = if s.contains("://") {
            s.to_owned()
        } else {
            format!("http://{s}")
        };
        let url = reqwest::Url::parse(&text).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("use an http:// or https:// URL of the node's HTTP port".into());
        }
        if url.host().is_none() {
            return Err("the URL has no host".into());
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err("give the node's base URL only, e.g. http://10.0.0.5:8080".into());
        }
        Ok(NodeUrl(url))
    }
}

/// A money amount as typed: digits with an optional decimal part. Turned
/// into exact minor units only against the sale's currency (which knows
/// how many decimals are allowed), so no float ever touches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount(String);

impl Amount {
    /// The decimal text, e.g. `12.50`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Amount {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if s.len() > 32 || !digits(whole) || frac.is_some_and(|f| !digits(f)) {
            return Err(
                "write the amount as plain digits with an optional decimal point, \
                        e.g. 12.50 (no sign, exponent or thousands separator)"
                    .into(),
            );
        }
        Ok(Amount(s.to_owned()))
    }
}

/// Sale, lot and bid ids: one printable word of at most 128 bytes.
pub(super) fn parse_id(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 128 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("an id is one word of 1 to 128 printable characters".into());
    }
    Ok(s.to_owned())
}
