//! Data that outlives a release: data dirs written by older builds, each
//! made by `scripts/format-fixture` with that build's binary, are read by
//! this build: migrated on the first start, read as it is on the next, with
//! the same state hash and the same views as when they were written.
//!
//! - `tests/fixtures/format-v1`: written before format versions existed
//!   (records without headers, the Raft log in sled);
//! - `tests/fixtures/data-dir-v1`: data dir version 1 (versioned records,
//!   the Raft log still in sled's `raft_log` tree), written by 5fed641.

use std::path::{Path, PathBuf};
use std::process::Command;

use paddle_tests::{Api, NodeProc, READY};
use serde_json::Value;

fn fixture_named(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

fn fixture() -> PathBuf {
    fixture_named("format-v1")
}

/// `v` without what depends on when it is read, not on what is stored:
/// the index a view reflects, the server's clock.
fn stored(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in ["applied_index", "server_time_ms", "as_of_ms", "age_ms"] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

async fn get(api: &Api, url: &str) -> anyhow::Result<Value> {
    let reply = api.get(url).await?;
    anyhow::ensure!(reply.status == 200, "{url}: {}", reply.status);
    Ok(reply.body)
}

#[tokio::test]
async fn a_data_dir_written_before_format_versions_is_migrated_and_reads_the_same() {
    let segments = migrated_and_reads_the_same("format-v1").await;
    assert!(segments > 0, "the log moved into segment files");
}

#[tokio::test]
async fn a_data_dir_with_the_log_in_sled_is_migrated_and_reads_the_same() {
    let segments = migrated_and_reads_the_same("data-dir-v1").await;
    assert!(segments > 0, "the log moved into segment files");
}

/// Start this build twice on the fixture `name`: the first start migrates,
/// the second reads it as it is; both show what the fixture's build showed.
/// Returns how many log segment files the data dir has afterwards.
async fn migrated_and_reads_the_same(name: &str) -> usize {
    let fixture = fixture_named(name);
    let expect: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("expect.json")).unwrap())
            .unwrap();
    let root = tempfile::tempdir().unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(fixture.join("data.tar.gz"))
        .arg("-C")
        .arg(root.path())
        .status()
        .expect("tar runs");
    assert!(untar.success());
    let token = std::fs::read_to_string(root.path().join("data/operator.token")).unwrap();
    let api = Api::new(token.trim());
    let mut node = NodeProc::new(
        Path::new(env!("CARGO_BIN_EXE_paddle")),
        root.path(),
        "data",
        &[],
    );
    let written = expect["state"]["applied_index"].as_u64().unwrap();
    for start in ["first start (migrates)", "second start (current format)"] {
        node.start(None).unwrap();
        if let Err(e) = node.wait_ready(&api, READY).await {
            panic!("{start}: {e}");
        }
        let url = node.url();
        let state = api.state(&url, written).await.unwrap();
        assert_eq!(
            state.state_hash,
            expect["state"]["state_hash"].as_str().unwrap(),
            "{name}, {start}: state hash; node log:\n{}",
            node.log_tail(40)
        );
        assert_eq!(
            state.keys,
            expect["state"]["keys"].as_u64().unwrap(),
            "{start}"
        );
        for (sale, lots) in expect["lots"].as_object().unwrap() {
            let got = get(&api, &format!("{url}/api/v1/sales/{sale}/lots"))
                .await
                .unwrap();
            assert_eq!(
                stored(got),
                stored(lots.clone()),
                "{start}: lots of sale {sale}"
            );
        }
        for (lot, bids) in expect["bids"].as_object().unwrap() {
            let got = get(&api, &format!("{url}/api/v1/lots/{lot}/bids"))
                .await
                .unwrap();
            assert_eq!(
                stored(got),
                stored(bids.clone()),
                "{start}: bids of lot {lot}"
            );
        }
        let live = expect["sales"][1].as_u64().unwrap();
        let got = get(&api, &format!("{url}/api/v1/sales/{live}/results"))
            .await
            .unwrap();
        assert_eq!(
            stored(got),
            stored(expect["results"].clone()),
            "{start}: results"
        );
        node.stop().await.unwrap();
    }
    let log = node.log_text();
    assert_eq!(
        log.matches("migrated the data dir to the current version")
            .count(),
        1,
        "{name}: the first start migrates, the second does not:\n{log}"
    );
    std::fs::read_dir(root.path().join("data/raft/log"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "seg")
        })
        .count()
}

#[tokio::test]
async fn a_data_dir_of_a_newer_format_is_refused_with_both_versions_named() {
    let root = tempfile::tempdir().unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(fixture().join("data.tar.gz"))
        .arg("-C")
        .arg(root.path())
        .status()
        .expect("tar runs");
    assert!(untar.success());
    // A newer build's snapshot file: the same bytes under a later version.
    let snapshots = root.path().join("data/raft/snapshots");
    let mut bases: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "snap"))
        .collect();
    assert!(!bases.is_empty(), "the fixture has snapshot files");
    bases.sort();
    for base in &bases {
        let mut bytes = std::fs::read(base).unwrap();
        bytes[8..12].copy_from_slice(&99u32.to_be_bytes());
        std::fs::write(base, bytes).unwrap();
    }
    let token = std::fs::read_to_string(root.path().join("data/operator.token")).unwrap();
    let api = Api::new(token.trim());
    let mut node = NodeProc::new(
        Path::new(env!("CARGO_BIN_EXE_paddle")),
        root.path(),
        "data",
        &[],
    );
    node.start(None).unwrap();
    let err = node
        .wait_ready(&api, READY)
        .await
        .expect_err("a newer format is refused");
    let text = err.to_string();
    assert!(
        text.contains("version 99") && text.contains("reads version 1"),
        "{text}"
    );
}
