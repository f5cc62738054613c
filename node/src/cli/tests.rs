//! Parsing tests of the command tree. Each takes the environment lock:
//! clap reads `PADDLE_*` variables that config tests set.

use clap::{CommandFactory, Parser};

use super::*;
use crate::config::tests::clean_env;
use crate::config::Config;

fn parse(argv: &[&str]) -> Result<Cli, clap::Error> {
    let mut full = vec!["paddle"];
    full.extend_from_slice(argv);
    Cli::try_parse_from(full)
}

#[test]
fn command_tree_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn serve_takes_every_config_flag() {
    let _env = clean_env();
    let cli = parse(&[
        "serve",
        "--data-dir",
        "/var/lib/paddle",
        "--http",
        "0.0.0.0:8080",
        "--raft-addr",
        "0.0.0.0:7080",
        "--advertise-http",
        "venue-2.local:8080",
        "--advertise-raft",
        "192.168.1.12:7080",
        "--join",
        "192.168.1.11:7080",
        "--token",
        "join-secret",
        "--log-format",
        "json",
        "--raft-max-voters",
        "3",
        "--limits-allowed-origins",
        "https://screen.venue,https://clerk.venue",
    ])
    .unwrap();
    let Command::Serve(serve) = cli.command else {
        panic!("not serve: {cli:?}");
    };
    let config = Config::resolve(&serve.config, None).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/paddle"));
    assert_eq!(config.http_addr.to_string(), "0.0.0.0:8080");
    assert_eq!(config.join.unwrap().to_string(), "192.168.1.11:7080");
    assert_eq!(config.token.unwrap().expose(), "join-secret");
    assert_eq!(config.log_format, crate::config::LogFormat::Json);
    assert_eq!(config.raft.max_voters, 3);
    assert_eq!(config.limits.allowed_origins.len(), 2);
}

#[test]
fn bad_flag_values_are_usage_errors_naming_the_flag() {
    let _env = clean_env();
    for (argv, flag) in [
        (&["serve", "--http-addr", "localhost"][..], "--http-addr"),
        (
            &["serve", "--advertise-raft", "0.0.0.0:7080"][..],
            "--advertise-raft",
        ),
        (
            &["serve", "--raft-heartbeat-ms", "fast"][..],
            "--raft-heartbeat-ms",
        ),
        (&["serve", "--log-format", "xml"][..], "--log-format"),
        (&["serve", "--token", "<redacted>"][..], "--token"),
        (&["cluster", "remove", "three"][..], "ID"),
        (
            &[
                "bid", "--token", "t", "--sale", "s", "--lot", "l", "--amount", "-5",
            ][..],
            "--amount",
        ),
        (
            &[
                "bid", "--token", "t", "--sale", "s", "--lot", "l", "--amount", "1e3",
            ][..],
            "--amount",
        ),
        (
            &[
                "bid", "--token", "t", "--sale", "", "--lot", "l", "--amount", "1",
            ][..],
            "--sale",
        ),
        (&["watch", "--sale", "s", "--node", "ftp://x"][..], "--node"),
        (&["demo", "--nodes", "0"][..], "--nodes"),
        (
            &["bench", "consensus", "--proposers", "1,0"][..],
            "--proposers",
        ),
        (
            &["replay", "bids.csv", "--increments", "ebay-1999"][..],
            "--increments",
        ),
    ] {
        let err = parse(argv).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{argv:?}");
        let text = err.to_string();
        assert!(text.contains(flag), "{argv:?}: {text}");
    }
}

#[test]
fn cluster_commands() {
    let _env = clean_env();
    let cli = parse(&["cluster", "status", "--node", "10.0.0.5:8080", "--json"]).unwrap();
    let Command::Cluster(ClusterCommand::Status(status)) = cli.command else {
        panic!("{cli:?}");
    };
    assert!(status.json);
    assert_eq!(status.node.node.to_string(), "http://10.0.0.5:8080/");

    let cli = parse(&["cluster", "status"]).unwrap();
    let Command::Cluster(ClusterCommand::Status(status)) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(status.node.node.to_string(), "http://127.0.0.1:8080/");

    let cli = parse(&["cluster", "remove", "3", "--operator-token", "op"]).unwrap();
    let Command::Cluster(ClusterCommand::Remove(member)) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(member.id, 3);
    assert_eq!(member.auth.token().unwrap().expose(), "op");

    let cli = parse(&["cluster", "token", "--rotate"]).unwrap();
    assert!(matches!(
        cli.command,
        Command::Cluster(ClusterCommand::Token(TokenArgs { rotate: true, .. }))
    ));
    assert!(matches!(
        parse(&["cluster", "promote", "4"]).unwrap().command,
        Command::Cluster(ClusterCommand::Promote(MemberArgs { id: 4, .. }))
    ));
    assert!(matches!(
        parse(&["cluster", "demote", "5"]).unwrap().command,
        Command::Cluster(ClusterCommand::Demote(MemberArgs { id: 5, .. }))
    ));
}

#[cfg(unix)]
#[test]
fn operator_token_falls_back_to_the_data_dir() {
    use std::os::unix::fs::PermissionsExt;
    let env = clean_env();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let cli = parse(&["cluster", "remove", "2", "--data-dir", data]).unwrap();
    let Command::Cluster(ClusterCommand::Remove(member)) = cli.command else {
        panic!("{cli:?}");
    };
    let err = member.auth.token().unwrap_err().to_string();
    assert!(err.contains("--operator-token"), "{err}");
    assert!(err.contains("PADDLE_OPERATOR_TOKEN"), "{err}");

    let file = dir.path().join(OPERATOR_TOKEN_FILE);
    std::fs::write(&file, "from-file\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(member.auth.token().unwrap().expose(), "from-file");

    env.set("PADDLE_OPERATOR_TOKEN", "from-env");
    let cli = parse(&["cluster", "demote", "2", "--data-dir", data]).unwrap();
    let Command::Cluster(ClusterCommand::Demote(member)) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(member.auth.token().unwrap().expose(), "from-env");
}

#[test]
fn client_and_tool_commands() {
    let _env = clean_env();
    let cli = parse(&[
        "bid",
        "--node",
        "https://venue-1.local",
        "--token",
        "bidder-1",
        "--sale",
        "s1",
        "--lot",
        "7",
        "--amount",
        "12.50",
        "--bid-id",
        "b-42",
    ])
    .unwrap();
    let Command::Bid(bid) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(bid.amount.as_str(), "12.50");
    assert_eq!(bid.bid_id.as_deref(), Some("b-42"));
    assert_eq!(bid.node.node.to_string(), "https://venue-1.local/");
    assert!(parse(&["bid", "--sale", "s", "--lot", "l", "--amount", "1"]).is_err());

    let cli = parse(&["watch", "--sale", "s1", "--since", "1200"]).unwrap();
    assert!(matches!(
        cli.command,
        Command::Watch(WatchArgs {
            since: Some(1200),
            ..
        })
    ));

    let cli = parse(&["replay", "shared/data/ebay-xbox-bids.csv"]).unwrap();
    let Command::Replay(replay) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(replay.increments, IncrementTable::Ebay2005);

    let cli = parse(&["demo", "--nodes", "3", "--dir", "/tmp/demo"]).unwrap();
    let Command::Demo(demo) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(
        (demo.nodes, demo.http_port, demo.raft_port),
        (3, 8080, 7080)
    );

    let cli = parse(&["backup", "--node", "10.0.0.5:8080", "--out", "sale.bak"]).unwrap();
    assert!(matches!(
        cli.command,
        Command::Backup(BackupArgs { force: false, .. })
    ));
    assert!(
        parse(&["restore", "--from", "sale.bak"]).is_err(),
        "data dir required"
    );
    let cli = parse(&["restore", "--from", "sale.bak", "--data-dir", "/srv/p"]).unwrap();
    assert!(matches!(cli.command, Command::Restore(_)));

    let cli = parse(&[
        "scenario",
        "gala.toml",
        "--node",
        "10.0.0.1:8080,10.0.0.2:8080",
    ])
    .unwrap();
    let Command::Scenario(scenario) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(scenario.nodes.len(), 2);
}

#[test]
fn bench_subcommands_have_their_own_options() {
    let _env = clean_env();
    let cli = parse(&[
        "bench",
        "consensus",
        "--nodes",
        "3",
        "--proposers",
        "1,64,1024",
        "--seconds",
        "5",
    ])
    .unwrap();
    let Command::Bench(BenchCommand::Consensus(b)) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(b.proposers, [1, 64, 1024]);
    assert_eq!((b.nodes, b.common.seconds, b.no_failover), (3, 5, false));

    let cli = parse(&["bench", "consensus"]).unwrap();
    let Command::Bench(BenchCommand::Consensus(b)) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(b.proposers, [1, 64, 1024], "default list");

    let cli = parse(&["bench", "api", "--watchers", "10000", "--json"]).unwrap();
    let Command::Bench(BenchCommand::Api(b)) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!((b.watchers, b.bidders, b.common.json), (10_000, 100, true));
    assert_eq!((b.plot, b.closed_loop), (None, false));
    let cli = parse(&["bench", "api", "--plot", "lat.svg", "--closed-loop"]).unwrap();
    let Command::Bench(BenchCommand::Api(b)) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(b.plot.as_deref(), Some(std::path::Path::new("lat.svg")));
    assert!(b.closed_loop);

    let cli = parse(&["bench", "engine", "--bids", "5000"]).unwrap();
    assert!(matches!(
        cli.command,
        Command::Bench(BenchCommand::Engine(BenchEngineArgs {
            bids: 5000,
            sled_batch: 100,
            ..
        }))
    ));
    let cli = parse(&["bench", "join", "--entries", "100000"]).unwrap();
    assert!(matches!(cli.command, Command::Bench(BenchCommand::Join(_))));
}

#[test]
fn config_show_and_missing_subcommand() {
    let _env = clean_env();
    let cli = parse(&["config", "show", "--http-addr", "127.0.0.1:9000"]).unwrap();
    assert!(matches!(
        cli.command,
        Command::Config(ConfigCommand::Show(_))
    ));
    assert!(parse(&[]).is_err());
    assert!(parse(&["config"]).is_err());
}

#[test]
fn node_urls_and_amounts() {
    assert_eq!(
        "10.0.0.5:8080".parse::<NodeUrl>().unwrap().to_string(),
        "http://10.0.0.5:8080/"
    );
    assert!("http://10.0.0.5:8080/api".parse::<NodeUrl>().is_err());
    assert!("quic://10.0.0.5:7080".parse::<NodeUrl>().is_err());
    for ok in ["0", "12", "12.5", "12.50", "0.001"] {
        assert!(ok.parse::<Amount>().is_ok(), "{ok}");
    }
    for bad in [
        "", ".5", "5.", "-1", "+1", "1e3", "1,000", "NaN", "1.2.3", " 1",
    ] {
        assert!(bad.parse::<Amount>().is_err(), "{bad:?}");
    }
}
