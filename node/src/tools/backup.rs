//! `paddle backup --node URL --out FILE [--force]`: download a consistent
//! snapshot of the cluster state (`GET /api/v1/cluster/backup`, operator)
//! and store it so that a crash or a bad network never leaves a file that
//! looks like a backup but is not one.
//!
//! The bytes go to a temporary file next to FILE, which is fsync'd and
//! checked (magic, format version and SHA-256, the same check `restore`
//! makes) before it takes FILE's name; the directory is fsync'd after the
//! rename. Without `--force` the final step is a hard link, which fails if
//! FILE appeared meanwhile, so an existing file is never replaced.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use paddle_consensus::storage::snapshot;
use reqwest::Method;

use super::client::{block_on, ClientError, NodeClient};
use crate::cli::BackupArgs;

/// Deadline for the whole download: a backup is the whole state.
const BACKUP_TIMEOUT: Duration = Duration::from_secs(600);

/// `paddle backup`.
pub fn backup(args: &BackupArgs) -> ExitCode {
    block_on("backup", run(args))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    }
}

async fn run(args: &BackupArgs) -> Result<(), ClientError> {
    let out = &args.out;
    if !args.force && out.exists() {
        return Err(ClientError::Exists(out.clone()));
    }
    let token = args.auth.token()?;
    let client = NodeClient::new(&args.node.node, Some(BACKUP_TIMEOUT))?.with_token(token);
    let tmp = temp_path(out);
    let result = download(&client, &tmp).await.and_then(|size| {
        let bytes = std::fs::read(&tmp).map_err(io(&tmp))?;
        let header =
            snapshot::decode_header(&bytes).map_err(|e| ClientError::Damaged(e.to_string()))?;
        publish(&tmp, out, args.force)?;
        Ok((size, header))
    });
    let (size, header) = match result {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let index = header
        .last_applied
        .map(|l| l.index.to_string())
        .unwrap_or_else(|| "0".into());
    println!(
        "paddle: wrote {}: {size} bytes, cluster state at log index {index} ({} keys); \
         format v{}, SHA-256 checksum verified",
        out.display(),
        header.keys,
        snapshot::FORMAT_VERSION
    );
    Ok(())
}

/// A temporary name in FILE's directory, so the final rename stays on one
/// file system.
fn temp_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    out.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Stream the backup into `tmp` and fsync it; returns its size.
async fn download(client: &NodeClient, tmp: &Path) -> Result<u64, ClientError> {
    let mut resp = client.send(Method::GET, "api/v1/cluster/backup").await?;
    // 0600: the state holds the cluster's token hashes and, later, bidders.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(io(tmp))?;
    let mut size = 0u64;
    loop {
        let chunk = resp.chunk().await.map_err(|e| ClientError::Unreachable {
            url: client_url(client),
            reason: format!("the download broke off after {size} bytes: {e}"),
        })?;
        let Some(chunk) = chunk else { break };
        file.write_all(&chunk).map_err(io(tmp))?;
        size += chunk.len() as u64;
    }
    file.sync_all().map_err(io(tmp))?;
    Ok(size)
}

fn client_url(client: &NodeClient) -> String {
    client.base().to_string()
}

/// Give `tmp` the name `out` (replacing it only with `force`) and make the
/// new name durable.
fn publish(tmp: &Path, out: &Path, force: bool) -> Result<(), ClientError> {
    if force {
        std::fs::rename(tmp, out).map_err(io(out))?;
    } else {
        match std::fs::hard_link(tmp, out) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(ClientError::Exists(out.to_path_buf()))
            }
            Err(e) => return Err(io(out)(e)),
        }
        std::fs::remove_file(tmp).map_err(io(tmp))?;
    }
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_never_replaces_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sale.paddle");
        std::fs::write(&out, b"old").unwrap();
        let tmp = temp_path(&out);
        std::fs::write(&tmp, b"new").unwrap();
        let err = publish(&tmp, &out, false).unwrap_err();
        assert!(matches!(err, ClientError::Exists(_)), "{err}");
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        publish(&tmp, &out, true).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert!(!tmp.exists());
    }

    #[test]
    fn temp_file_sits_next_to_the_output() {
        let tmp = temp_path(Path::new("/backups/sale.paddle"));
        assert_eq!(tmp.parent(), Some(Path::new("/backups")));
        assert!(tmp
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".sale.paddle.partial-"));
    }
}
