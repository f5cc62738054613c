//! The flags (and their `PADDLE_*` variables) that override the config file.
//!
//! Every field is an `Option` with no clap default: an absent flag must not
//! hide the file's value. The defaults shown in `--help` are written out by
//! hand and checked against [`Config::default`] by a test. Naming rule, kept
//! for every key: TOML `section.key` ↔ flag `--section-key` ↔ variable
//! `PADDLE_SECTION_KEY`.

// Doc comments on arguments are clap's help text, written for a terminal
// (`<redacted>`, bare URLs), not for rustdoc.
#![allow(rustdoc::bare_urls, rustdoc::invalid_html_tags)]

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::{Config, LogFormat, PeerAddr, Secret};

/// Node settings shared by `paddle serve` and `paddle config show`.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// TOML config file; PADDLE_* variables and flags override its values
    #[arg(long, short = 'c', env = "PADDLE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory for the node's database, certificates and tokens [default: ./paddle-data]
    #[arg(long, env = "PADDLE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// TCP address for the web UI, API and WebSockets [default: 127.0.0.1:8080]
    #[arg(
        long,
        visible_alias = "http",
        env = "PADDLE_HTTP_ADDR",
        value_name = "IP:PORT"
    )]
    pub http_addr: Option<SocketAddr>,

    /// UDP address for QUIC traffic between nodes [default: 127.0.0.1:7080]
    #[arg(
        long,
        visible_alias = "raft",
        env = "PADDLE_RAFT_ADDR",
        value_name = "IP:PORT"
    )]
    pub raft_addr: Option<SocketAddr>,

    /// HTTP address browsers and other nodes should use (needed when binding 0.0.0.0) [default: the --http-addr]
    #[arg(long, env = "PADDLE_ADVERTISE_HTTP", value_name = "HOST:PORT")]
    pub advertise_http: Option<PeerAddr>,

    /// QUIC address other nodes should use (needed when binding 0.0.0.0) [default: the --raft-addr]
    #[arg(long, env = "PADDLE_ADVERTISE_RAFT", value_name = "HOST:PORT")]
    pub advertise_raft: Option<PeerAddr>,

    /// PEM certificate (chain) to serve HTTPS and WSS with, e.g. from `paddle cluster cert`; needs --tls-key
    #[arg(long, env = "PADDLE_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert
    #[arg(long, env = "PADDLE_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// With TLS: plain-HTTP address answering every request with a 308 to HTTPS, e.g. 0.0.0.0:80
    #[arg(long, env = "PADDLE_HTTP_REDIRECT_ADDR", value_name = "IP:PORT")]
    pub http_redirect_addr: Option<SocketAddr>,

    /// Join the cluster of the node with this QUIC address (first start only; needs --token)
    #[arg(long, env = "PADDLE_JOIN", value_name = "HOST:PORT")]
    pub join: Option<PeerAddr>,

    /// Join token printed by the cluster; prefer PADDLE_TOKEN or the file: flags show up in `ps`
    #[arg(
        long,
        env = "PADDLE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<Secret>,

    /// Log line format on stderr [default: human]
    #[arg(long, env = "PADDLE_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Log filter, e.g. info or info,paddle_consensus=debug; RUST_LOG is honoured below this [default: info,openraft=warn]
    #[arg(long, env = "PADDLE_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    #[command(flatten)]
    pub raft: RaftArgs,

    #[command(flatten)]
    pub clock: ClockArgs,

    #[command(flatten)]
    pub limits: LimitsArgs,

    #[command(flatten)]
    pub assistant: AssistantArgs,
}

/// Overrides for `[assistant]`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Assistant ([assistant] in the config file)")]
pub struct AssistantArgs {
    /// Turn on lot suggestions, lot introductions and rival profiles [default: false]
    #[arg(
        long = "assistant-enabled",
        env = "PADDLE_ASSISTANT_ENABLED",
        value_name = "BOOL"
    )]
    pub enabled: Option<bool>,

    /// Base URL of an OpenAI-compatible model server on the venue network, e.g. http://10.0.0.9:8080/v1 [default: none, templates only]
    #[arg(
        long = "assistant-endpoint",
        env = "PADDLE_ASSISTANT_ENDPOINT",
        value_name = "URL"
    )]
    pub endpoint: Option<String>,

    /// Model name sent to the endpoint [default: local]
    #[arg(
        long = "assistant-model",
        env = "PADDLE_ASSISTANT_MODEL",
        value_name = "NAME"
    )]
    pub model: Option<String>,

    /// Bearer key for the endpoint; prefer PADDLE_ASSISTANT_API_KEY: flags show up in `ps`
    #[arg(
        long = "assistant-api-key",
        env = "PADDLE_ASSISTANT_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub api_key: Option<Secret>,

    /// Longest wait for one model answer before the fallback answers [default: 8000]
    #[arg(
        long = "assistant-timeout-ms",
        env = "PADDLE_ASSISTANT_TIMEOUT_MS",
        value_name = "MS"
    )]
    pub timeout_ms: Option<u64>,
}

/// Overrides for `[raft]`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Consensus ([raft] in the config file)")]
pub struct RaftArgs {
    /// Leader heartbeat interval; also the append RPC timeout [default: 50]
    #[arg(
        long = "raft-heartbeat-ms",
        env = "PADDLE_RAFT_HEARTBEAT_MS",
        value_name = "MS"
    )]
    pub heartbeat_ms: Option<u64>,

    /// Shortest election timeout, at least 3x the heartbeat [default: 150]
    #[arg(
        long = "raft-election-timeout-min-ms",
        env = "PADDLE_RAFT_ELECTION_TIMEOUT_MIN_MS",
        value_name = "MS"
    )]
    pub election_timeout_min_ms: Option<u64>,

    /// Longest election timeout [default: 300]
    #[arg(
        long = "raft-election-timeout-max-ms",
        env = "PADDLE_RAFT_ELECTION_TIMEOUT_MAX_MS",
        value_name = "MS"
    )]
    pub election_timeout_max_ms: Option<u64>,

    /// Snapshot after this many logs since the last snapshot [default: 10000]
    #[arg(
        long = "raft-snapshot-logs",
        env = "PADDLE_RAFT_SNAPSHOT_LOGS",
        value_name = "N"
    )]
    pub snapshot_logs: Option<u64>,

    /// Most log entries per append request [default: 64]
    #[arg(
        long = "raft-max-payload-entries",
        env = "PADDLE_RAFT_MAX_PAYLOAD_ENTRIES",
        value_name = "N"
    )]
    pub max_payload_entries: Option<u64>,

    /// Largest frame between nodes; bigger ones are refused [default: 16777216]
    #[arg(
        long = "raft-frame-cap-bytes",
        env = "PADDLE_RAFT_FRAME_CAP_BYTES",
        value_name = "BYTES"
    )]
    pub frame_cap_bytes: Option<u64>,

    /// Deadline for sending one snapshot chunk [default: 5000]
    #[arg(
        long = "raft-install-snapshot-timeout-ms",
        env = "PADDLE_RAFT_INSTALL_SNAPSHOT_TIMEOUT_MS",
        value_name = "MS"
    )]
    pub install_snapshot_timeout_ms: Option<u64>,

    /// Snapshot chunk size sent to a lagging node [default: 1048576]
    #[arg(
        long = "raft-snapshot-chunk-bytes",
        env = "PADDLE_RAFT_SNAPSHOT_CHUNK_BYTES",
        value_name = "BYTES"
    )]
    pub snapshot_chunk_bytes: Option<u64>,

    /// Logs kept behind a snapshot for slightly lagging nodes [default: 1000]
    #[arg(
        long = "raft-keep-logs-after-snapshot",
        env = "PADDLE_RAFT_KEEP_LOGS_AFTER_SNAPSHOT",
        value_name = "N"
    )]
    pub keep_logs_after_snapshot: Option<u64>,

    /// Voters in the cluster (odd); nodes joining beyond this stay learners [default: 5]
    #[arg(
        long = "raft-max-voters",
        env = "PADDLE_RAFT_MAX_VOTERS",
        value_name = "N"
    )]
    pub max_voters: Option<u64>,

    /// How long a proposal waits for its commit before its outcome is "unknown" [default: 5000]
    #[arg(
        long = "raft-propose-timeout-ms",
        env = "PADDLE_RAFT_PROPOSE_TIMEOUT_MS",
        value_name = "MS"
    )]
    pub propose_timeout_ms: Option<u64>,

    /// Times a follower re-forwards a proposal when the leader changes [default: 5]
    #[arg(
        long = "raft-forward-retries",
        env = "PADDLE_RAFT_FORWARD_RETRIES",
        value_name = "N"
    )]
    pub forward_retries: Option<u32>,

    /// Largest request from a peer without a certificate (a joining node) [default: 8192]
    #[arg(
        long = "raft-anonymous-frame-cap-bytes",
        env = "PADDLE_RAFT_ANONYMOUS_FRAME_CAP_BYTES",
        value_name = "BYTES"
    )]
    pub anonymous_frame_cap_bytes: Option<u64>,

    /// Requests open at once on one connection without a certificate [default: 4]
    #[arg(
        long = "raft-anonymous-streams",
        env = "PADDLE_RAFT_ANONYMOUS_STREAMS",
        value_name = "N"
    )]
    pub anonymous_streams: Option<u32>,

    /// Connections without a certificate open at once [default: 8]
    #[arg(
        long = "raft-anonymous-connections",
        env = "PADDLE_RAFT_ANONYMOUS_CONNECTIONS",
        value_name = "N"
    )]
    pub anonymous_connections: Option<u32>,

    /// New connections without a certificate admitted per second [default: 4]
    #[arg(
        long = "raft-anonymous-connects-per-second",
        env = "PADDLE_RAFT_ANONYMOUS_CONNECTS_PER_SECOND",
        value_name = "N"
    )]
    pub anonymous_connects_per_second: Option<u32>,
}

/// Overrides for `[limits]`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "API limits ([limits] in the config file)")]
pub struct LimitsArgs {
    /// Largest WebSocket message from a client [default: 4096]
    #[arg(
        long = "limits-ws-max-message-bytes",
        env = "PADDLE_LIMITS_WS_MAX_MESSAGE_BYTES",
        value_name = "BYTES"
    )]
    pub ws_max_message_bytes: Option<usize>,

    /// WebSocket buffer per connection; small keeps idle connections cheap [default: 1024]
    #[arg(
        long = "limits-ws-buffer-bytes",
        env = "PADDLE_LIMITS_WS_BUFFER_BYTES",
        value_name = "BYTES"
    )]
    pub ws_buffer_bytes: Option<usize>,

    /// Open WebSocket connections this node accepts [default: 10000]
    #[arg(
        long = "limits-max-connections",
        env = "PADDLE_LIMITS_MAX_CONNECTIONS",
        value_name = "N"
    )]
    pub max_connections: Option<usize>,

    /// Sales one connection may follow at once [default: 16]
    #[arg(
        long = "limits-max-subscriptions-per-connection",
        env = "PADDLE_LIMITS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        value_name = "N"
    )]
    pub max_subscriptions_per_connection: Option<usize>,

    /// Bids per second from one connection [default: 10]
    #[arg(
        long = "limits-bids-per-second-per-connection",
        env = "PADDLE_LIMITS_BIDS_PER_SECOND_PER_CONNECTION",
        value_name = "N"
    )]
    pub bids_per_second_per_connection: Option<u32>,

    /// Bids per second from one bidder on this node, over all its connections to it [default: 5]
    #[arg(
        long = "limits-bids-per-second-per-bidder",
        env = "PADDLE_LIMITS_BIDS_PER_SECOND_PER_BIDDER",
        value_name = "N"
    )]
    pub bids_per_second_per_bidder: Option<u32>,

    /// Self-registrations per minute from one client address (not the desk's) [default: 10]
    #[arg(
        long = "limits-registrations-per-minute-per-address",
        env = "PADDLE_LIMITS_REGISTRATIONS_PER_MINUTE_PER_ADDRESS",
        value_name = "N"
    )]
    pub registrations_per_minute_per_address: Option<u32>,

    /// Self-registrations per minute into one sale from all addresses [default: 300]
    #[arg(
        long = "limits-registrations-per-minute-per-sale",
        env = "PADDLE_LIMITS_REGISTRATIONS_PER_MINUTE_PER_SALE",
        value_name = "N"
    )]
    pub registrations_per_minute_per_sale: Option<u32>,

    /// Largest HTTP request body, CSV imports included [default: 1048576]
    #[arg(
        long = "limits-http-body-bytes",
        env = "PADDLE_LIMITS_HTTP_BODY_BYTES",
        value_name = "BYTES"
    )]
    pub http_body_bytes: Option<usize>,

    /// Open HTTP connections (WebSockets not counted once upgraded); more are refused with 503 [default: 1024]
    #[arg(
        long = "limits-max-http-connections",
        env = "PADDLE_LIMITS_MAX_HTTP_CONNECTIONS",
        value_name = "N"
    )]
    pub max_http_connections: Option<usize>,

    /// Time to send a request head, from connect or the previous response (so also the keep-alive idle timeout) [default: 10000]
    #[arg(
        long = "limits-http-header-timeout-ms",
        env = "PADDLE_LIMITS_HTTP_HEADER_TIMEOUT_MS",
        value_name = "MS"
    )]
    pub http_header_timeout_ms: Option<u64>,

    /// Time to send a whole request body [default: 30000]
    #[arg(
        long = "limits-http-body-timeout-ms",
        env = "PADDLE_LIMITS_HTTP_BODY_TIMEOUT_MS",
        value_name = "MS"
    )]
    pub http_body_timeout_ms: Option<u64>,

    /// Comma-separated web origins allowed to open WebSockets and call the API, e.g. https://screen.venue:8443 [default: same origin only]
    #[arg(
        long = "limits-allowed-origins",
        env = "PADDLE_LIMITS_ALLOWED_ORIGINS",
        value_name = "ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Option<Vec<String>>,
}

/// Overrides for `[clock]`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Cluster time ([clock] in the config file)")]
pub struct ClockArgs {
    /// A node whose clock is further than this from cluster time is flagged [default: 1000]
    #[arg(
        long = "clock-max-skew-ms",
        env = "PADDLE_CLOCK_MAX_SKEW_MS",
        value_name = "MS"
    )]
    pub max_skew_ms: Option<u64>,

    /// How often each node measures the other members' clocks [default: 500]
    #[arg(
        long = "clock-sample-interval-ms",
        env = "PADDLE_CLOCK_SAMPLE_INTERVAL_MS",
        value_name = "MS"
    )]
    pub sample_interval_ms: Option<u64>,
}

impl ConfigArgs {
    /// Writes every value given by a flag or variable over `config`.
    pub fn apply(&self, config: &mut Config) {
        set(&mut config.data_dir, &self.data_dir);
        set(&mut config.http_addr, &self.http_addr);
        set(&mut config.raft_addr, &self.raft_addr);
        set_some(&mut config.advertise_http, &self.advertise_http);
        set_some(&mut config.advertise_raft, &self.advertise_raft);
        set_some(&mut config.tls_cert, &self.tls_cert);
        set_some(&mut config.tls_key, &self.tls_key);
        set_some(&mut config.http_redirect_addr, &self.http_redirect_addr);
        set_some(&mut config.join, &self.join);
        set_some(&mut config.token, &self.token);
        set(&mut config.log_format, &self.log_format);
        set(&mut config.log, &self.log);

        let (r, a) = (&mut config.raft, &self.raft);
        set(&mut r.heartbeat_ms, &a.heartbeat_ms);
        set(&mut r.election_timeout_min_ms, &a.election_timeout_min_ms);
        set(&mut r.election_timeout_max_ms, &a.election_timeout_max_ms);
        set(&mut r.snapshot_logs, &a.snapshot_logs);
        set(&mut r.max_payload_entries, &a.max_payload_entries);
        set(&mut r.frame_cap_bytes, &a.frame_cap_bytes);
        set(
            &mut r.install_snapshot_timeout_ms,
            &a.install_snapshot_timeout_ms,
        );
        set(&mut r.snapshot_chunk_bytes, &a.snapshot_chunk_bytes);
        set(&mut r.keep_logs_after_snapshot, &a.keep_logs_after_snapshot);
        set(&mut r.max_voters, &a.max_voters);
        set(&mut r.propose_timeout_ms, &a.propose_timeout_ms);
        set(&mut r.forward_retries, &a.forward_retries);
        set(
            &mut r.anonymous_frame_cap_bytes,
            &a.anonymous_frame_cap_bytes,
        );
        set(&mut r.anonymous_streams, &a.anonymous_streams);
        set(&mut r.anonymous_connections, &a.anonymous_connections);
        set(
            &mut r.anonymous_connects_per_second,
            &a.anonymous_connects_per_second,
        );

        let (k, a) = (&mut config.clock, &self.clock);
        set(&mut k.max_skew_ms, &a.max_skew_ms);
        set(&mut k.sample_interval_ms, &a.sample_interval_ms);

        let (l, a) = (&mut config.limits, &self.limits);
        set(&mut l.ws_max_message_bytes, &a.ws_max_message_bytes);
        set(&mut l.ws_buffer_bytes, &a.ws_buffer_bytes);
        set(&mut l.max_connections, &a.max_connections);
        set(
            &mut l.max_subscriptions_per_connection,
            &a.max_subscriptions_per_connection,
        );
        set(
            &mut l.bids_per_second_per_connection,
            &a.bids_per_second_per_connection,
        );
        set(
            &mut l.bids_per_second_per_bidder,
            &a.bids_per_second_per_bidder,
        );
        set(&mut l.http_body_bytes, &a.http_body_bytes);
        set(
            &mut l.registrations_per_minute_per_address,
            &a.registrations_per_minute_per_address,
        );
        set(
            &mut l.registrations_per_minute_per_sale,
            &a.registrations_per_minute_per_sale,
        );
        set(&mut l.max_http_connections, &a.max_http_connections);
        set(&mut l.http_header_timeout_ms, &a.http_header_timeout_ms);
        set(&mut l.http_body_timeout_ms, &a.http_body_timeout_ms);
        set(&mut l.allowed_origins, &a.allowed_origins);

        let (s, a) = (&mut config.assistant, &self.assistant);
        set(&mut s.enabled, &a.enabled);
        set_some(&mut s.endpoint, &a.endpoint);
        set(&mut s.model, &a.model);
        set_some(&mut s.api_key, &a.api_key);
        set(&mut s.timeout_ms, &a.timeout_ms);
    }
}

/// Overwrites `slot` when the override is present.
fn set<T: Clone>(slot: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *slot = v.clone();
    }
}

/// Overwrites an optional `slot` when the override is present.
fn set_some<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        *slot = value.clone();
    }
}
