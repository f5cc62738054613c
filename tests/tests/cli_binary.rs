//! The real `paddle` binary: configuration layers, exit codes, redaction and
//! the honest "not built yet" of commands this branch does not implement.
//! Each run gets a clean environment, so the tests run in parallel safely.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `paddle` with only the given variables set (plus PATH).
fn paddle(args: &[&str], env: &[(&str, &str)], dir: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddle"));
    cmd.args(args).current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("paddle runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn config_show_stacks_file_env_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paddle.toml");
    std::fs::write(
        &file,
        "data_dir = \"/srv/paddle\"\nhttp_addr = \"127.0.0.1:1001\"\n\
         [raft]\nheartbeat_ms = 120\nsnapshot_logs = 777\n",
    )
    .unwrap();
    let out = paddle(
        &["config", "show", "--http-addr", "127.0.0.1:1003"],
        &[
            ("PADDLE_CONFIG", file.to_str().unwrap()),
            ("PADDLE_HTTP_ADDR", "127.0.0.1:1002"),
            ("PADDLE_RAFT_HEARTBEAT_MS", "90"),
            ("PADDLE_RAFT_ELECTION_TIMEOUT_MIN_MS", "300"),
            ("PADDLE_RAFT_ELECTION_TIMEOUT_MAX_MS", "600"),
        ],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("http_addr = \"127.0.0.1:1003\""),
        "{stdout}"
    );
    assert!(stdout.contains("heartbeat_ms = 90"), "{stdout}");
    assert!(stdout.contains("snapshot_logs = 777"), "{stdout}");
    assert!(stdout.contains("data_dir = \"/srv/paddle\""), "{stdout}");
    assert!(stdout.contains("[limits]"), "{stdout}");
}

#[test]
fn secrets_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let out = paddle(
        &[
            "config",
            "show",
            "--raft-addr",
            "10.1.2.3:7080",
            "--join",
            "10.1.2.4:7080",
        ],
        &[("PADDLE_TOKEN", "s3cret-join-token")],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("token = \"<redacted>\""), "{stdout}");
    assert!(!stdout.contains("s3cret"), "{stdout}");

    // Nor does --help print the value of a secret variable.
    let out = paddle(
        &["serve", "--help"],
        &[("PADDLE_TOKEN", "s3cret-join-token")],
        dir.path(),
    );
    assert!(out.status.success());
    assert!(!text(&out.stdout).contains("s3cret"));
}

#[test]
fn bad_config_exits_2_naming_key_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = paddle(
        &["config", "show", "--raft-heartbeat-ms", "500"],
        &[],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing printed on stdout");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("raft.election_timeout_min_ms = 150"),
        "{stderr}"
    );
    assert!(stderr.contains("3 x heartbeat_ms (1500)"), "{stderr}");

    // `serve` refuses the same way, before anything starts: no data dir.
    let out = paddle(&["serve", "--http-addr", "0.0.0.0:8080"], &[], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("advertise_http"));
    assert!(!dir.path().join("paddle-data").exists());

    // A join without its token, set through the environment.
    let out = paddle(
        &["config", "check"],
        &[
            ("PADDLE_JOIN", "10.0.0.1:7080"),
            ("PADDLE_RAFT_ADDR", "10.0.0.2:7080"),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("join = 10.0.0.1:7080"));

    // A typo in the file names the key and line.
    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "[raft]\nheartbeat = 100\n").unwrap();
    let out = paddle(
        &["config", "check", "--config", file.to_str().unwrap()],
        &[],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown field `heartbeat`"), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
}

#[test]
fn empty_variables_count_as_unset() {
    // docker compose passes `PADDLE_TOKEN=` when the token is not set yet.
    let dir = tempfile::tempdir().unwrap();
    let out = paddle(
        &["config", "check"],
        &[("PADDLE_TOKEN", ""), ("PADDLE_JOIN", "")],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = paddle(&["cluster", "remove", "abc"], &[], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let out = paddle(&[], &[], dir.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_bad_assistant_endpoint_is_refused_and_its_key_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("assistant.toml");
    std::fs::write(
        &file,
        "[assistant]\nenabled = true\nendpoint = \"llama.venue:8080/v1\"\n",
    )
    .unwrap();
    let out = paddle(
        &["config", "check", "--config", file.to_str().unwrap()],
        &[],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("assistant.endpoint"), "{stderr}");
    assert!(stderr.contains("--assistant-endpoint"), "{stderr}");

    // A good one passes; the key is redacted by `config show`.
    let out = paddle(
        &[
            "config",
            "show",
            "--assistant-enabled",
            "true",
            "--assistant-endpoint",
            "http://10.0.0.9:8080/v1",
        ],
        &[("PADDLE_ASSISTANT_API_KEY", "sk-venue-0123456789")],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("endpoint = \"http://10.0.0.9:8080/v1\""),
        "{shown}"
    );
    assert!(shown.contains("api_key = \"<redacted>\""), "{shown}");
    assert!(!shown.contains("0123456789"), "{shown}");
}
