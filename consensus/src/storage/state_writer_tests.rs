//! Tests of the state's writer thread (`state_writer.rs`).

use std::path::Path;

use super::*;
use crate::kv::{Bytes, StateMap};
use crate::storage::disk::Disk;
use crate::storage::snapshot::{self, SnapshotHeader};
use crate::storage::FlushMode;
use crate::types::typ::{LogId, StoredMembership};

fn key(i: u64) -> Bytes {
    format!("t\0{i:05}").into_bytes().into()
}

fn book(index: u64) -> Bookkeeping {
    Bookkeeping {
        last_applied: Some(LogId::new(openraft::CommittedLeaderId::new(1, 1), index)),
        ..Default::default()
    }
}

fn put(i: u64) -> Vec<Write> {
    vec![Write::Put(key(i), format!("v{i}").into_bytes().into())]
}

type Store = Arc<Mutex<StateStore>>;

/// The disk, its state store and a writer of it, and the state and index
/// loaded.
fn open(dir: &Path, mode: FlushMode) -> (Arc<Disk>, Store, StateWriter, StateMap, u64) {
    let disk = Disk::open(&dir.join("sled"), mode).unwrap();
    let (store, map, book) = StateStore::open(&disk.db, &dir.join("snapshots")).unwrap();
    let index = book.last_applied.map_or(0, |l| l.index);
    let store = Arc::new(Mutex::new(store));
    let writer = StateWriter::start(store.clone(), &disk.durability, disk.stages.clone()).unwrap();
    (disk, store, writer, map, index)
}

fn close(disk: &Disk, writer: &StateWriter) {
    writer.stop().unwrap();
    disk.durability.stop_blocking();
}

/// A base file of `map` at `index` in `snapshots`, as the snapshot builder
/// writes it.
fn base_file(snapshots: &Path, index: u64, map: &StateMap) -> (SnapshotHeader, String) {
    let header = SnapshotHeader {
        snapshot_id: format!("1-{index}-1"),
        last_applied: book(index).last_applied,
        membership: StoredMembership::default(),
        last_stamp_ms: 0,
        keys: map.len() as u64,
    };
    let bytes = snapshot::encode(&header, map);
    let file = StateStore::write_base_file(snapshots, &header, &bytes).unwrap();
    (header, file)
}

#[test]
fn queued_writes_are_all_written_in_order_by_stop() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (disk, _store, writer, map, index) = open(dir.path(), FlushMode::Fsync);
        assert!(map.is_empty());
        assert_eq!(index, 0);
        for i in 1..=300 {
            writer.write(put(i), book(i)).unwrap();
        }
        // A key changed twice keeps its last value.
        writer
            .write(vec![Write::Put(key(7), b"last".to_vec().into())], book(301))
            .unwrap();
        close(&disk, &writer);
        assert!(writer.write(put(999), book(999)).is_err());
    }
    let (disk, _store, writer, map, index) = open(dir.path(), FlushMode::Fsync);
    assert_eq!(index, 301);
    assert_eq!(map.len(), 300);
    assert_eq!(map.get(&key(7)).map(|v| v.to_vec()), Some(b"last".to_vec()));
    assert_eq!(
        map.get(&key(300)).map(|v| v.to_vec()),
        Some(b"v300".to_vec())
    );
    close(&disk, &writer);
}

#[test]
fn a_rebase_after_wait_for_keeps_every_later_write() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path().join("snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    {
        let (disk, store, writer, _, _) = open(dir.path(), FlushMode::Fsync);
        let mut at_100 = StateMap::new();
        for i in 1..=200 {
            writer.write(put(i), book(i)).unwrap();
            if i <= 100 {
                at_100.insert(key(i), format!("v{i}").into_bytes().into());
            }
        }
        // The snapshot builder's order: wait for its index, then rebase
        // (which drops the chunks up to 100) while later writes may still
        // be queued.
        let (header, file) = base_file(&snapshots, 100, &at_100);
        writer.wait_for(100).unwrap();
        assert!(lock(&writer.progress.0).written_index >= 100);
        assert!(lock(&store)
            .rebase(&file, &header, &disk.durability)
            .unwrap());
        close(&disk, &writer);
    }
    let (disk, _store, writer, map, index) = open(dir.path(), FlushMode::Fsync);
    assert_eq!(index, 200);
    assert_eq!(map.len(), 200);
    assert_eq!(
        map.get(&key(150)).map(|v| v.to_vec()),
        Some(b"v150".to_vec())
    );
    close(&disk, &writer);
}

#[test]
fn drain_returns_with_nothing_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, _store, writer, _, _) = open(dir.path(), FlushMode::Fsync);
    writer.drain().unwrap();
    for i in 1..=50 {
        writer.write(put(i), book(i)).unwrap();
    }
    writer.drain().unwrap();
    let p = lock(&writer.progress.0);
    assert_eq!((p.queued, p.done, p.written_index), (50, 50, 50));
    drop(p);
    close(&disk, &writer);
}

#[test]
fn inline_mode_writes_on_the_callers_thread() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (disk, _store, writer, _, _) = open(dir.path(), FlushMode::Inline);
        writer.write(put(1), book(1)).unwrap();
        // Nothing was queued: the write happened before `write` returned.
        assert_eq!(lock(&writer.progress.0).queued, 0);
        assert!(matches!(*lock(&writer.mode), Some(Mode::Inline { .. })));
        close(&disk, &writer);
    }
    let (disk, _store, writer, map, index) = open(dir.path(), FlushMode::Inline);
    assert_eq!((index, map.len()), (1, 1));
    close(&disk, &writer);
}

/// Chunk keys (one per sled write of the writer) in the active delta tree.
fn chunk_writes(disk: &Disk) -> std::collections::BTreeSet<u64> {
    let delta = disk.db.open_tree("sm_a").unwrap();
    delta
        .iter()
        .keys()
        .map(|k| k.unwrap())
        .filter(|k| k.first() == Some(&crate::storage::chunks::CHUNK_PREFIX) && k.len() == 13)
        .map(|k| u64::from_be_bytes(k[1..9].try_into().unwrap()))
        .collect()
}

#[test]
fn applies_queued_together_are_written_as_one_sled_batch() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (disk, _store, writer, _, _) = open(dir.path(), FlushMode::Fsync);
        for i in 1..=300 {
            writer.write(put(i), book(i)).unwrap();
        }
        writer.drain().unwrap();
        let writes = chunk_writes(&disk);
        assert!(
            writes.len() < 300,
            "300 applies queued at once took {} sled writes",
            writes.len()
        );
        assert_eq!(
            writes.last(),
            Some(&300),
            "the last write ends at the last apply"
        );
        assert_eq!(lock(&writer.progress.0).written_index, 300);
        close(&disk, &writer);
    }
    let (disk, _store, writer, map, index) = open(dir.path(), FlushMode::Fsync);
    assert_eq!((index, map.len()), (300, 300));
    close(&disk, &writer);
}

#[test]
fn a_joined_chunk_across_a_base_replays_to_the_last_state() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path().join("snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    let v = |s: &str| -> Bytes { s.as_bytes().into() };
    {
        let (disk, store, writer, _, _) = open(dir.path(), FlushMode::Fsync);
        // Below the base: key 1 set then deleted, key 2 set twice, key 3 set.
        // Above it: key 3 changed, key 1 set again.
        let batches: Vec<Vec<Write>> = vec![
            vec![Write::Put(key(1), v("a")), Write::Put(key(2), v("b"))],
            vec![Write::Delete(key(1)), Write::Put(key(2), v("c"))],
            vec![Write::Put(key(3), v("d"))],
            vec![Write::Put(key(3), v("e"))],
            vec![Write::Put(key(1), v("f"))],
        ];
        // What the writer does with five applies it gathered (the timing
        // of a gathering is not this test's business).
        let jobs = batches
            .into_iter()
            .enumerate()
            .map(|(i, writes)| Job {
                writes,
                book: book(i as u64 + 1),
            })
            .collect();
        let joined = join(jobs);
        lock(&store)
            .write_batch(joined.writes, &joined.book)
            .unwrap();
        assert_eq!(
            chunk_writes(&disk).into_iter().collect::<Vec<_>>(),
            vec![5],
            "five applies joined are one write keyed at the last"
        );
        // A base at 3, as the snapshot builder makes it; the joined chunk
        // (1..=5) is after it and stays.
        let mut at_3 = StateMap::new();
        at_3.insert(key(2), v("c"));
        at_3.insert(key(3), v("d"));
        let (header, file) = base_file(&snapshots, 3, &at_3);
        assert!(lock(&store)
            .rebase(&file, &header, &disk.durability)
            .unwrap());
        close(&disk, &writer);
    }
    let (disk, _store, writer, map, index) = open(dir.path(), FlushMode::Fsync);
    assert_eq!(index, 5);
    let state: Vec<(Vec<u8>, Vec<u8>)> =
        map.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
    assert_eq!(
        state,
        vec![
            (key(1).to_vec(), b"f".to_vec()),
            (key(2).to_vec(), b"c".to_vec()),
            (key(3).to_vec(), b"e".to_vec()),
        ]
    );
    close(&disk, &writer);
}
