//! Where the replicated state lives on disk: a base snapshot file plus a
//! sled tree of the changes applied since.
//!
//! Writing a million keys into sled one by one takes seconds (sled inserts
//! run at ~100k/s here), and a node catching up from a large snapshot would
//! spend them before it could vote. So an installed snapshot is kept as it
//! arrived: a checksummed file, written and fsynced in one go, that becomes
//! the *base*. Applies then write each changed key into the *delta* tree
//! (a tombstone for a delete) together with last-applied, membership and
//! the last stamp, as one sled batch on one tree, so they commit atomically.
//! Loading is: read the base, overlay the delta.
//!
//! Two delta trees (`sm_a`, `sm_b`) take turns. Installing a snapshot
//! writes the new base file, fills the idle delta tree with just the
//! bookkeeping, syncs, and then switches `raft_meta`'s `sm_base` and
//! `sm_active` together in one batch: a crash leaves the old state or the
//! new one, never a mix.
//!
//! Every value in these trees is a versioned record (`format.rs`): the
//! header, then for a state key its put/delete tag and bytes.

use std::path::{Path, PathBuf};

use paddle_proto::codec;

use super::durable::Durability;
use super::snapshot::{self, SnapshotHeader};
use crate::kv::{StateMap, Write};
use crate::types::typ::{LogId, StoredMembership};

pub(super) const KEY_ACTIVE: &[u8] = b"sm_active";
pub(super) const KEY_BASE: &[u8] = b"sm_base";
/// Reserved keys inside a delta tree: they start with NUL, which no
/// application key can (application keys start with a tree name).
pub(super) const META_APPLIED: &[u8] = b"\0applied";
pub(super) const META_MEMBERSHIP: &[u8] = b"\0membership";
pub(super) const META_STAMP: &[u8] = b"\0stamp";
/// First byte of a delta value: the key holds the rest.
const PUT: u8 = 1;
/// First byte of a delta value: the key was deleted (it may be in the base).
const TOMBSTONE: u8 = 0;

/// The Raft bookkeeping stored with the state.
#[derive(Debug, Clone, Default)]
pub(super) struct Bookkeeping {
    pub(super) last_applied: Option<LogId>,
    pub(super) membership: StoredMembership,
    pub(super) last_stamp_ms: u64,
}

impl Bookkeeping {
    fn from_header(h: &SnapshotHeader) -> Self {
        Bookkeeping {
            last_applied: h.last_applied,
            membership: h.membership.clone(),
            last_stamp_ms: h.last_stamp_ms,
        }
    }

    fn write(&self, batch: &mut sled::Batch) -> Result<(), String> {
        let enc = |e: codec::CodecError| e.to_string();
        batch.insert(
            META_APPLIED,
            codec::encode_record(&self.last_applied).map_err(enc)?,
        );
        batch.insert(
            META_MEMBERSHIP,
            codec::encode_record(&self.membership).map_err(enc)?,
        );
        batch.insert(
            META_STAMP,
            codec::encode_record(&self.last_stamp_ms).map_err(enc)?,
        );
        Ok(())
    }
}

/// The on-disk state: base file and delta tree.
pub(super) struct StateStore {
    db: sled::Db,
    raft_meta: sled::Tree,
    delta: sled::Tree,
    dir: PathBuf,
    base: Option<String>,
}

fn other(name: &[u8]) -> &'static str {
    if name == b"sm_a" {
        "sm_b"
    } else {
        "sm_a"
    }
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    super::files::write_atomically(dir, name, bytes)
        .map_err(|e| format!("{}: {e}", dir.join(name).display()))
}

impl StateStore {
    /// Open the state under `db` (trees) and `dir` (base files) and load it.
    pub(super) fn open(db: &sled::Db, dir: &Path) -> Result<(Self, StateMap, Bookkeeping), String> {
        let raft_meta = db.open_tree("raft_meta").map_err(|e| e.to_string())?;
        let name = |key: &[u8]| -> Result<Option<String>, String> {
            match raft_meta.get(key).map_err(|e| e.to_string())? {
                Some(v) => codec::open_record(&v)
                    .map(|v| Some(String::from_utf8_lossy(v).into_owned()))
                    .map_err(|e| format!("raft_meta {}: {e}", String::from_utf8_lossy(key))),
                None => Ok(None),
            }
        };
        let active = name(KEY_ACTIVE)?.unwrap_or_else(|| "sm_a".to_string());
        let base = name(KEY_BASE)?;
        let delta = db.open_tree(&active).map_err(|e| e.to_string())?;
        let (mut map, mut book) = match &base {
            Some(file) => {
                let path = dir.join(file);
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let (header, map) =
                    snapshot::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                (map, Bookkeeping::from_header(&header))
            }
            None => (StateMap::new(), Bookkeeping::default()),
        };
        for item in delta.iter() {
            let (k, v) = item.map_err(|e| e.to_string())?;
            let bad = |e: codec::CodecError| format!("damaged bookkeeping in {active}: {e}");
            match &*k {
                META_APPLIED => book.last_applied = codec::decode_record(&v).map_err(bad)?,
                META_MEMBERSHIP => book.membership = codec::decode_record(&v).map_err(bad)?,
                META_STAMP => book.last_stamp_ms = codec::decode_record(&v).map_err(bad)?,
                _ if k.first() == Some(&0) => {}
                _ => match codec::open_record(&v)
                    .map_err(|e| format!("value in {active}: {e}"))?
                    .split_first()
                {
                    Some((&PUT, value)) => {
                        map.insert(k.as_ref().into(), value.into());
                    }
                    Some((&TOMBSTONE, _)) => {
                        map.remove(k.as_ref());
                    }
                    _ => return Err(format!("damaged value in {active}")),
                },
            }
        }
        let store = StateStore {
            db: db.clone(),
            raft_meta,
            delta,
            dir: dir.to_path_buf(),
            base,
        };
        Ok((store, map, book))
    }

    /// Write one apply batch: the changed keys and the bookkeeping, as one
    /// atomic sled batch.
    pub(super) fn write_batch(&self, writes: Vec<Write>, book: &Bookkeeping) -> Result<(), String> {
        let mut batch = sled::Batch::default();
        let mut tagged = Vec::new();
        for w in writes {
            match w {
                Write::Put(k, v) => {
                    tagged.clear();
                    tagged.reserve(v.len() + 1 + codec::RECORD_HEADER);
                    tagged.extend_from_slice(&[codec::RECORD_MARK, codec::FORMAT_VERSION, PUT]);
                    tagged.extend_from_slice(&v);
                    batch.insert(&*k, tagged.as_slice());
                }
                // Without a base nothing else holds the key: just remove it.
                Write::Delete(k) if self.base.is_none() => batch.remove(&*k),
                Write::Delete(k) => batch.insert(&*k, codec::seal_record(&[TOMBSTONE])),
            }
        }
        book.write(&mut batch)?;
        self.delta.apply_batch(batch).map_err(|e| e.to_string())
    }

    /// Make the snapshot `bytes` (already checked, described by `header`)
    /// the whole state: new base file, empty delta, switched atomically.
    /// Blocking (file writes, fsyncs); call off the async threads.
    pub(super) fn install(
        &mut self,
        bytes: &[u8],
        header: &SnapshotHeader,
        durability: &Durability,
    ) -> Result<(), String> {
        let file = base_file_name(header);
        write_file(&self.dir, &file, bytes)?;
        let idle = self
            .db
            .open_tree(other(&self.delta.name()))
            .map_err(|e| e.to_string())?;
        idle.clear().map_err(|e| e.to_string())?;
        let mut batch = sled::Batch::default();
        Bookkeeping::from_header(header).write(&mut batch)?;
        idle.apply_batch(batch).map_err(|e| e.to_string())?;
        durability.sync_blocking().map_err(|e| e.to_string())?;
        // The switch: from here on a restart loads the new state.
        let mut flip = sled::Batch::default();
        flip.insert(KEY_BASE, codec::seal_record(file.as_bytes()));
        flip.insert(KEY_ACTIVE, codec::seal_record(&idle.name()));
        self.raft_meta
            .apply_batch(flip)
            .map_err(|e| e.to_string())?;
        durability.sync_blocking().map_err(|e| e.to_string())?;
        let old_delta = std::mem::replace(&mut self.delta, idle);
        let old_base = std::mem::replace(&mut self.base, Some(file.clone()));
        // Leftovers of the old state; a crash before this only wastes space
        // until the next install.
        old_delta.clear().map_err(|e| e.to_string())?;
        if let Some(old) = old_base.filter(|o| *o != file) {
            let _ = std::fs::remove_file(self.dir.join(old));
        }
        Ok(())
    }
}

/// A file name for the base of snapshot `header` (ids are our own format,
/// but keep only safe characters anyway).
fn base_file_name(header: &SnapshotHeader) -> String {
    let id: String = header
        .snapshot_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("base-{id}.snap")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::Bytes;
    use crate::storage::durable::Disk;

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
                .write_batch(vec![Write::Put(b("t\0a"), b("1"))], &Bookkeeping::default())
                .unwrap();
            // Install a base holding b and c: a is gone, b and c are in.
            let mut base = StateMap::new();
            base.insert(b("t\0b"), b("2"));
            base.insert(b("t\0c"), b("3"));
            let header = SnapshotHeader {
                snapshot_id: "1-10-1".into(),
                last_applied: None,
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
                        ..Default::default()
                    },
                )
                .unwrap();
            disk.durability.stop_blocking();
        }
        let (_disk, _store, map) = open(dir.path());
        let got: Vec<(Vec<u8>, Vec<u8>)> =
            map.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(
            got,
            vec![
                (b"t\0c".to_vec(), b"33".to_vec()),
                (b"t\0d".to_vec(), b"4".to_vec())
            ]
        );
    }
}
