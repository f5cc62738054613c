//! Tokens and the files that hold a node's secrets.
//!
//! Tokens are random 256-bit strings. Only their SHA-256 is replicated (so
//! every node can check them); the raw operator and join tokens are kept in
//! the bootstrap node's data dir with mode 0600 so the local CLI can use
//! them. Comparisons are constant-time. Tokens never reach a log line.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of operator tokens, so a leaked string is recognisable.
pub const OPERATOR_PREFIX: &str = "pdo_";
/// Prefix and version of join tokens.
pub const JOIN_PREFIX: &str = "pdj1";

/// A fresh random secret, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new operator token.
pub fn new_operator_token() -> String {
    format!("{OPERATOR_PREFIX}{}", random_secret())
}

/// SHA-256 hex of a token: what the cluster stores.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Does `presented` hash to `stored_hash`? Constant-time in the hash bytes.
pub fn token_matches(presented: &str, stored_hash: &str) -> bool {
    let h = hash_token(presented);
    h.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// A join token: the CA fingerprint a joining node must see, and the
/// secret it must prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinToken {
    pub ca_fingerprint: String,
    pub secret: String,
}

/// Why a join token string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinTokenError {
    #[error("not a Paddle join token (expected `{JOIN_PREFIX}.<fingerprint>.<secret>`)")]
    Shape,
    #[error("the CA fingerprint in the join token is not 64 hex digits")]
    Fingerprint,
    #[error("the secret in the join token is malformed")]
    Secret,
}

impl JoinToken {
    /// A new token for the CA with this fingerprint.
    pub fn new(ca_fingerprint: &str) -> Self {
        JoinToken {
            ca_fingerprint: ca_fingerprint.to_string(),
            secret: random_secret(),
        }
    }

    /// Parse `pdj1.<fingerprint>.<secret>`.
    pub fn parse(s: &str) -> Result<Self, JoinTokenError> {
        let mut parts = s.trim().split('.');
        let (Some(prefix), Some(fp), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoinTokenError::Shape);
        };
        if prefix != JOIN_PREFIX {
            return Err(JoinTokenError::Shape);
        }
        if fp.len() != 64 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(JoinTokenError::Fingerprint);
        }
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(secret)
            .map_err(|_| JoinTokenError::Secret)?;
        if decoded.len() != 32 {
            return Err(JoinTokenError::Secret);
        }
        Ok(JoinToken {
            ca_fingerprint: fp.to_ascii_lowercase(),
            secret: secret.to_string(),
        })
    }

    /// The secret's hash, as replicated.
    pub fn secret_hash(&self) -> String {
        hash_token(&self.secret)
    }
}

impl std::fmt::Display for JoinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{JOIN_PREFIX}.{}.{}", self.ca_fingerprint, self.secret)
    }
}

/// Write `contents` to `path` with mode 0600, atomically (temp + rename + fsync).
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    write_file(path, contents, 0o600)
}

/// Write a public file (mode 0644), atomically.
pub fn write_public(path: &Path, contents: &str) -> std::io::Result<()> {
    write_file(path, contents, 0o644)
}

fn write_file(path: &Path, contents: &str, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_tokens_round_trip_and_reject_garbage() {
        let t = JoinToken::new(&"ab".repeat(32));
        assert_eq!(JoinToken::parse(&t.to_string()).unwrap(), t);
        assert_eq!(JoinToken::parse("nope"), Err(JoinTokenError::Shape));
        assert_eq!(
            JoinToken::parse(&format!("pdj1.{}.x", "zz".repeat(32))),
            Err(JoinTokenError::Fingerprint)
        );
        assert_eq!(
            JoinToken::parse(&format!("pdj1.{}.!!", "ab".repeat(32))),
            Err(JoinTokenError::Secret)
        );
        assert_eq!(
            JoinToken::parse(&format!("pdj2.{}.{}", "ab".repeat(32), t.secret)),
            Err(JoinTokenError::Shape)
        );
    }

    #[test]
    fn tokens_match_only_their_hash() {
        let t = new_operator_token();
        assert!(token_matches(&t, &hash_token(&t)));
        assert!(!token_matches("pdo_wrong", &hash_token(&t)));
        assert!(!token_matches(&t, ""));
    }

    #[test]
    fn private_files_are_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        write_private(&p, "x").unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
