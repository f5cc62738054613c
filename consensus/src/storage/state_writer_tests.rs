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
        let header = SnapshotHeader {
            snapshot_id: "1-100-1".into(),
            last_applied: book(100).last_applied,
            membership: StoredMembership::default(),
            last_stamp_ms: 0,
            keys: 100,
        };
        let bytes = snapshot::encode(&header, &at_100);
        let file = StateStore::write_base_file(&snapshots, &header, &bytes).unwrap();
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
