//! The data dir's version, and the migrations of data dirs written by
//! older builds.
//!
//! Every value this module's siblings keep in sled, and every log entry, is
//! a versioned record (`paddle_proto::codec::seal_record`: 0xFF, the record
//! format version, the payload). The data dir itself has a version of its
//! own, [`DATA_DIR_VERSION`], kept in `raft_meta` under [`KEY_FORMAT`]: it
//! names where things live, and changes when that does even though no
//! record's encoding changes. On open:
//!
//! - a new, empty database gets this build's version;
//! - a database of this build's version is used as it is;
//! - one of a version this build does not know (a newer build's) is refused
//!   with both versions named, before anything is read or written;
//! - version 1 (the Raft log's entries in sled's `raft_log` tree) is
//!   migrated: the entries are copied into log segment files
//!   (`segments.rs`) and synced, then the version is recorded and synced,
//!   then the tree is emptied. A crash before the version is recorded
//!   leaves version 1, and the copy starts over from empty segments; a
//!   crash after it leaves a tree that the next open empties;
//! - one without a version (written by Paddle before versions existed,
//!   whose encodings are record format 1's) first has every value of every
//!   tree sealed with the record header, one atomic sled batch per tree, and
//!   then is migrated as version 1. Values already carrying a header are
//!   left alone, so a migration cut short by a crash simply runs again on
//!   the next start. Headerless values can be told apart safely: none of
//!   them ever started with 0xFF (see `codec`).

use paddle_proto::codec::{self, RecordFormat};

use super::disk::Disk;

/// This build's data dir version: 2, the Raft log in segment files. (1: the
/// log in sled's `raft_log` tree; none: before versions, format 1's records
/// without headers.)
pub const DATA_DIR_VERSION: u8 = 2;

/// Tree that held the Raft log in data dir version 1.
const OLD_LOG_TREE: &str = "raft_log";

/// Key of the data dir's format version in `raft_meta`.
pub(super) const KEY_FORMAT: &[u8] = b"format";

/// What opening found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// An empty database, now marked with this build's version.
    New,
    /// Already this build's version.
    Current,
    /// Written by an older build: `values` values were given a record
    /// header and `log_entries` entries moved from sled to log segments.
    Migrated { values: u64, log_entries: u64 },
}

/// Why a data dir cannot be used by this build.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(
        "the data dir has format version {found}, but this build of paddle reads format version \
         {supported} (and migrates older data dirs); run the paddle release that wrote it, \
         or a newer one (see deploy/README.md, \"Upgrading\")"
    )]
    Unsupported { found: u8, supported: u8 },
    #[error("the data dir's format version record is damaged ({0:?})")]
    Damaged(Vec<u8>),
    #[error("storage: {0}")]
    Storage(String),
}

fn storage(e: impl std::fmt::Display) -> FormatError {
    FormatError::Storage(e.to_string())
}

/// The format version recorded in `db`, if any.
pub fn recorded(db: &sled::Db) -> Result<Option<u8>, FormatError> {
    let meta = db.open_tree("raft_meta").map_err(storage)?;
    match meta.get(KEY_FORMAT).map_err(storage)? {
        None => Ok(None),
        Some(v) => match (codec::record_format(&v), v.len()) {
            (RecordFormat::Version(n), codec::RECORD_HEADER) => Ok(Some(n)),
            _ => Err(FormatError::Damaged(v.to_vec())),
        },
    }
}

/// Check the data dir's version and bring an older one up to this build's,
/// syncing before the version is recorded.
pub(super) fn open(disk: &Disk) -> Result<Opened, FormatError> {
    let db = &disk.db;
    let found = recorded(db)?;
    let fresh = found.is_none() && is_empty(db)?;
    let values = match found {
        Some(DATA_DIR_VERSION) => {
            // A migration that recorded the version but was cut short
            // before emptying the old tree.
            drop_old_log(disk)?;
            return Ok(Opened::Current);
        }
        Some(1) => 0,
        None => seal_unversioned(disk)?,
        Some(found) => {
            return Err(FormatError::Unsupported {
                found,
                supported: DATA_DIR_VERSION,
            })
        }
    };
    let log_entries = move_log(disk)?;
    mark(db)?;
    disk.durability.sync_blocking().map_err(storage)?;
    drop_old_log(disk)?;
    if fresh {
        return Ok(Opened::New);
    }
    tracing::info!(
        values,
        log_entries,
        version = DATA_DIR_VERSION,
        "migrated the data dir to the current version"
    );
    Ok(Opened::Migrated {
        values,
        log_entries,
    })
}

/// True when no tree holds anything (a new data dir).
fn is_empty(db: &sled::Db) -> Result<bool, FormatError> {
    for name in db.tree_names() {
        if name != b"__sled__default" && !db.open_tree(&name).map_err(storage)?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Give every headerless value the record header; how many were sealed.
fn seal_unversioned(disk: &Disk) -> Result<u64, FormatError> {
    let db = &disk.db;
    let mut values = 0u64;
    for name in db.tree_names() {
        if name == b"__sled__default" {
            continue;
        }
        let tree = db.open_tree(&name).map_err(storage)?;
        let mut batch = sled::Batch::default();
        for item in tree.iter() {
            let (k, v) = item.map_err(storage)?;
            if codec::record_format(&v) == RecordFormat::Unversioned {
                batch.insert(k, codec::seal_record(&v));
                values += 1;
            }
        }
        tree.apply_batch(batch).map_err(storage)?;
    }
    if values > 0 {
        disk.durability.sync_blocking().map_err(storage)?;
    }
    Ok(values)
}

/// Copy version 1's log entries from sled into (emptied) log segments and
/// sync them; how many were copied. The records are copied as they are.
fn move_log(disk: &Disk) -> Result<u64, FormatError> {
    let tree = disk.db.open_tree(OLD_LOG_TREE).map_err(storage)?;
    // Start over from nothing: a copy cut short left a partial one.
    disk.log.truncate(0).map_err(storage)?;
    let mut entries = Vec::new();
    for item in tree.iter() {
        let (k, v) = item.map_err(storage)?;
        let index: [u8; 8] = k
            .as_ref()
            .try_into()
            .map_err(|_| FormatError::Storage(format!("a raft_log key of {} bytes", k.len())))?;
        entries.push((u64::from_be_bytes(index), v.to_vec()));
    }
    // Entries a purge cut short left below its point are copied too: the
    // log store purges them again on open, as it would have in sled.
    let moved = entries.len() as u64;
    disk.log.append(&entries).map_err(storage)?;
    disk.log.sync_blocking().map_err(storage)?;
    Ok(moved)
}

/// Empty version 1's log tree, once the version is recorded.
fn drop_old_log(disk: &Disk) -> Result<(), FormatError> {
    let tree = disk.db.open_tree(OLD_LOG_TREE).map_err(storage)?;
    if !tree.is_empty() {
        tree.clear().map_err(storage)?;
        disk.durability.sync_blocking().map_err(storage)?;
    }
    Ok(())
}

/// Record this build's data dir version.
pub(super) fn mark(db: &sled::Db) -> Result<(), FormatError> {
    let meta = db.open_tree("raft_meta").map_err(storage)?;
    meta.insert(KEY_FORMAT, &[codec::RECORD_MARK, DATA_DIR_VERSION][..])
        .map_err(storage)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::disk::Disk;
    use crate::storage::state_store::{StateStore, META_APPLIED};
    use crate::types::typ::LogId;
    use openraft::CommittedLeaderId;

    /// A database as Paddle wrote it before format versions: raw bincode
    /// and raw tags, no header, no version.
    fn unversioned(db: &sled::Db) {
        let meta = db.open_tree("raft_meta").unwrap();
        let last = LogId::new(CommittedLeaderId::new(3, 1), 7);
        meta.insert(b"last_purged", codec::encode(&last).unwrap())
            .unwrap();
        meta.insert(b"sm_active", &b"sm_a"[..]).unwrap();
        let log = db.open_tree("raft_log").unwrap();
        log.insert(
            8u64.to_be_bytes(),
            codec::encode(&(3u64, 1u64, 8u64)).unwrap(),
        )
        .unwrap();
        let sm = db.open_tree("sm_a").unwrap();
        sm.insert(META_APPLIED, codec::encode(&Some(last)).unwrap())
            .unwrap();
        sm.insert(b"t\0k", &[1u8, 0xff, 0xd8][..]).unwrap();
    }

    #[test]
    fn an_unversioned_data_dir_is_migrated_once_and_then_reads_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Disk::open(&dir.path().join("sled"), crate::storage::FlushMode::Fsync).unwrap();
        unversioned(&disk.db);
        assert_eq!(recorded(&disk.db).unwrap(), None);
        assert_eq!(
            open(&disk).unwrap(),
            Opened::Migrated {
                values: 5,
                log_entries: 1
            }
        );
        assert_eq!(recorded(&disk.db).unwrap(), Some(DATA_DIR_VERSION));
        // Every value now carries the header, and reads as it was.
        for name in ["raft_meta", "sm_a"] {
            for item in disk.db.open_tree(name).unwrap().iter() {
                let (k, v) = item.unwrap();
                if k.as_ref() != KEY_FORMAT {
                    assert_eq!(
                        codec::record_format(&v),
                        RecordFormat::Version(codec::FORMAT_VERSION)
                    );
                }
            }
        }
        // The log entry moved to the segments, sealed, and left sled.
        assert!(disk.db.open_tree(OLD_LOG_TREE).unwrap().is_empty());
        let moved = disk.log.read(0, 100).unwrap();
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].0, 8);
        assert_eq!(
            codec::decode_record::<(u64, u64, u64)>(&moved[0].1).unwrap(),
            (3, 1, 8)
        );
        let (_, map, book) = StateStore::open(&disk.db, &dir.path().join("snapshots")).unwrap();
        assert_eq!(book.last_applied.map(|l| l.index), Some(7));
        let got: Vec<_> = map.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(got, vec![(b"t\0k".to_vec(), vec![0xff, 0xd8])]);
        // A second start finds the current version and changes nothing.
        assert_eq!(open(&disk).unwrap(), Opened::Current);
        assert_eq!(disk.log.read(0, 100).unwrap(), moved);
        disk.durability.stop_blocking();
    }

    #[test]
    fn a_migration_cut_short_runs_again_without_sealing_or_copying_twice() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Disk::open(&dir.path().join("sled"), crate::storage::FlushMode::Fsync).unwrap();
        unversioned(&disk.db);
        // As if the first run had sealed one tree, copied part of the log
        // into a segment, and then crashed.
        let log = disk.db.open_tree(OLD_LOG_TREE).unwrap();
        let (k, v) = log.first().unwrap().unwrap();
        log.insert(k, codec::seal_record(&v)).unwrap();
        log.insert(
            9u64.to_be_bytes(),
            codec::encode_record(&(3u64, 1u64, 9u64)).unwrap(),
        )
        .unwrap();
        disk.log.append(&[(8, b"partial".to_vec())]).unwrap();
        assert_eq!(
            open(&disk).unwrap(),
            Opened::Migrated {
                values: 4,
                log_entries: 2
            }
        );
        let moved = disk.log.read(0, 100).unwrap();
        let indexes: Vec<u64> = moved.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, vec![8, 9]);
        assert_eq!(
            codec::decode_record::<(u64, u64, u64)>(&moved[0].1).unwrap(),
            (3, 1, 8)
        );
        disk.durability.stop_blocking();
    }

    #[test]
    fn a_version_1_dir_moves_its_log_and_an_emptied_tree_left_behind_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Disk::open(&dir.path().join("sled"), crate::storage::FlushMode::Fsync).unwrap();
        let meta = disk.db.open_tree("raft_meta").unwrap();
        meta.insert(KEY_FORMAT, &[codec::RECORD_MARK, 1][..])
            .unwrap();
        let log = disk.db.open_tree(OLD_LOG_TREE).unwrap();
        // Entries 2-3 were left below a purge cut short (the log store
        // purges them on open); 10-11 are the log.
        for i in [2u64, 3, 10, 11] {
            log.insert(i.to_be_bytes(), codec::encode_record(&i).unwrap())
                .unwrap();
        }
        assert_eq!(
            open(&disk).unwrap(),
            Opened::Migrated {
                values: 0,
                log_entries: 4
            }
        );
        let indexes: Vec<u64> = disk
            .log
            .read(0, 100)
            .unwrap()
            .iter()
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(indexes, vec![2, 3, 10, 11]);
        // As if the version was recorded and the tree not yet emptied.
        log.insert(10u64.to_be_bytes(), codec::encode_record(&10u64).unwrap())
            .unwrap();
        assert_eq!(open(&disk).unwrap(), Opened::Current);
        assert!(log.is_empty());
        assert_eq!(disk.log.len(), 4);
        disk.durability.stop_blocking();
    }

    #[test]
    fn a_new_data_dir_is_marked_and_a_newer_one_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Disk::open(&dir.path().join("sled"), crate::storage::FlushMode::Fsync).unwrap();
        assert_eq!(open(&disk).unwrap(), Opened::New);
        assert_eq!(recorded(&disk.db).unwrap(), Some(DATA_DIR_VERSION));
        let meta = disk.db.open_tree("raft_meta").unwrap();
        meta.insert(KEY_FORMAT, &[codec::RECORD_MARK, DATA_DIR_VERSION + 1][..])
            .unwrap();
        meta.insert(b"vote", &[codec::RECORD_MARK, DATA_DIR_VERSION + 1, 9][..])
            .unwrap();
        let err = open(&disk).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("format version {}", DATA_DIR_VERSION + 1))
                && text.contains(&format!("reads format version {DATA_DIR_VERSION}")),
            "{text}"
        );
        // Refused before anything was touched.
        assert_eq!(
            meta.get(b"vote").unwrap().unwrap().to_vec(),
            vec![codec::RECORD_MARK, DATA_DIR_VERSION + 1, 9]
        );
        disk.durability.stop_blocking();
    }
}
