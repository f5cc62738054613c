//! Files beside the database (snapshots, the state base): written whole,
//! synced, and renamed into place, so a crash leaves the old file or the
//! new one, never half of one.

use std::path::Path;

/// Write `bytes` to `dir/name` atomically and durably: a temporary file,
/// fsync, rename, fsync of the directory.
pub(super) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}
