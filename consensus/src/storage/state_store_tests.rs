//! Tests of the state's base file and delta tree (`state_store.rs`).

use super::*;
use crate::kv::Bytes;
use crate::storage::chunks::CHUNK_BYTES;
use crate::storage::disk::Disk;

fn b(s: &str) -> Bytes {
    s.as_bytes().into()
}

fn open(dir: &Path) -> (std::sync::Arc<Disk>, StateStore, StateMap) {
    let disk = Disk::open(&dir.join("sled"), crate::storage::FlushMode::Fsync).unwrap();
    let (store, map, _) = StateStore::open(&disk.db, &dir.join("snapshots")).unwrap();
    (disk, store, map)
}

#[test]
fn base_plus_delta_survives_a_restart_with_deletes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (disk, mut store, map) = open(dir.path());
        assert!(map.is_empty());
        store
            .write_batch(vec![Write::Put(b("t\0a"), b("1"))], &book(1))
            .unwrap();
        // Install a base holding b and c: a is gone, b and c are in.
        let mut base = StateMap::new();
        base.insert(b("t\0b"), b("2"));
        base.insert(b("t\0c"), b("3"));
        let header = SnapshotHeader {
            snapshot_id: "1-10-1".into(),
            last_applied: book(1).last_applied,
            membership: StoredMembership::default(),
            last_stamp_ms: 7,
            keys: 2,
        };
        store
            .install(&snapshot::encode(&header, &base), &header, &disk.durability)
            .unwrap();
        // Then delete a base key, change one, add one.
        let writes = vec![
            Write::Delete(b("t\0b")),
            Write::Put(b("t\0c"), b("33")),
            Write::Put(b("t\0d"), b("4")),
        ];
        store
            .write_batch(
                writes,
                &Bookkeeping {
                    last_stamp_ms: 9,
                    ..book(2)
                },
            )
            .unwrap();
        disk.durability.stop_blocking();
    }
    let (_disk, _store, map) = open(dir.path());
    let got: Vec<(Vec<u8>, Vec<u8>)> = map.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
    assert_eq!(
        got,
        vec![
            (b"t\0c".to_vec(), b"33".to_vec()),
            (b"t\0d".to_vec(), b"4".to_vec())
        ]
    );
}

fn book(index: u64) -> Bookkeeping {
    Bookkeeping {
        last_applied: Some(LogId::new(openraft::CommittedLeaderId::new(1, 1), index)),
        ..Default::default()
    }
}

fn header(id: &str, index: u64, keys: u64) -> SnapshotHeader {
    SnapshotHeader {
        snapshot_id: id.into(),
        last_applied: book(index).last_applied,
        membership: StoredMembership::default(),
        last_stamp_ms: 0,
        keys,
    }
}

fn pairs(map: &StateMap) -> Vec<(Vec<u8>, Vec<u8>)> {
    map.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
}

fn chunk_indexes(store: &StateStore) -> Vec<u64> {
    let mut out: Vec<u64> = store
        .delta
        .scan_prefix([CHUNK_PREFIX])
        .keys()
        .map(|k| u64::from_be_bytes(k.unwrap()[1..9].try_into().unwrap()))
        .collect();
    out.dedup();
    out
}

#[test]
fn a_batch_larger_than_a_chunk_is_cut_and_joined_again() {
    let dir = tempfile::tempdir().unwrap();
    let big: Bytes = vec![7u8; 3 * CHUNK_BYTES + 11].into();
    let want = {
        let (disk, store, _) = open(dir.path());
        let writes: Vec<Write> = (0..5)
            .map(|i| Write::Put(b(&format!("t\0k{i}")), big.clone()))
            .chain([Write::Delete(b("t\0k1"))])
            .collect();
        store.write_batch(writes, &book(3)).unwrap();
        store
            .write_batch(vec![Write::Put(b("t\0k1"), b("back"))], &book(4))
            .unwrap();
        assert!(
            store.delta.scan_prefix([CHUNK_PREFIX]).count() > 5,
            "the first batch needs many chunks"
        );
        disk.durability.stop_blocking();
        let mut m = StateMap::new();
        for i in [0, 2, 3, 4] {
            m.insert(b(&format!("t\0k{i}")), big.clone());
        }
        m.insert(b("t\0k1"), b("back"));
        pairs(&m)
    };
    let (_disk, _store, map) = open(dir.path());
    assert_eq!(pairs(&map), want);
}

#[test]
fn a_rebase_drops_the_chunks_it_covers_and_keeps_later_ones() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path().join("snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    let want = {
        let (disk, mut store, mut map) = open(dir.path());
        let apply = |store: &StateStore, map: &mut StateMap, index: u64, w: Vec<Write>| {
            replay_writes(map, &encode_writes(&w)).unwrap();
            store.write_batch(w, &book(index)).unwrap();
        };
        apply(&store, &mut map, 1, vec![Write::Put(b("t\0a"), b("1"))]);
        apply(&store, &mut map, 2, vec![Write::Put(b("t\0b"), b("2"))]);
        // The snapshot of index 2, built while index 3 is applied.
        let at_2 = map.clone();
        apply(
            &store,
            &mut map,
            3,
            vec![Write::Delete(b("t\0a")), Write::Put(b("t\0c"), b("3"))],
        );
        let h = header("1-2-1", 2, 2);
        let bytes = snapshot::encode(&h, &at_2);
        let file = StateStore::write_base_file(&snapshots, &h, &bytes).unwrap();
        assert!(store.rebase(&file, &h, &disk.durability).unwrap());
        assert_eq!(chunk_indexes(&store), vec![3]);
        // An older snapshot is not a newer base; its file is removed.
        let old = header("1-1-9", 1, 1);
        let f = StateStore::write_base_file(&snapshots, &old, &bytes).unwrap();
        assert!(!store.rebase(&f, &old, &disk.durability).unwrap());
        assert!(!snapshots.join(&f).exists());
        // A crash between the switch and the deletes leaves covered
        // chunks behind: put one back, with a stale value for b.
        let mut stale = sled::Batch::default();
        insert_chunks(
            &mut stale,
            2,
            &encode_writes(&[Write::Put(b("t\0b"), b("stale"))]),
        );
        store.delta.apply_batch(stale).unwrap();
        store.write_batch(Vec::new(), &book(3)).unwrap();
        disk.durability.stop_blocking();
        pairs(&map)
    };
    let (_disk, _store, map) = open(dir.path());
    assert_eq!(pairs(&map), want);
    assert_eq!(
        want,
        vec![
            (b"t\0b".to_vec(), b"2".to_vec()),
            (b"t\0c".to_vec(), b"3".to_vec())
        ]
    );
}

#[test]
fn a_base_newer_than_the_deltas_bookkeeping_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path().join("snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    {
        let (disk, mut store, _) = open(dir.path());
        store
            .write_batch(vec![Write::Put(b("t\0a"), b("1"))], &book(1))
            .unwrap();
        // The snapshot at 2 is built and made the base before batch 2's
        // write reaches the store; then the node stops.
        let mut at_2 = StateMap::new();
        at_2.insert(b("t\0a"), b("1"));
        at_2.insert(b("t\0b"), b("2"));
        let h = SnapshotHeader {
            last_stamp_ms: 22,
            ..header("1-2-1", 2, 2)
        };
        let bytes = snapshot::encode(&h, &at_2);
        let file = StateStore::write_base_file(&snapshots, &h, &bytes).unwrap();
        assert!(store.rebase(&file, &h, &disk.durability).unwrap());
        disk.durability.stop_blocking();
    }
    let disk = Disk::open(&dir.path().join("sled"), crate::storage::FlushMode::Fsync).unwrap();
    let (_, map, book) = StateStore::open(&disk.db, &snapshots).unwrap();
    assert_eq!(
        book.last_applied.map(|l| l.index),
        Some(2),
        "not 1: entry 2 is in the base"
    );
    assert_eq!(book.last_stamp_ms, 22);
    assert_eq!(pairs(&map).len(), 2);
}

#[test]
fn one_key_values_are_converted_into_a_chunk_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (disk, store, _) = open(dir.path());
        // What a build before chunks wrote: one value per key.
        let mut batch = sled::Batch::default();
        batch.insert(&b"t\0a"[..], codec::seal_record(&[PUT, b'1']));
        batch.insert(&b"t\0b"[..], codec::seal_record(&[TOMBSTONE]));
        book(5).write(&mut batch).unwrap();
        store.delta.apply_batch(batch).unwrap();
        disk.durability.stop_blocking();
    }
    {
        let (disk, store, map) = open(dir.path());
        assert_eq!(pairs(&map), vec![(b"t\0a".to_vec(), b"1".to_vec())]);
        assert_eq!(chunk_indexes(&store), vec![5]);
        assert!(
            store.delta.get(b"t\0a").unwrap().is_none(),
            "the one-key value is gone"
        );
        disk.durability.stop_blocking();
    }
    let (_disk, _store, map) = open(dir.path());
    assert_eq!(pairs(&map), vec![(b"t\0a".to_vec(), b"1".to_vec())]);
}
