//! Tests of the config layers, validation, redaction and `show`.

// Tests start from the defaults and break one value at a time, on purpose.
#![allow(clippy::field_reassign_with_default)]

use std::ffi::OsString;
use std::sync::{Mutex, MutexGuard};

use clap::{CommandFactory, Parser};

use super::*;

/// Serialises tests that read or write `PADDLE_*`/`RUST_LOG` (clap reads
/// the process environment while parsing). Holding it, the environment
/// starts with none of those variables; dropping it restores them.
pub(crate) struct CleanEnv {
    saved: Vec<(OsString, OsString)>,
    _lock: MutexGuard<'static, ()>,
}

static ENV_LOCK: Mutex<()> = Mutex::new(());

fn ours(name: &OsString) -> bool {
    let name = name.to_string_lossy();
    name.starts_with("PADDLE_") || name == "RUST_LOG"
}

/// Takes the environment lock and clears Paddle's variables.
pub(crate) fn clean_env() -> CleanEnv {
    let lock = ENV_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let saved: Vec<_> = std::env::vars_os().filter(|(k, _)| ours(k)).collect();
    for (k, _) in &saved {
        std::env::remove_var(k);
    }
    CleanEnv { saved, _lock: lock }
}

impl CleanEnv {
    /// Sets a variable for the rest of the test.
    pub(crate) fn set(&self, key: &str, value: &str) {
        std::env::set_var(key, value);
    }
}

impl Drop for CleanEnv {
    fn drop(&mut self) {
        for (k, _) in std::env::vars_os().filter(|(k, _)| ours(k)) {
            std::env::remove_var(k);
        }
        for (k, v) in &self.saved {
            std::env::set_var(k, v);
        }
    }
}

/// The config flags alone, as `serve` and `config show` flatten them.
#[derive(Parser, Debug)]
struct Flags {
    #[command(flatten)]
    args: ConfigArgs,
}

fn parse(argv: &[&str]) -> ConfigArgs {
    let mut full = vec!["paddle"];
    full.extend_from_slice(argv);
    Flags::try_parse_from(full).expect("flags parse").args
}

fn problem_keys(config: &Config) -> Vec<&'static str> {
    match config.validate() {
        Ok(()) => Vec::new(),
        Err(e) => e.problems().iter().map(|p| p.key).collect(),
    }
}

#[test]
fn defaults_are_the_documented_ones_and_valid() {
    let c = Config::default();
    assert_eq!(c.data_dir, PathBuf::from("./paddle-data"));
    assert_eq!(c.http_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(c.raft_addr.to_string(), "127.0.0.1:7080");
    assert_eq!(
        (c.log_format, c.log.as_str()),
        (LogFormat::Human, "info,openraft=warn")
    );
    assert_eq!(c.raft.heartbeat_ms, 50);
    assert_eq!(c.raft.frame_cap_bytes, 16 * MIB);
    assert_eq!(c.limits.http_body_bytes, MIB as usize);
    c.validate().expect("defaults validate");
}

#[test]
fn file_then_env_then_flags() {
    let env = clean_env();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paddle.toml");
    std::fs::write(
        &file,
        "http_addr = \"127.0.0.1:1001\"\nlog = \"error\"\n\
         [raft]\nheartbeat_ms = 200\nelection_timeout_min_ms = 900\nelection_timeout_max_ms = 1800\n\
         propose_timeout_ms = 5000\n[limits]\nmax_connections = 5\n",
    )
    .unwrap();
    env.set("PADDLE_CONFIG", file.to_str().unwrap());
    env.set("PADDLE_HTTP_ADDR", "127.0.0.1:1002");
    env.set("PADDLE_RAFT_HEARTBEAT_MS", "150");
    env.set(
        "PADDLE_LIMITS_ALLOWED_ORIGINS",
        "https://a.example,https://b.example",
    );
    env.set("RUST_LOG", "warn");

    let args = parse(&["--http-addr", "127.0.0.1:1003", "--raft-max-voters", "3"]);
    let c = Config::load(&args).expect("valid");
    assert_eq!(c.http_addr.to_string(), "127.0.0.1:1003", "flag beats env");
    assert_eq!(c.raft.heartbeat_ms, 150, "env beats file");
    assert_eq!(c.raft.election_timeout_min_ms, 900, "file beats default");
    assert_eq!(c.limits.max_connections, 5, "file beats default");
    assert_eq!(c.raft.max_voters, 3, "flag beats default");
    assert_eq!(c.raft.snapshot_logs, 10_000, "default stays");
    assert_eq!(c.log, "warn", "RUST_LOG beats the file");
    assert_eq!(
        c.limits.allowed_origins,
        ["https://a.example", "https://b.example"]
    );

    env.set("PADDLE_LOG", "debug");
    let c = Config::load(&parse(&[])).unwrap();
    assert_eq!(c.log, "debug", "PADDLE_LOG beats RUST_LOG");
    let c = Config::load(&parse(&["--log", "trace"])).unwrap();
    assert_eq!(c.log, "trace", "--log beats PADDLE_LOG");
}

#[test]
fn file_errors_name_the_file_and_key() {
    let missing = Config::from_file(Path::new("/nonexistent/paddle.toml")).unwrap_err();
    assert!(matches!(missing, ConfigError::ReadFile { .. }));
    assert!(missing.to_string().contains("/nonexistent/paddle.toml"));

    let err = Config::from_toml("[raft]\nheartbeat = 100\n").unwrap_err();
    assert!(err.contains("unknown field `heartbeat`"), "{err}");
    let err = Config::from_toml("http_addr = \"localhost\"\n").unwrap_err();
    assert!(err.contains("http_addr"), "{err}");
    let err = Config::from_toml("[limits]\nmax_connections = \"many\"\n").unwrap_err();
    assert!(err.contains("max_connections"), "{err}");
    let err = Config::from_toml("advertise_raft = \"0.0.0.0:7080\"\n").unwrap_err();
    assert!(err.contains("unspecified"), "{err}");
    let err = Config::from_toml("log_format = \"xml\"\n").unwrap_err();
    assert!(err.contains("human"), "{err}");
}

/// One broken value per rule; each must be reported under its key.
#[test]
fn every_rule_names_its_key() {
    type Breaker = fn(&mut Config);
    let join: PeerAddr = "10.0.0.1:7080".parse().unwrap();
    let token: Secret = "join-secret".parse().unwrap();
    let cases: Vec<(&str, Breaker)> = vec![
        ("data_dir", |c| c.data_dir = PathBuf::new()),
        ("http_addr", |c| {
            c.http_addr = "0.0.0.0:8080".parse().unwrap()
        }),
        ("raft_addr", |c| c.raft_addr = "[::]:7080".parse().unwrap()),
        ("log", |c| c.log = "info,paddle=verbose".into()),
        ("raft.heartbeat_ms", |c| c.raft.heartbeat_ms = 5),
        ("raft.election_timeout_min_ms", |c| {
            c.raft.election_timeout_min_ms = 120
        }),
        ("raft.election_timeout_max_ms", |c| {
            c.raft.election_timeout_max_ms = 150
        }),
        ("raft.election_timeout_max_ms", |c| {
            c.raft.election_timeout_max_ms = 70_000;
            c.raft.propose_timeout_ms = 70_000;
        }),
        ("raft.snapshot_logs", |c| c.raft.snapshot_logs = 0),
        ("raft.max_payload_entries", |c| {
            c.raft.max_payload_entries = 0
        }),
        ("raft.frame_cap_bytes", |c| {
            c.raft.frame_cap_bytes = 2048 * MIB
        }),
        ("raft.snapshot_chunk_bytes", |c| {
            c.raft.snapshot_chunk_bytes = 0
        }),
        ("raft.snapshot_chunk_bytes", |c| {
            c.raft.snapshot_chunk_bytes = c.raft.frame_cap_bytes
        }),
        ("raft.install_snapshot_timeout_ms", |c| {
            c.raft.install_snapshot_timeout_ms = 50
        }),
        ("raft.keep_logs_after_snapshot", |c| {
            c.raft.keep_logs_after_snapshot = u64::MAX
        }),
        ("raft.max_voters", |c| c.raft.max_voters = 0),
        ("raft.max_voters", |c| c.raft.max_voters = 4),
        ("raft.max_voters", |c| c.raft.max_voters = 17),
        ("raft.propose_timeout_ms", |c| {
            c.raft.propose_timeout_ms = 250
        }),
        ("raft.forward_retries", |c| c.raft.forward_retries = 1000),
        ("limits.ws_max_message_bytes", |c| {
            c.limits.ws_max_message_bytes = 10
        }),
        ("limits.ws_buffer_bytes", |c| c.limits.ws_buffer_bytes = 0),
        ("limits.max_connections", |c| c.limits.max_connections = 0),
        ("limits.max_subscriptions_per_connection", |c| {
            c.limits.max_subscriptions_per_connection = 0
        }),
        ("limits.bids_per_second_per_connection", |c| {
            c.limits.bids_per_second_per_connection = 0
        }),
        ("limits.bids_per_second_per_bidder", |c| {
            c.limits.bids_per_second_per_bidder = 20_000
        }),
        ("limits.http_body_bytes", |c| c.limits.http_body_bytes = 10),
        ("limits.registrations_per_minute_per_address", |c| {
            c.limits.registrations_per_minute_per_address = 0
        }),
        ("limits.registrations_per_minute_per_sale", |c| {
            c.limits.registrations_per_minute_per_sale = 0
        }),
        ("limits.http_body_bytes", |c| {
            c.limits.http_body_bytes = c.raft.frame_cap_bytes as usize
        }),
        ("limits.allowed_origins", |c| {
            c.limits.allowed_origins = vec!["*".into()]
        }),
        ("limits.allowed_origins", |c| {
            c.limits.allowed_origins = vec!["https://venue.example/".into()]
        }),
        ("limits.allowed_origins", |c| {
            c.limits.allowed_origins = vec!["ftp://venue.example".into()]
        }),
        ("limits.allowed_origins", |c| {
            c.limits.allowed_origins = vec!["venue.example".into()]
        }),
        ("limits.allowed_origins", |c| {
            c.limits.allowed_origins = vec!["https://a.example".into(), "https://a.example".into()]
        }),
        ("assistant.endpoint", |c| {
            c.assistant.endpoint = Some("not a url".into())
        }),
        ("assistant.endpoint", |c| {
            c.assistant.endpoint = Some("ftp://10.0.0.9/v1".into())
        }),
        ("assistant.endpoint", |c| {
            c.assistant.endpoint = Some("http://user:pw@10.0.0.9/v1".into())
        }),
        ("assistant.endpoint", |c| {
            c.assistant.endpoint = Some("http://10.0.0.9/v1?key=1".into())
        }),
        ("assistant.model", |c| c.assistant.model = " ".into()),
        ("assistant.api_key", |c| {
            c.assistant.api_key = Some("k".parse().unwrap())
        }),
        ("assistant.timeout_ms", |c| c.assistant.timeout_ms = 10),
        ("assistant.timeout_ms", |c| c.assistant.timeout_ms = 600_000),
    ];
    for (key, breaker) in cases {
        let mut c = Config::default();
        breaker(&mut c);
        assert_eq!(problem_keys(&c), [key], "breaking {key}");
    }

    // Rules about join and token.
    let mut c = Config::default();
    c.raft_addr = "10.0.0.2:7080".parse().unwrap();
    c.join = Some(join.clone());
    assert_eq!(problem_keys(&c), ["join"], "join without token");
    c.token = Some(token.clone());
    assert!(problem_keys(&c).is_empty());
    c.raft_addr = "127.0.0.1:7080".parse().unwrap();
    assert_eq!(
        problem_keys(&c),
        ["raft_addr"],
        "loopback node joining a LAN address"
    );
    c.advertise_raft = Some(join.clone());
    assert_eq!(problem_keys(&c), ["join"], "joining itself");
    let mut c = Config::default();
    c.token = Some(token);
    assert_eq!(problem_keys(&c), ["token"], "token without join");

    // 0.0.0.0 is fine with explicit advertise addresses.
    let mut c = Config::default();
    c.http_addr = "0.0.0.0:8080".parse().unwrap();
    c.raft_addr = "0.0.0.0:7080".parse().unwrap();
    c.advertise_http = Some("192.168.1.10:8080".parse().unwrap());
    c.advertise_raft = Some("192.168.1.10:7080".parse().unwrap());
    c.limits.allowed_origins = vec![
        "https://screen.venue:8443".into(),
        "http://[::1]:9000".into(),
    ];
    assert!(problem_keys(&c).is_empty(), "{:?}", c.validate());
}

#[test]
fn errors_list_every_problem_with_flag_env_and_value() {
    let mut c = Config::default();
    c.raft.heartbeat_ms = 5;
    c.limits.max_connections = 0;
    let text = c.validate().unwrap_err().to_string();
    assert!(text.starts_with("invalid configuration:"), "{text}");
    assert!(
        text.contains("raft.heartbeat_ms = 5: must be between 10 and 10000 ms"),
        "{text}"
    );
    assert!(
        text.contains(
            "(set with --raft-heartbeat-ms, PADDLE_RAFT_HEARTBEAT_MS or the config file)"
        ),
        "{text}"
    );
    assert!(text.contains("limits.max_connections = 0"), "{text}");
}

#[test]
fn show_redacts_secrets() {
    let mut c = Config::default();
    c.raft_addr = "10.0.0.2:7080".parse().unwrap();
    c.join = Some("10.0.0.1:7080".parse().unwrap());
    c.token = Some("pdl-join-0123456789abcdef".parse().unwrap());
    c.validate().unwrap();
    let shown = c.show();
    assert!(!shown.contains("0123456789abcdef"), "{shown}");
    assert!(shown.contains("token = \"<redacted>\""), "{shown}");
    assert!(format!("{c:?}").contains("<redacted>"));
    assert!(!format!("{c:?}").contains("0123456789abcdef"));

    // Feeding the shown text back refuses the placeholder, naming it.
    let err = Config::from_toml(&shown).unwrap_err();
    assert!(err.contains("placeholder"), "{err}");
}

#[test]
fn show_round_trips() {
    let mut c = Config::default();
    c.data_dir = "/var/lib/paddle".into();
    c.http_addr = "0.0.0.0:80".parse().unwrap();
    c.advertise_http = Some("venue-1.local:80".parse().unwrap());
    c.advertise_raft = Some("[fd00::1]:7080".parse().unwrap());
    c.raft_addr = "[::]:7080".parse().unwrap();
    c.log_format = LogFormat::Json;
    c.log = "info,paddle_consensus=debug".into();
    c.raft.max_voters = 3;
    c.raft.heartbeat_ms = 50;
    c.raft.election_timeout_min_ms = 150;
    c.limits.allowed_origins = vec!["https://screen.venue".into()];
    c.validate().unwrap();
    let shown = c.show();
    assert_eq!(Config::from_toml(&shown).unwrap(), c, "{shown}");
    assert_eq!(
        Config::from_toml(&Config::default().show()).unwrap(),
        Config::default()
    );
    assert!(Config::default()
        .show()
        .contains("advertise_http is unset: others are told 127.0.0.1:8080"));
}

/// Flattens a shown config into `section.key` → value text.
fn keys_and_values(config: &Config) -> Vec<(String, String)> {
    let table: toml::Table = toml::from_str(&config.show()).unwrap();
    let mut out = Vec::new();
    for (k, v) in table {
        match v {
            toml::Value::Table(section) => {
                for (k2, v2) in section {
                    out.push((format!("{k}.{k2}"), v2.to_string()));
                }
            }
            other => out.push((k, other.to_string())),
        }
    }
    out
}

/// Every key has its flag and variable by the naming rule, and each
/// `[default: X]` in `--help` is the real default.
#[test]
fn flags_env_and_help_match_the_keys() {
    let mut full = Config::default();
    full.advertise_http = Some("10.0.0.1:8080".parse().unwrap());
    full.advertise_raft = Some("10.0.0.1:7080".parse().unwrap());
    full.join = Some("10.0.0.2:7080".parse().unwrap());
    full.token = Some("t".parse().unwrap());
    full.assistant.endpoint = Some("http://10.0.0.9:8080/v1".into());
    full.assistant.api_key = Some("k".parse().unwrap());
    let cmd = Flags::command();
    let defaults = keys_and_values(&Config::default());
    for (key, _) in keys_and_values(&full) {
        let long = key.replace(['.', '_'], "-");
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
            .unwrap_or_else(|| panic!("no flag --{long} for key {key}"));
        let env = format!("PADDLE_{}", key.replace('.', "_").to_ascii_uppercase());
        assert_eq!(
            arg.get_env().and_then(|e| e.to_str()),
            Some(env.as_str()),
            "{key}"
        );
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        let shown_default = help
            .split("[default: ")
            .nth(1)
            .map(|rest| rest.trim_end_matches(']').to_owned());
        let real_default = defaults.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
        if let (Some(shown), Some(real)) = (shown_default, real_default) {
            if shown.starts_with("the ") || shown.starts_with("same ") {
                continue;
            }
            assert_eq!(real.trim_matches('"'), shown, "help default of --{long}");
        }
    }
}

#[test]
fn example_file_is_the_defaults() {
    let text = include_str!("../../../deploy/paddle.example.toml");
    let example = Config::from_toml(text).expect("example parses");
    assert_eq!(example, Config::default());
    for (key, _) in keys_and_values(&Config::default()) {
        let bare = key.rsplit('.').next().unwrap();
        assert!(text.contains(&format!("{bare} =")), "example lacks {key}");
    }
    for optional in [
        "advertise_http",
        "advertise_raft",
        "join",
        "token",
        "endpoint",
        "api_key",
    ] {
        assert!(
            text.contains(&format!("# {optional} =")),
            "example lacks {optional}"
        );
    }
}
