//! The data dir's format version, and the migration of data dirs written
//! before versions existed.
//!
//! Every value this module's siblings keep in sled is a versioned record
//! (`paddle_proto::codec::seal_record`: 0xFF, the format version, the
//! payload), and `raft_meta` holds the data dir's own version under
//! [`KEY_FORMAT`]. On open:
//!
//! - a new, empty database gets this build's version;
//! - a database of this build's version is used as it is;
//! - one of another version (a newer build's, or a future format this build
//!   cannot read) is refused with both versions named, before anything is
//!   read or written;
//! - one without a version (written by Paddle before versions existed, whose
//!   encodings are format 1's) is migrated: every value of every tree gets
//!   the header, one atomic sled batch per tree, then the version is
//!   recorded. Values already carrying a header are left alone, so a
//!   migration cut short by a crash simply runs again on the next start.
//!   Headerless values can be told apart safely: none of them ever started
//!   with 0xFF (see `codec`).

use paddle_proto::codec::{self, RecordFormat, FORMAT_VERSION};

use super::durable::Durability;

/// Key of the data dir's format version in `raft_meta`.
pub(super) const KEY_FORMAT: &[u8] = b"format";

/// What opening found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// An empty database, now marked with this build's version.
    New,
    /// Already this build's version.
    Current,
    /// Written before versions existed; this many values were rewritten.
    Migrated { values: u64 },
}

/// Why a data dir cannot be used by this build.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(
        "the data dir has format version {found}, but this build of paddle reads format version \
         {supported} (and migrates unversioned data dirs); run the paddle release that wrote it, \
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

/// Check `db`'s format and bring an unversioned one up to this build's,
/// syncing before the version is recorded.
pub(super) fn open(db: &sled::Db, durability: &Durability) -> Result<Opened, FormatError> {
    match recorded(db)? {
        Some(FORMAT_VERSION) => return Ok(Opened::Current),
        Some(found) => {
            return Err(FormatError::Unsupported {
                found,
                supported: FORMAT_VERSION,
            })
        }
        None => {}
    }
    let mut values = 0u64;
    let mut any = false;
    for name in db.tree_names() {
        if name == b"__sled__default" {
            continue;
        }
        let tree = db.open_tree(&name).map_err(storage)?;
        let mut batch = sled::Batch::default();
        for item in tree.iter() {
            let (k, v) = item.map_err(storage)?;
            any = true;
            if codec::record_format(&v) == RecordFormat::Unversioned {
                batch.insert(k, codec::seal_record(&v));
                values += 1;
            }
        }
        tree.apply_batch(batch).map_err(storage)?;
    }
    if any {
        durability.sync_blocking().map_err(storage)?;
    }
    mark(db)?;
    durability.sync_blocking().map_err(storage)?;
    Ok(if any {
        tracing::info!(
            values,
            version = FORMAT_VERSION,
            "migrated an unversioned data dir to the current format"
        );
        Opened::Migrated { values }
    } else {
        Opened::New
    })
}

/// Record this build's format version.
pub(super) fn mark(db: &sled::Db) -> Result<(), FormatError> {
    let meta = db.open_tree("raft_meta").map_err(storage)?;
    meta.insert(KEY_FORMAT, codec::seal_record(&[]))
        .map_err(storage)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::durable::Disk;
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
            open(&disk.db, &disk.durability).unwrap(),
            Opened::Migrated { values: 5 }
        );
        assert_eq!(recorded(&disk.db).unwrap(), Some(FORMAT_VERSION));
        // Every value now carries the header, and reads as it was.
        for name in ["raft_meta", "raft_log", "sm_a"] {
            for item in disk.db.open_tree(name).unwrap().iter() {
                let (_, v) = item.unwrap();
                assert_eq!(
                    codec::record_format(&v),
                    RecordFormat::Version(FORMAT_VERSION)
                );
            }
        }
        let (_, map, book) = StateStore::open(&disk.db, &dir.path().join("snapshots")).unwrap();
        assert_eq!(book.last_applied.map(|l| l.index), Some(7));
        let got: Vec<_> = map.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(got, vec![(b"t\0k".to_vec(), vec![0xff, 0xd8])]);
        // A second start finds the current format and changes nothing.
        assert_eq!(open(&disk.db, &disk.durability).unwrap(), Opened::Current);
        disk.durability.stop_blocking();
    }

    #[test]
    fn a_migration_cut_short_runs_again_without_sealing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Disk::open(&dir.path().join("sled"), crate::storage::FlushMode::Fsync).unwrap();
        unversioned(&disk.db);
        // As if the first run had sealed one tree and then crashed.
        let log = disk.db.open_tree("raft_log").unwrap();
        let (k, v) = log.first().unwrap().unwrap();
        log.insert(k, codec::seal_record(&v)).unwrap();
        assert_eq!(
            open(&disk.db, &disk.durability).unwrap(),
            Opened::Migrated { values: 4 }
        );
        let (_, v) = log.first().unwrap().unwrap();
        assert_eq!(
            codec::decode_record::<(u64, u64, u64)>(&v).unwrap(),
            (3, 1, 8)
        );
        disk.durability.stop_blocking();
    }

    #[test]
    fn a_new_data_dir_is_marked_and_a_newer_one_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Disk::open(&dir.path().join("sled"), crate::storage::FlushMode::Fsync).unwrap();
        assert_eq!(open(&disk.db, &disk.durability).unwrap(), Opened::New);
        let meta = disk.db.open_tree("raft_meta").unwrap();
        meta.insert(KEY_FORMAT, &[codec::RECORD_MARK, FORMAT_VERSION + 1][..])
            .unwrap();
        meta.insert(b"vote", &[codec::RECORD_MARK, FORMAT_VERSION + 1, 9][..])
            .unwrap();
        let err = open(&disk.db, &disk.durability).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("format version {}", FORMAT_VERSION + 1))
                && text.contains(&format!("reads format version {FORMAT_VERSION}")),
            "{text}"
        );
        // Refused before anything was touched.
        assert_eq!(
            meta.get(b"vote").unwrap().unwrap().to_vec(),
            vec![codec::RECORD_MARK, FORMAT_VERSION + 1, 9]
        );
        disk.durability.stop_blocking();
    }
}
