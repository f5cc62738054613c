//! The Raft log's entries in append-only segment files, synced by their own
//! thread.
//!
//! sled made every append pay for a sled flush (its page cache, its own
//! log, `sync_file_range`) before our fdatasync: 1–2 ms a commit where a
//! plain fdatasync of appended bytes takes 0.3 ms on the same disk
//! (BENCHMARKS.md, step 9). So the entries live here instead, in files
//! named after their first index (`00000000000000000001.seg`) under
//! `raft/log/`. Each record is
//!
//! ```text
//! index: u64 LE | length: u32 LE | crc32(index bytes ++ payload): u32 LE | payload
//! ```
//!
//! and the payload is the versioned record (`codec::encode_record`) sled
//! held before. A segment takes appends until it passes [`SEGMENT_BYTES`];
//! before the next one is created the full one is fdatasync'd, and a new
//! file's directory entry is synced before anything is written to it, so a
//! crash can only tear the tail of the last segment. Opening drops such a
//! tail (it was never acknowledged: acknowledgements wait for the
//! fdatasync that covers them). Segments need not follow each other: a
//! purge past the last entry, cut short by a crash, leaves the old ones
//! below a gap until the log store purges them again on open.
//!
//! Appends return at once (the entries are readable); [`SegmentLog::sync`]
//! queues the fdatasync on the `paddle-logsync` thread, which serves every
//! request queued while it was syncing with one call (group commit).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use super::durable::{wait_blocking, Done, FlushMode};

/// A segment takes no more appends once it holds this many bytes.
pub(crate) const SEGMENT_BYTES: u64 = 32 * 1024 * 1024;
/// Bytes before each record's payload.
const HEADER: usize = 16;

/// One file of consecutive entries `first..first + offsets.len()`.
struct Segment {
    first: u64,
    path: PathBuf,
    file: Arc<File>,
    /// Offset of each entry's record; the file's valid length is `len`.
    offsets: Vec<u64>,
    len: u64,
}

impl Segment {
    fn next(&self) -> u64 {
        self.first + self.offsets.len() as u64
    }

    /// Byte range of entries `from..to` (both inside this segment).
    fn span(&self, from: u64, to: u64) -> (u64, u64) {
        let start = self.offsets[(from - self.first) as usize];
        let end = if to >= self.next() {
            self.len
        } else {
            self.offsets[(to - self.first) as usize]
        };
        (start, end)
    }
}

struct Inner {
    segments: Vec<Segment>,
    /// Entries at or below this index are purged: never read, even while
    /// the segment holding them is kept for later entries.
    purged: Option<u64>,
    /// Set by [`SegmentLog::close`]: every later call fails.
    closed: bool,
}

/// The segment files of one node's Raft log.
pub(crate) struct SegmentLog {
    dir: PathBuf,
    inner: Mutex<Inner>,
    syncer: Option<mpsc::Sender<(Arc<File>, Done)>>,
}

fn corrupt(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn checksum(index: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&index.to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn encode_into(out: &mut Vec<u8>, index: u64, payload: &[u8]) {
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(index, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The record at the start of `bytes` if it is whole, carries `index` and
/// matches its checksum: its payload and its total length.
fn decode_at(bytes: &[u8], index: u64) -> Option<(&[u8], usize)> {
    let header = bytes.get(..HEADER)?;
    let at = u64::from_le_bytes(header[..8].try_into().ok()?);
    let len = u32::from_le_bytes(header[8..12].try_into().ok()?) as usize;
    let sum = u32::from_le_bytes(header[12..16].try_into().ok()?);
    let payload = bytes.get(HEADER..HEADER + len)?;
    (at == index && checksum(index, payload) == sum).then_some((payload, HEADER + len))
}

fn segment_name(first: u64) -> String {
    format!("{first:020}.seg")
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl SegmentLog {
    /// Open (or create) the log under `dir`, dropping a torn tail.
    pub(crate) fn open(dir: &Path, mode: FlushMode) -> io::Result<Arc<Self>> {
        std::fs::create_dir_all(dir)?;
        let mut found: Vec<(u64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let first = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".seg"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(first) = first {
                found.push((first, path));
            }
        }
        found.sort();
        let mut segments: Vec<Segment> = Vec::new();
        let mut changed = false;
        let mut torn = false;
        for (first, path) in found {
            if torn {
                // After a torn tail nothing was acknowledged.
                std::fs::remove_file(&path)?;
                changed = true;
                continue;
            }
            if let Some(prev) = segments.last() {
                if first < prev.next() {
                    return Err(corrupt(format!(
                        "log segment {} overlaps the one before it (which ends at {})",
                        path.display(),
                        prev.next()
                    )));
                }
            }
            let bytes = std::fs::read(&path)?;
            let mut offsets = Vec::new();
            let mut at = 0usize;
            while at < bytes.len() {
                match decode_at(&bytes[at..], first + offsets.len() as u64) {
                    Some((_, n)) => {
                        offsets.push(at as u64);
                        at += n;
                    }
                    None => break,
                }
            }
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)?;
            if at < bytes.len() {
                tracing::warn!(
                    segment = %path.display(),
                    kept = offsets.len(),
                    dropped_bytes = bytes.len() - at,
                    "dropping the log's torn tail (never acknowledged)"
                );
                file.set_len(at as u64)?;
                file.sync_data()?;
                torn = true;
            }
            segments.push(Segment {
                first,
                path,
                file: Arc::new(file),
                offsets,
                len: at as u64,
            });
        }
        if changed {
            sync_dir(dir)?;
        }
        let syncer = match mode {
            FlushMode::Fsync => Some(start_syncer()?),
            FlushMode::Inline => None,
        };
        Ok(Arc::new(SegmentLog {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                segments,
                purged: None,
                closed: false,
            }),
            syncer,
        }))
    }

    fn lock(&self) -> io::Result<std::sync::MutexGuard<'_, Inner>> {
        let inner = self.inner.lock().expect("segment log lock");
        if inner.closed {
            return Err(io::Error::other("the log is closed"));
        }
        Ok(inner)
    }

    /// Write `entries` (index, record, in rising order); they are readable
    /// at once and durable after a later [`SegmentLog::sync`]. Entries
    /// from the first one's index on are replaced; an index past the next
    /// one starts a segment of its own (openraft leaves such a gap only by
    /// purging past the end, and then the entries before it are purged).
    pub(crate) fn append(&self, entries: &[(u64, Vec<u8>)]) -> io::Result<()> {
        let mut inner = self.lock()?;
        if let Some((first, _)) = entries.first() {
            // openraft truncates before it overwrites; replacing from here
            // on keeps the log a run of entries whatever the caller does.
            if inner.segments.last().is_some_and(|s| *first < s.next()) {
                drop(inner);
                self.truncate(*first)?;
                inner = self.lock()?;
            }
        }
        let mut buf = Vec::new();
        let mut i = 0;
        while i < entries.len() {
            let index = entries[i].0;
            let need_new = match inner.segments.last() {
                None => true,
                // A gap (after a purge past the end): a segment of its own.
                Some(s) => s.next() != index || s.len >= SEGMENT_BYTES,
            };
            if need_new {
                if let Some(full) = inner.segments.last() {
                    full.file.sync_data()?;
                }
                let path = self.dir.join(segment_name(index));
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)?;
                sync_dir(&self.dir)?;
                inner.segments.push(Segment {
                    first: index,
                    path,
                    file: Arc::new(file),
                    offsets: Vec::new(),
                    len: 0,
                });
            }
            let seg = inner.segments.last_mut().expect("a segment");
            buf.clear();
            let mut offsets = Vec::new();
            // Fill this segment up to its limit, in one write.
            while i < entries.len() && seg.len + (buf.len() as u64) < SEGMENT_BYTES {
                let (index, payload) = &entries[i];
                if *index != seg.next() + offsets.len() as u64 {
                    break;
                }
                offsets.push(seg.len + buf.len() as u64);
                encode_into(&mut buf, *index, payload);
                i += 1;
            }
            seg.file.write_all_at(&buf, seg.len)?;
            seg.len += buf.len() as u64;
            seg.offsets.extend(offsets);
        }
        Ok(())
    }

    /// Make everything appended so far durable, then call `done` (on the
    /// sync thread; inline mode: here, at once, with no fdatasync).
    pub(crate) fn sync(&self, done: Done) {
        let file = match self.lock() {
            Ok(inner) => inner.segments.last().map(|s| s.file.clone()),
            Err(e) => return done(Err(e)),
        };
        match (&self.syncer, file) {
            (Some(tx), Some(file)) => {
                if let Err(mpsc::SendError((_, done))) = tx.send((file, done)) {
                    done(Err(io::Error::other("the log sync thread has stopped")));
                }
            }
            // Nothing written yet, or inline: nothing to wait for.
            _ => done(Ok(())),
        }
    }

    /// [`SegmentLog::sync`], waiting on this thread.
    pub(crate) fn sync_blocking(&self) -> io::Result<()> {
        wait_blocking(|done| self.sync(done), "the log sync thread has stopped")
    }

    /// The records of entries `from..to` that the log holds, in order.
    pub(crate) fn read(&self, from: u64, to: u64) -> io::Result<Vec<(u64, Vec<u8>)>> {
        self.read_each(from, to, |index, payload| Ok((index, payload.to_vec())))
    }

    /// `each` over the records of entries `from..to` that the log holds, in
    /// order, straight from the bytes read (one read per segment, no copy
    /// of each record): the replication path decodes entries this way.
    pub(crate) fn read_each<T, E: From<io::Error>>(
        &self,
        from: u64,
        to: u64,
        mut each: impl FnMut(u64, &[u8]) -> Result<T, E>,
    ) -> Result<Vec<T>, E> {
        let inner = self.lock()?;
        let from = inner.purged.map_or(from, |p| from.max(p.saturating_add(1)));
        let mut out = Vec::new();
        for seg in &inner.segments {
            let (a, b) = (from.max(seg.first), to.min(seg.next()));
            if a >= b {
                continue;
            }
            let (start, end) = seg.span(a, b);
            let mut bytes = vec![0u8; (end - start) as usize];
            seg.file.read_exact_at(&mut bytes, start)?;
            let mut at = 0usize;
            for index in a..b {
                let (payload, n) = decode_at(&bytes[at..], index).ok_or_else(|| {
                    corrupt(format!(
                        "log entry {index} in {} fails its checksum",
                        seg.path.display()
                    ))
                })?;
                out.push(each(index, payload)?);
                at += n;
            }
        }
        Ok(out)
    }

    /// The last entry's record, if the log holds any entry.
    pub(crate) fn last(&self) -> io::Result<Option<(u64, Vec<u8>)>> {
        match self.last_index()? {
            Some(last) => Ok(self.read(last, last + 1)?.pop()),
            None => Ok(None),
        }
    }

    /// Index of the last entry held, if any.
    pub(crate) fn last_index(&self) -> io::Result<Option<u64>> {
        let inner = self.lock()?;
        let last = inner
            .segments
            .iter()
            .rev()
            .find(|s| !s.offsets.is_empty())
            .map(|s| s.next() - 1);
        Ok(last.filter(|l| inner.purged.is_none_or(|p| *l > p)))
    }

    /// Number of entries held.
    pub(crate) fn len(&self) -> usize {
        let Ok(inner) = self.lock() else { return 0 };
        let purged = inner.purged.map_or(0, |p| p.saturating_add(1));
        inner
            .segments
            .iter()
            .map(|s| s.next().saturating_sub(s.first.max(purged)) as usize)
            .sum()
    }

    /// Remove entries `from..` durably before returning.
    pub(crate) fn truncate(&self, from: u64) -> io::Result<()> {
        let mut inner = self.lock()?;
        let mut removed = false;
        while inner.segments.last().is_some_and(|s| s.first >= from) {
            let seg = inner.segments.pop().expect("checked");
            std::fs::remove_file(&seg.path)?;
            removed = true;
        }
        // Removed for good before anything is written after them: a
        // segment that came back after a power cut would bring back
        // entries the leader overwrote.
        if removed {
            sync_dir(&self.dir)?;
        }
        if let Some(seg) = inner.segments.last_mut() {
            if from < seg.next() {
                let keep = from.saturating_sub(seg.first) as usize;
                seg.len = seg.offsets[keep];
                seg.offsets.truncate(keep);
                seg.file.set_len(seg.len)?;
                seg.file.sync_data()?;
            }
        }
        Ok(())
    }

    /// Forget entries up to `upto` and delete the segments that hold
    /// nothing else. The caller records the purge point durably first (and
    /// passes it again after a restart): entries below it left in a kept
    /// segment are never read.
    pub(crate) fn purge(&self, upto: u64) -> io::Result<()> {
        let mut inner = self.lock()?;
        inner.purged = inner.purged.max(Some(upto));
        let mut removed = false;
        while inner.segments.first().is_some_and(|s| s.next() <= upto + 1) {
            let seg = inner.segments.remove(0);
            std::fs::remove_file(&seg.path)?;
            removed = true;
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Refuse every later call (a stopped member's tasks may linger a
    /// moment; its restart in the same process opens the files anew).
    pub(crate) fn close(&self) {
        let mut inner = self.inner.lock().expect("segment log lock");
        inner.closed = true;
        inner.segments.clear();
    }
}

/// The thread that fdatasyncs segments: each round takes every queued
/// request, syncs each distinct file once, then answers them all.
fn start_syncer() -> io::Result<mpsc::Sender<(Arc<File>, Done)>> {
    let (tx, rx) = mpsc::channel::<(Arc<File>, Done)>();
    thread::Builder::new()
        .name("paddle-logsync".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let batch: Vec<(Arc<File>, Done)> =
                    std::iter::once(first).chain(rx.try_iter()).collect();
                let mut synced: Vec<(Arc<File>, io::Result<()>)> = Vec::new();
                for (file, _) in &batch {
                    if !synced.iter().any(|(f, _)| Arc::ptr_eq(f, file)) {
                        let r = file.sync_data();
                        if let Err(e) = &r {
                            tracing::error!(error = %e, "fdatasync of the log failed");
                        }
                        synced.push((file.clone(), r));
                    }
                }
                for (file, done) in batch {
                    let r = synced
                        .iter()
                        .find(|(f, _)| Arc::ptr_eq(f, &file))
                        .map(|(_, r)| match r {
                            Ok(()) => Ok(()),
                            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                        })
                        .expect("synced above");
                    done(r);
                }
            }
        })?;
    Ok(tx)
}

#[cfg(test)]
#[path = "segments_tests.rs"]
mod tests;
