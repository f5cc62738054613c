//! Tests of the log's segment files (`segments.rs`).

use super::*;

fn entries(range: std::ops::Range<u64>) -> Vec<(u64, Vec<u8>)> {
    range
        .map(|i| (i, format!("entry-{i}").into_bytes()))
        .collect()
}

fn open(dir: &Path) -> Arc<SegmentLog> {
    SegmentLog::open(dir, FlushMode::Fsync).unwrap()
}

#[test]
fn appended_entries_read_back_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    assert_eq!(log.last().unwrap(), None);
    log.append(&entries(5..9)).unwrap();
    log.append(&entries(9..12)).unwrap();
    log.sync_blocking().unwrap();
    assert_eq!(log.read(6, 10).unwrap(), entries(6..10));
    assert_eq!(log.read(0, 100).unwrap(), entries(5..12));
    drop(log);
    let log = open(dir.path());
    assert_eq!(log.read(0, 100).unwrap(), entries(5..12));
    assert_eq!(log.last().unwrap(), Some((11, b"entry-11".to_vec())));
    assert_eq!(log.len(), 7);
}

#[test]
fn a_torn_tail_is_dropped_and_appends_go_on_after_the_last_whole_entry() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(&entries(1..4)).unwrap();
    log.sync_blocking().unwrap();
    drop(log);
    let path = dir.path().join(segment_name(1));
    let mut bytes = std::fs::read(&path).unwrap();
    // Half of a fourth record, then a damaged third.
    let whole = bytes.len();
    let mut extra = Vec::new();
    encode_into(&mut extra, 4, b"entry-4");
    bytes.extend_from_slice(&extra[..extra.len() / 2]);
    std::fs::write(&path, &bytes).unwrap();
    let log = open(dir.path());
    assert_eq!(log.read(0, 10).unwrap(), entries(1..4));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), whole as u64);
    drop(log);
    let last = whole - 1;
    bytes.truncate(whole);
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let log = open(dir.path());
    assert_eq!(log.read(0, 10).unwrap(), entries(1..3));
    log.append(&entries(3..5)).unwrap();
    assert_eq!(log.read(0, 10).unwrap(), entries(1..5));
}

#[test]
fn truncate_and_purge_work_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    // Entries big enough that each segment holds two.
    let big = |r: std::ops::Range<u64>| -> Vec<(u64, Vec<u8>)> {
        r.map(|i| (i, vec![i as u8; (SEGMENT_BYTES / 2) as usize]))
            .collect()
    };
    log.append(&big(1..4)).unwrap();
    log.append(&big(4..7)).unwrap();
    let files = || std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files(), 3);
    log.truncate(4).unwrap();
    assert_eq!(log.last_index().unwrap(), Some(3));
    assert_eq!(files(), 2);
    log.append(&entries(4..6)).unwrap();
    log.purge(2).unwrap();
    assert_eq!(files(), 1, "only the segment of entries 1-2 went");
    assert_eq!(log.read(3, 6).unwrap()[1..], entries(4..6)[..]);
    // Purged entries are gone even where their segment stays.
    log.purge(3).unwrap();
    assert_eq!(files(), 1);
    assert_eq!(log.read(0, 6).unwrap(), entries(4..6));
    assert_eq!(log.len(), 2);
    // Purging past the end leaves an empty log that appends anywhere.
    log.purge(10).unwrap();
    assert_eq!((files(), log.len()), (0, 0));
    log.append(&entries(11..13)).unwrap();
    log.sync_blocking().unwrap();
    drop(log);
    let log = open(dir.path());
    assert_eq!(log.read(0, 100).unwrap(), entries(11..13));
}

#[test]
fn a_gap_starts_a_segment_and_an_overwrite_replaces_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(&entries(1..4)).unwrap();
    // As after a purge past the end: the next entries start at 21.
    log.append(&entries(21..23)).unwrap();
    log.sync_blocking().unwrap();
    assert!(dir.path().join(segment_name(21)).exists());
    assert_eq!(
        log.read(2, 22).unwrap(),
        [entries(2..4), entries(21..22)].concat()
    );
    drop(log);
    let log = open(dir.path());
    assert_eq!(
        log.read(0, 100).unwrap(),
        [entries(1..4), entries(21..23)].concat()
    );
    log.purge(20).unwrap();
    assert!(!dir.path().join(segment_name(1)).exists());
    assert_eq!(log.len(), 2);
    // Appending at an index the log holds replaces it and all after it.
    log.append(&[(22, b"new".to_vec())]).unwrap();
    assert_eq!(
        log.read(0, 100).unwrap(),
        vec![(21, b"entry-21".to_vec()), (22, b"new".to_vec())]
    );
    log.append(&[(21, b"again".to_vec())]).unwrap();
    assert_eq!(log.read(0, 100).unwrap(), vec![(21, b"again".to_vec())]);
    assert_eq!((log.len(), log.last_index().unwrap()), (1, Some(21)));
}

#[test]
fn a_closed_log_refuses_everything() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(&entries(1..2)).unwrap();
    log.close();
    assert!(log.append(&entries(2..3)).is_err());
    assert!(log.read(0, 5).is_err());
    assert!(log.sync_blocking().is_err());
}
