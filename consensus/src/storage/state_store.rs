//! Where the replicated state lives on disk: a base snapshot file plus a
//! sled tree of the changes applied since.
//!
//! Writing a million keys into sled one by one takes seconds (sled inserts
//! run at ~100k/s here), and a node catching up from a large snapshot would
//! spend them before it could vote. So an installed snapshot is kept as it
//! arrived: a checksummed file, written and fsynced in one go, that becomes
//! the *base*.
//!
//! Applies append to the *delta* tree: an apply batch's changed keys (puts
//! and deletes, in order) as one byte stream cut into values of at most
//! `chunks::CHUNK_BYTES` (4 KiB), keyed by the batch's last log index, together with
//! last-applied, membership and the last stamp, as one sled batch on one
//! tree, so they commit atomically. A bid changes about four keys; one
//! sled insert per key was the apply path's main cost (issue 15), one per
//! 4 KiB of changes is a few per batch. Loading is: read the base, replay
//! the delta's chunks after the base's index in order.
//!
//! The delta would grow with every batch, so each snapshot the node builds
//! becomes the new base ([`StateStore::rebase`]): the file is written, the
//! base switched, and the chunks it covers deleted. Chunks at or below the
//! base's index are skipped on load, so a crash between those steps loses
//! nothing and replays nothing twice. Deltas written one key per value
//! (before chunks) are converted into one chunk when first opened.
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

use super::chunks::{
    chunk_key, encode_writes, insert_chunks, replay_writes, CHUNK, CHUNK_PREFIX, PUT, TOMBSTONE,
};
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
    /// The last log index the base holds (chunks up to it are in it).
    base_index: Option<u64>,
}

fn index_of(l: &Option<LogId>) -> u64 {
    l.map_or(0, |l| l.index)
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
        let base_index = base.as_ref().map(|_| index_of(&book.last_applied));
        let base_book = book.clone();
        // Chunks in key order are batches in log order; one batch's chunks
        // are joined before they are replayed.
        let mut batch_index = None;
        let mut stream = Vec::new();
        let mut one_key = Vec::new();
        for item in delta.iter() {
            let (k, v) = item.map_err(|e| e.to_string())?;
            let bad = |e: codec::CodecError| format!("damaged bookkeeping in {active}: {e}");
            match &*k {
                META_APPLIED => book.last_applied = codec::decode_record(&v).map_err(bad)?,
                META_MEMBERSHIP => book.membership = codec::decode_record(&v).map_err(bad)?,
                META_STAMP => book.last_stamp_ms = codec::decode_record(&v).map_err(bad)?,
                _ if k.first() == Some(&0) => {}
                _ if k.first() == Some(&CHUNK_PREFIX) && k.len() == 13 => {
                    let index = u64::from_be_bytes(k[1..9].try_into().expect("13-byte key"));
                    if base_index.is_some_and(|b| index <= b) {
                        continue; // in the base already (a rebase was cut short)
                    }
                    let part = match codec::open_record(&v)
                        .map_err(|e| format!("chunk in {active}: {e}"))?
                        .split_first()
                    {
                        Some((&CHUNK, part)) => part,
                        _ => return Err(format!("damaged chunk in {active}")),
                    };
                    if batch_index != Some(index) {
                        replay_writes(&mut map, &stream).map_err(|e| format!("{active}: {e}"))?;
                        stream.clear();
                        batch_index = Some(index);
                    }
                    stream.extend_from_slice(part);
                }
                _ => match codec::open_record(&v)
                    .map_err(|e| format!("value in {active}: {e}"))?
                    .split_first()
                {
                    Some((&PUT, value)) => {
                        one_key.push(Write::Put(k.as_ref().into(), value.into()));
                    }
                    Some((&TOMBSTONE, _)) => one_key.push(Write::Delete(k.as_ref().into())),
                    _ => return Err(format!("damaged value in {active}")),
                },
            }
        }
        replay_writes(&mut map, &stream).map_err(|e| format!("{active}: {e}"))?;
        // A rebase can run before the write of the batch it was built at
        // (the view is published first; the write follows on the writer
        // thread): the delta's bookkeeping is then behind the base. The
        // base is the newer state, so its bookkeeping stands; taking the
        // delta's would apply the entries in between a second time.
        if base_index.is_some_and(|b| index_of(&book.last_applied) < b) {
            book = base_book;
        }
        let mut store = StateStore {
            db: db.clone(),
            raft_meta,
            delta,
            dir: dir.to_path_buf(),
            base,
            base_index,
        };
        if !one_key.is_empty() {
            store.convert_one_key_values(one_key, &mut map, &book)?;
        }
        Ok((store, map, book))
    }

    /// A delta written one key per value (before chunks) becomes one chunk
    /// at the last applied index, in one atomic batch on its tree. Such a
    /// delta holds no chunks: every chunk is written after this ran.
    fn convert_one_key_values(
        &mut self,
        writes: Vec<Write>,
        map: &mut StateMap,
        book: &Bookkeeping,
    ) -> Result<(), String> {
        let index = index_of(&book.last_applied);
        if self.base_index.is_some_and(|b| index <= b) {
            return Err(format!(
                "one-key changes in the delta at index {index}, not after the base's {:?}",
                self.base_index
            ));
        }
        let stream = encode_writes(&writes);
        replay_writes(map, &stream)?;
        let mut batch = sled::Batch::default();
        for w in &writes {
            match w {
                Write::Put(k, _) | Write::Delete(k) => batch.remove(&**k),
            }
        }
        insert_chunks(&mut batch, index, &stream);
        self.delta.apply_batch(batch).map_err(|e| e.to_string())?;
        tracing::info!(
            keys = writes.len(),
            index,
            "converted the state's one-key changes into a chunk"
        );
        Ok(())
    }

    /// Write one apply batch: the changed keys as chunks and the
    /// bookkeeping, as one atomic sled batch.
    pub(super) fn write_batch(&self, writes: Vec<Write>, book: &Bookkeeping) -> Result<(), String> {
        let mut batch = sled::Batch::default();
        if !writes.is_empty() {
            insert_chunks(
                &mut batch,
                index_of(&book.last_applied),
                &encode_writes(&writes),
            );
        }
        book.write(&mut batch)?;
        self.delta.apply_batch(batch).map_err(|e| e.to_string())
    }

    /// Whether a snapshot at `index` would be a newer base than the current.
    pub(super) fn would_rebase(&self, index: u64) -> bool {
        self.base_index.is_none_or(|b| b < index)
    }

    /// Make this node's own snapshot (`bytes`, described by `header`, its
    /// file already written as `file` and synced) the base, and drop the
    /// chunks it covers. Chunks after it stay: applies went on meanwhile.
    /// A crash after the switch leaves covered chunks that load skips.
    pub(super) fn rebase(
        &mut self,
        file: &str,
        header: &SnapshotHeader,
        durability: &Durability,
    ) -> Result<bool, String> {
        let index = index_of(&header.last_applied);
        if !self.would_rebase(index) {
            // A newer snapshot was installed meanwhile: this one is not
            // needed as a base.
            if self.base.as_deref() != Some(file) {
                let _ = std::fs::remove_file(self.dir.join(file));
            }
            return Ok(false);
        }
        self.raft_meta
            .insert(KEY_BASE, codec::seal_record(file.as_bytes()))
            .map_err(|e| e.to_string())?;
        durability.sync_blocking().map_err(|e| e.to_string())?;
        let old_base = std::mem::replace(&mut self.base, Some(file.to_string()));
        self.base_index = Some(index);
        let mut batch = sled::Batch::default();
        for k in self
            .delta
            .range(&chunk_key(0, 0)[..]..=&chunk_key(index, u32::MAX)[..])
            .keys()
        {
            batch.remove(k.map_err(|e| e.to_string())?);
        }
        self.delta.apply_batch(batch).map_err(|e| e.to_string())?;
        if let Some(old) = old_base.filter(|o| o != file) {
            let _ = std::fs::remove_file(self.dir.join(old));
        }
        Ok(true)
    }

    /// Write the base file for a snapshot (atomically, synced); returns its
    /// name. Blocking; done before [`StateStore::rebase`] takes the store.
    pub(super) fn write_base_file(
        dir: &Path,
        header: &SnapshotHeader,
        bytes: &[u8],
    ) -> Result<String, String> {
        let file = base_file_name(header);
        write_file(dir, &file, bytes)?;
        Ok(file)
    }

    /// Where base files go.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
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
        self.base_index = Some(index_of(&header.last_applied));
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
#[path = "state_store_tests.rs"]
mod tests;
