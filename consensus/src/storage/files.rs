//! Files beside the database (snapshots, the state base): written whole,
//! synced, and renamed into place, so a crash leaves the old file or the
//! new one, never half of one.
//!
//! A snapshot is tens of MiB while the Raft log's appends are a few KiB,
//! and both wait for the same disk. A snapshot written in one go and then
//! synced puts all of it in the disk's queue at once, and every commit's
//! `fdatasync` waited behind it: one snapshot made the p99 of a run at
//! 5,000 bids/s 22–41 ms against 6–7 ms with none (issue 15, step 13).
//! So a file is written in [`SYNC_EVERY`] pieces, each synced before the
//! next: no more of it than that is ever waiting for the disk.

use std::path::Path;

/// The most bytes of a file written before they are synced.
pub(super) const SYNC_EVERY: usize = 1 << 20;

/// Write `bytes` to `dir/name` atomically and durably: a temporary file,
/// written and synced piece by piece, renamed, then the directory synced.
pub(super) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    for piece in bytes.chunks(SYNC_EVERY) {
        f.write_all(piece)?;
        f.sync_data()?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

/// Give the durable file `dir/from` a second name, `dir/name`, replacing
/// what had it, atomically: a hard link to a temporary name, renamed, then
/// the directory synced. Both names are the same bytes on disk, written
/// once. Errors when the file system cannot link (the caller writes the
/// bytes instead).
pub(super) fn link_atomically(dir: &Path, from: &str, name: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.link"));
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::hard_link(dir.join(from), &tmp)?;
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_several_pieces_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..SYNC_EVERY * 2 + 17).map(|i| (i % 251) as u8).collect();
        write_atomically(dir.path(), "f", &bytes).unwrap();
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), bytes);
        assert!(!dir.path().join("f.tmp").exists());
    }

    #[test]
    fn a_link_replaces_the_old_file_and_shares_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        write_atomically(dir.path(), "current", b"old").unwrap();
        write_atomically(dir.path(), "base-1", b"new").unwrap();
        link_atomically(dir.path(), "base-1", "current").unwrap();
        assert_eq!(std::fs::read(dir.path().join("current")).unwrap(), b"new");
        // A later file under the shared name leaves the first name alone.
        write_atomically(dir.path(), "current", b"newer").unwrap();
        assert_eq!(std::fs::read(dir.path().join("base-1")).unwrap(), b"new");
        assert!(link_atomically(dir.path(), "missing", "current").is_err());
        assert_eq!(std::fs::read(dir.path().join("current")).unwrap(), b"newer");
    }
}
