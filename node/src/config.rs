//! The node's one configuration struct, and where its values come from.
//!
//! # Layers
//!
//! A value is looked up in four layers; a higher layer wins:
//!
//! 1. the defaults below (a newcomer runs `paddle serve` with no flags);
//! 2. an optional TOML file (`--config FILE` or `PADDLE_CONFIG`), grouped in
//!    sections `[raft]`, `[clock]`, `[limits]` and `[assistant]`; unknown keys are errors, so a typo
//!    never silently falls back to a default;
//! 3. environment variables `PADDLE_<SECTION>_<KEY>` (`PADDLE_HTTP_ADDR`,
//!    `PADDLE_RAFT_HEARTBEAT_MS`, `PADDLE_LIMITS_MAX_CONNECTIONS`); for the
//!    log filter `RUST_LOG` is honoured below `PADDLE_LOG`; an empty
//!    variable counts as unset (`main` drops those before clap parses);
//! 4. command-line flags `--<section>-<key>` (`--http-addr`,
//!    `--raft-heartbeat-ms`, `--limits-max-connections`).
//!
//! Layers 3 and 4 are parsed by clap ([`ConfigArgs`]); [`Config::load`]
//! stacks them on the file and validates the result once, before anything
//! starts. [`Config::show`] prints the effective result with secrets
//! redacted.

mod addr;
mod args;
mod assistant;
mod secret;
pub mod tls;
mod validate;

#[cfg(test)]
pub(crate) mod tests;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use addr::{AddrError, PeerAddr};
pub use args::{AssistantArgs, ClockArgs, ConfigArgs, LimitsArgs, RaftArgs};
pub use assistant::AssistantConfig;
/// `[raft]` and `[clock]` are consensus's own settings, as it takes them.
pub use paddle_consensus::{ClockConfig, RaftConfig};
pub use secret::{Secret, SecretError, OPERATOR_TOKEN_FILE, REDACTED};
pub use validate::{ConfigError, Problem};

/// One kibibyte, for the byte-sized defaults and limits.
pub const KIB: u64 = 1024;
/// One mebibyte.
pub const MIB: u64 = 1024 * KIB;

/// Everything a node needs to start, validated. Built by [`Config::load`];
/// `serve` reads it and never looks at flags or environment itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the node keeps its sled database, certificates and tokens.
    pub data_dir: PathBuf,
    /// TCP address the HTTP/WebSocket server binds.
    pub http_addr: SocketAddr,
    /// UDP address the QUIC (Raft) endpoint binds.
    pub raft_addr: SocketAddr,
    /// HTTP address given to browsers and other nodes; defaults to
    /// `http_addr`, and must be set when that is 0.0.0.0 or `::`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertise_http: Option<PeerAddr>,
    /// QUIC address given to other nodes; defaults to `raft_addr`, and must
    /// be set when that is 0.0.0.0 or `::`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertise_raft: Option<PeerAddr>,
    /// PEM certificate chain for HTTPS (leaf first), e.g. from `paddle
    /// cluster cert`. With `tls_key`, the node serves HTTPS and WSS on
    /// `http_addr` instead of plain HTTP, so tokens never cross the venue
    /// network in clear.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert` (keep it 0600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// With TLS on: a plain-HTTP address (e.g. 0.0.0.0:80) that answers
    /// every request with a 308 to the same path over HTTPS, for people who
    /// type the bare address. Plain HTTP on the TLS port itself is refused
    /// by the handshake; it cannot be redirected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_redirect_addr: Option<SocketAddr>,
    /// QUIC address of any node of an existing cluster to join. Without it
    /// an empty data dir bootstraps a new one-node cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join: Option<PeerAddr>,
    /// Join token printed by the cluster (required with `join`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// `human` for people at a terminal, `json` for log collectors.
    pub log_format: LogFormat,
    /// tracing filter, e.g. `info` or `info,paddle_consensus=debug`.
    pub log: String,
    /// Consensus timing, batching, snapshots and voters.
    pub raft: RaftConfig,
    /// Cluster time: how far a node's clock may be off before it is flagged,
    /// and how often the nodes measure each other's clocks.
    pub clock: ClockConfig,
    /// Caps on what the public API accepts.
    pub limits: LimitsConfig,
    /// The venue-local assistant (off by default).
    pub assistant: AssistantConfig,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines, coloured on a terminal.
    #[default]
    Human,
    /// One JSON object per line, for journald/Loki/Elastic.
    Json,
}

/// Caps on the public API, per node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest WebSocket message accepted from a client.
    pub ws_max_message_bytes: usize,
    /// WebSocket read buffer per connection: the chunk a read fills; a
    /// longer message still arrives whole (up to the message cap). axum's
    /// default of 128 KiB costs ~135 KiB per idle connection; 1 KiB holds a
    /// bid (~200 bytes) and measured 7.3 KiB per idle connection in all.
    pub ws_buffer_bytes: usize,
    /// Open WebSocket connections accepted by this node.
    pub max_connections: usize,
    /// Sales one connection may follow at once.
    pub max_subscriptions_per_connection: usize,
    /// Bids per second accepted from one connection.
    pub bids_per_second_per_connection: u32,
    /// Bids per second accepted from one bidder on this node, over all its
    /// connections to it and REST (each node counts on its own).
    pub bids_per_second_per_bidder: u32,
    /// Largest HTTP request body (CSV lot imports included). Every body is
    /// read whole, up to this, before a handler runs, chunked or not.
    pub http_body_bytes: usize,
    /// Self-registrations per minute from one client address (staff at
    /// the desk are not counted): each one is permanent replicated state.
    pub registrations_per_minute_per_address: u32,
    /// Self-registrations per minute into one sale, from all addresses.
    pub registrations_per_minute_per_sale: u32,
    /// Open HTTP connections (not yet upgraded to WebSocket) this node
    /// serves at once; further ones get a `503 too_many_connections` and
    /// are closed. An upgraded connection gives its slot back and counts
    /// under `max_connections` instead.
    pub max_http_connections: usize,
    /// Time a connection has to send a whole request head, counted from
    /// when it opens or its previous response is sent: so it is also the
    /// keep-alive idle timeout (hyper runs one timer for both). Then hyper
    /// answers `408` and closes the connection.
    pub http_header_timeout_ms: u64,
    /// Time a client has to send a whole request body; then `408
    /// body_timeout`. Does not apply to WebSockets once upgraded.
    pub http_body_timeout_ms: u64,
    /// Origins (`https://host[:port]`) allowed for WebSocket and CORS
    /// besides the advertised addresses of this node and the other
    /// members (never the request's `Host`): the names bidders type when
    /// they differ from the advertised addresses.
    pub allowed_origins: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./paddle-data"),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            raft_addr: SocketAddr::from(([127, 0, 0, 1], 7080)),
            advertise_http: None,
            advertise_raft: None,
            tls_cert: None,
            tls_key: None,
            http_redirect_addr: None,
            join: None,
            token: None,
            log_format: LogFormat::Human,
            log: "info,openraft=warn".to_owned(),
            raft: RaftConfig::default(),
            clock: ClockConfig::default(),
            limits: LimitsConfig::default(),
            assistant: AssistantConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            ws_max_message_bytes: 4096,
            ws_buffer_bytes: 1024,
            max_connections: 10_000,
            max_subscriptions_per_connection: 16,
            bids_per_second_per_connection: 10,
            bids_per_second_per_bidder: 5,
            http_body_bytes: MIB as usize,
            registrations_per_minute_per_address: 10,
            registrations_per_minute_per_sale: 300,
            max_http_connections: 1024,
            http_header_timeout_ms: 10_000,
            http_body_timeout_ms: 30_000,
            allowed_origins: Vec::new(),
        }
    }
}

impl Config {
    /// Builds the effective config from the file, the environment and the
    /// flags that clap parsed into `args`, and validates it. `RUST_LOG` is
    /// read here; everything else of the environment came through clap.
    pub fn load(args: &ConfigArgs) -> Result<Config, ConfigError> {
        let rust_log = std::env::var("RUST_LOG")
            .ok()
            .filter(|v| !v.trim().is_empty());
        Config::resolve(args, rust_log)
    }

    /// [`Config::load`] with `RUST_LOG` passed in, so tests need not touch
    /// the process environment.
    pub fn resolve(args: &ConfigArgs, rust_log: Option<String>) -> Result<Config, ConfigError> {
        let mut config = match &args.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(filter) = rust_log {
            config.log = filter;
        }
        args.apply(&mut config);
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML file over the defaults, without validating: a file may
    /// rely on flags or environment to complete it.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text).map_err(|message| ConfigError::ParseFile {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses TOML text over the defaults; the error names line and key.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }

    /// The effective config as TOML, for `paddle config show`: every key,
    /// secrets as `<redacted>`, and the derived advertise addresses noted.
    /// Feeding it back as a file gives the same config (once real secrets
    /// are put back in place of the placeholder).
    pub fn show(&self) -> String {
        let mut out = String::from(
            "# Effective paddle configuration: defaults < file < PADDLE_* environment < flags.\n\
             # Secrets are shown as \"<redacted>\".\n",
        );
        if self.advertise_http.is_none() {
            out.push_str(&format!(
                "# advertise_http is unset: others are told {}\n",
                advertised_or_bind(&self.advertise_http, self.http_addr)
            ));
        }
        if self.advertise_raft.is_none() {
            out.push_str(&format!(
                "# advertise_raft is unset: others are told {}\n",
                advertised_or_bind(&self.advertise_raft, self.raft_addr)
            ));
        }
        if self.join.is_none() {
            out.push_str(
                "# join is unset: an empty data dir bootstraps a new cluster; \
                 an existing one resumes\n",
            );
        }
        out.push('\n');
        // Serializing plain data (strings, integers, arrays, tables) to TOML
        // cannot fail; the fallback only guards against a future field type.
        match toml::to_string(self) {
            Ok(text) => out.push_str(&text),
            Err(e) => out.push_str(&format!("# cannot render the config as TOML: {e}\n")),
        }
        out
    }

    /// The HTTP address to announce, given the socket actually bound (which
    /// differs from `http_addr` when that asks for port 0).
    pub fn advertised_http(&self, bound: SocketAddr) -> Result<PeerAddr, AddrError> {
        match &self.advertise_http {
            Some(addr) => Ok(addr.clone()),
            None => PeerAddr::from_socket(bound),
        }
    }

    /// The QUIC address to announce, given the socket actually bound.
    pub fn advertised_raft(&self, bound: SocketAddr) -> Result<PeerAddr, AddrError> {
        match &self.advertise_raft {
            Some(addr) => Ok(addr.clone()),
            None => PeerAddr::from_socket(bound),
        }
    }

    /// True when the node serves HTTPS (both files are set; validation
    /// refuses one without the other).
    pub fn tls_on(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    /// `https` with TLS on, else `http`: the scheme of this node's pages.
    pub fn http_scheme(&self) -> &'static str {
        if self.tls_on() {
            "https"
        } else {
            "http"
        }
    }

    /// Where the operator token lives in this node's data dir.
    pub fn operator_token_path(&self) -> PathBuf {
        self.data_dir.join(OPERATOR_TOKEN_FILE)
    }
}

/// Text for the advertise comment in [`Config::show`].
fn advertised_or_bind(advertise: &Option<PeerAddr>, bind: SocketAddr) -> String {
    match advertise {
        Some(addr) => addr.to_string(),
        None if bind.port() == 0 => format!("{} with the port picked at bind", bind.ip()),
        None => bind.to_string(),
    }
}
