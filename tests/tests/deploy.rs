//! The deploy folder, under test (issue 16):
//!
//! - the container image (`deploy/build-image.sh`: stripped binary, FROM
//!   scratch) runs a three-node cluster: containers on the host's network
//!   with loopback ports only (no traffic leaves the machine), joined by
//!   token; a sale runs; the leader's container is killed (`docker kill`,
//!   SIGKILL) and the sale goes on; the container is started again on its
//!   data and catches up; every answer and the final state of every node
//!   are held against the rules ([`paddle_tests::Audit`]);
//! - the systemd unit passes `systemd-analyze verify`.
//!
//! To stay inside the CI budget the image is built from the binary this
//! `cargo test` built (dynamically linked: build-image.sh copies its
//! libraries in), not from a second, release build. Docker is required:
//! without it the test fails and says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use paddle_tests::audit::collect::{final_state, sent_from, Reader};
use paddle_tests::audit::LotTerms;
use paddle_tests::{check_answers, free_port, wall_ms, Api, Audit, BidLoad, READY, SETTLE};
use serde_json::json;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_paddle"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn run(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program} {args:?}"))?;
    if !out.status.success() {
        bail!(
            "{program} {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One `paddle serve` container on the host network.
struct Node {
    name: String,
    container: String,
    data: PathBuf,
    http: u16,
    raft: u16,
}

impl Node {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    /// `docker run -d` with the data dir mounted at /data, listening on
    /// loopback ports of the host network; joining through `join` (a raft
    /// address and the token) when given.
    fn run(&self, image: &str, join: Option<(&str, &str)>) -> anyhow::Result<()> {
        let volume = format!("{}:/data", self.data.display());
        let http = format!("PADDLE_HTTP_ADDR=127.0.0.1:{}", self.http);
        let raft = format!("PADDLE_RAFT_ADDR=127.0.0.1:{}", self.raft);
        let mut args = vec![
            "run",
            "-d",
            "--name",
            &self.container,
            "--network",
            "host",
            "-v",
            &volume,
            "-e",
            &http,
            "-e",
            &raft,
        ];
        let token_env;
        if let Some((_, token)) = join {
            token_env = format!("PADDLE_TOKEN={token}");
            args.extend(["-e", &token_env]);
        }
        args.extend([image, "serve"]);
        if let Some((contact, _)) = join {
            args.extend(["--join", contact]);
        }
        run("docker", &args).map(|_| ())
    }

    async fn wait_ready(&self, api: &Api) -> anyhow::Result<()> {
        let started = Instant::now();
        while !api.ready(&self.url()).await {
            if started.elapsed() > READY {
                bail!("{} was not ready within {READY:?}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }
}

/// The containers and the image of one test; removed on drop. A failing
/// test prints every container's log and keeps the data dirs.
struct Fleet {
    image: String,
    nodes: Vec<Node>,
    dir: Option<tempfile::TempDir>,
    passed: bool,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for n in &self.nodes {
            if !self.passed {
                let logs = Command::new("docker")
                    .args(["logs", "--tail", "60", &n.container])
                    .output();
                if let Ok(o) = logs {
                    eprintln!(
                        "----- {} ({}): last log lines -----\n{}{}",
                        n.name,
                        n.container,
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
            }
            let _ = run("docker", &["rm", "-f", &n.container]);
        }
        let _ = run("docker", &["rmi", "-f", &self.image]);
        if !self.passed {
            if let Some(dir) = self.dir.take() {
                eprintln!(
                    "----- test failed; node data kept in {} -----",
                    dir.keep().display()
                );
            }
        }
    }
}

async fn leader_of(api: &Api, nodes: &[&Node]) -> anyhow::Result<usize> {
    let started = Instant::now();
    loop {
        let mut seen = Vec::new();
        for n in nodes {
            seen.push(
                api.metric(&n.url(), "paddle_raft_leader_id")
                    .await
                    .unwrap_or(0),
            );
        }
        if seen[0] != 0 && seen.iter().all(|l| *l == seen[0]) {
            for (i, n) in nodes.iter().enumerate() {
                let id = api.get(&format!("{}/health", n.url())).await?.body["node_id"].as_u64();
                if id == Some(seen[0]) {
                    return Ok(i);
                }
            }
        }
        if started.elapsed() > SETTLE {
            bail!("no agreed leader: the nodes name {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Wait until every node is at the same index with the same state hash.
async fn converged(api: &Api, nodes: &[&Node]) -> anyhow::Result<u64> {
    let started = Instant::now();
    loop {
        let mut states = Vec::new();
        for n in nodes {
            states.push(api.state(&n.url(), 0).await.ok());
        }
        if let Some(Some(first)) = states.first() {
            if states.iter().all(|s| s.as_ref() == Some(first)) {
                return Ok(first.applied_index);
            }
        }
        if started.elapsed() > SETTLE {
            bail!("the containers did not converge: {states:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Accepted answers among `records` sent after `since` (wall ms).
fn accepted_since(load: &BidLoad, since: f64) -> usize {
    load.records()
        .iter()
        .filter(|r| r.sent_ms > since && r.outcome == "accepted")
        .count()
}

async fn wait_accepted_since(load: &BidLoad, since: f64, n: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    while accepted_since(load, since) < n {
        if started.elapsed() > SETTLE {
            bail!(
                "only {} bids accepted since the kill",
                accepted_since(load, since)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_container_cluster_survives_a_killed_container() {
    if let Err(e) = run("docker", &["info", "--format", "{{.ServerVersion}}"]) {
        panic!(
            "this test needs docker (a running daemon this user may use): {e:#}\n\
             CI machines have it; on a workstation install docker.io and start it"
        );
    }
    let image = format!("paddle-test:{}", std::process::id());
    let script = repo().join("deploy/build-image.sh");
    let built = run(
        script.to_str().unwrap(),
        &["--binary", bin().to_str().unwrap(), &image],
    )
    .expect("deploy/build-image.sh");
    eprintln!("{}", built.trim());
    let out = repo().join("target/image");
    let (shipped, symbols) = (out.join("paddle"), out.join("paddle.debug"));
    let file = run("file", &[shipped.to_str().unwrap()]).unwrap_or_default();
    let sections = run("objdump", &["-h", shipped.to_str().unwrap()]).expect("objdump");
    assert!(
        !sections.contains(".debug_info") && !sections.contains(".symtab"),
        "the shipped binary still has debug info or symbols: {file}"
    );
    assert!(sections.contains(".gnu_debuglink"), "{sections}");
    let kept = run("objdump", &["-h", symbols.to_str().unwrap()]).expect("objdump");
    assert!(
        kept.contains(".debug_info"),
        "paddle.debug holds no debug info"
    );

    let dir = tempfile::Builder::new()
        .prefix("paddle-containers-")
        .tempdir()
        .unwrap();
    let mut fleet = Fleet {
        image: image.clone(),
        nodes: Vec::new(),
        dir: None,
        passed: false,
    };
    for k in 1..=3 {
        let data = dir.path().join(format!("n{k}"));
        std::fs::create_dir(&data).unwrap();
        // The image runs as uid 10001 with a 0700 data dir.
        run("chown", &["10001:10001", data.to_str().unwrap()]).unwrap();
        fleet.nodes.push(Node {
            name: format!("n{k}"),
            container: format!("paddle-test-{}-n{k}", std::process::id()),
            data,
            http: free_port(),
            raft: free_port(),
        });
    }
    fleet.dir = Some(dir);
    let probe = Api::new("");
    fleet.nodes[0].run(&image, None).unwrap();
    fleet.nodes[0].wait_ready(&probe).await.unwrap();
    let read = |f: &str| {
        std::fs::read_to_string(fleet.nodes[0].data.join(f))
            .unwrap()
            .trim()
            .to_string()
    };
    let (operator, join) = (read("operator.token"), read("join.token"));
    let api = Api::new(&operator);
    let contact = format!("127.0.0.1:{}", fleet.nodes[0].raft);
    for k in 1..3 {
        fleet.nodes[k].run(&image, Some((&contact, &join))).unwrap();
        fleet.nodes[k].wait_ready(&api).await.unwrap();
    }
    let all: Vec<&Node> = fleet.nodes.iter().collect();
    let status = api.cluster(&all[0].url()).await.unwrap();
    assert_eq!(status.voters().len(), 3, "{status:?}");

    // A sale, bidders on every container, readers on every container.
    let base = all[0].url();
    let now = wall_ms() as u64;
    let r = api
        .post(
            &format!("{base}/api/v1/sales"),
            json!({"title": "Container sale", "currency": "EUR", "premium_bp": 0,
                   "increments": [{"from": "0", "increment": "0.10"}],
                   "mode": {"type": "timed", "opens_at_ms": now, "closes_at_ms": now + 3_600_000, "stagger_ms": 0}}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{:?}", r.body);
    let sale = r.body["sale"].as_u64().unwrap();
    let r = api
        .post(
            &format!("{base}/api/v1/sales/{sale}/lots"),
            json!({"lots": [{"title": "Lamp", "start": "10.00"}]}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{:?}", r.body);
    let lot = r.body["lots"][0].as_u64().unwrap();
    let (mut tokens, mut paddles) = (Vec::new(), Vec::new());
    for i in 0..6 {
        let r = api
            .post(
                &format!("{base}/api/v1/sales/{sale}/bidders"),
                json!({"name": format!("C{i}"), "approved": true}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{:?}", r.body);
        tokens.push(r.body["token"].as_str().unwrap().to_string());
        paddles.push(r.body["paddle"].as_u64().unwrap() as u32);
    }
    let urls: Vec<String> = all.iter().map(|n| n.url()).collect();
    let load = BidLoad::start(
        &api,
        &tokens,
        &urls,
        Arc::new(move |_| Some(lot)),
        Duration::from_millis(50),
    );
    let reader = Reader::start(&api, &urls, &[lot], Duration::from_millis(100));
    wait_accepted_since(&load, 0.0, 20).await.unwrap();

    // Kill the leader's container; the other two go on.
    let l = leader_of(&api, &all).await.unwrap();
    let rest: Vec<&Node> = all
        .iter()
        .copied()
        .filter(|n| n.name != all[l].name)
        .collect();
    let killed_at = wall_ms();
    run("docker", &["kill", &all[l].container]).unwrap();
    eprintln!("killed {} (the leader's container)", all[l].name);
    let new = leader_of(&api, &rest).await.unwrap();
    wait_accepted_since(&load, killed_at, 20).await.unwrap();
    eprintln!(
        "{} leads; {} bids accepted since the kill",
        rest[new].name,
        accepted_since(&load, killed_at)
    );

    // It comes back on its data and catches up.
    run("docker", &["start", &all[l].container]).unwrap();
    all[l].wait_ready(&api).await.unwrap();
    let restarted_at = wall_ms();
    wait_accepted_since(&load, restarted_at, 20).await.unwrap();
    let (records, tokens) = load.stop().await;
    let reads = reader.stop().await;
    let index = converged(&api, &all).await.unwrap();
    let mut nodes = Vec::new();
    for n in &all {
        nodes.push(
            final_state(&api, &n.name, &n.url(), &[lot], index)
                .await
                .unwrap(),
        );
    }
    let audit = Audit {
        sent: sent_from(&records, &paddles).unwrap(),
        reads,
        nodes,
        terms: BTreeMap::from([(
            lot,
            LotTerms {
                start: 1_000,
                increments: vec![(0, 10)],
            },
        )]),
    };
    let verdict = audit.check().unwrap_or_else(|e| panic!("{e:#}"));
    let answers = check_answers(&api, &all[0].url(), &tokens, &records)
        .await
        .unwrap();
    eprintln!(
        "{} rejoined and caught up: all three at index {index}",
        all[l].name
    );
    eprintln!("checked: {verdict:?}\nanswers: {answers:?}");
    fleet.passed = true;
}

/// The unit file as shipped, with its `paddle` path pointed at the binary
/// under test (verify checks that every command exists and is executable).
fn unit_copy(dir: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("deploy/paddle.service")).unwrap();
    let text = text.replace("/usr/local/bin/paddle", bin().to_str().unwrap());
    let text = text.replace("[Install]", &format!("{extra}\n[Install]"));
    let path = dir.join("paddle.service");
    std::fs::write(&path, text).unwrap();
    path
}

fn verify(unit: &Path) -> (bool, String) {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(unit)
        .output()
        .expect("systemd-analyze (Debian package systemd; ./scripts/test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let about_us: Vec<&str> = text.lines().filter(|l| l.contains("paddle")).collect();
    (out.status.success() && about_us.is_empty(), text)
}

#[test]
fn the_systemd_unit_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, said) = verify(&unit_copy(dir.path(), ""));
    assert!(ok, "systemd-analyze verify deploy/paddle.service:\n{said}");
    // And the check can fail: an unknown key is reported.
    let (ok, said) = verify(&unit_copy(dir.path(), "Frobnicate=yes"));
    assert!(!ok, "a unit with an unknown key passed: {said}");
}
