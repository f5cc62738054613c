//! Secrets (join token, operator token, bidder tokens) as a type that cannot
//! leak by accident: `Debug`, `Display` and `Serialize` all print
//! `<redacted>`, equality is constant-time, and the only way to the text is
//! the explicit [`Secret::expose`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;

/// What every secret prints as. Also refused as a value, so a file written
/// by `paddle config show` cannot silently carry the placeholder as a token.
pub const REDACTED: &str = "<redacted>";

/// The file in a node's data dir that holds the operator token. Bootstrap
/// writes it (mode 0600); the `cluster` commands read it when no token is
/// given, so an operator on the node's own machine needs no flag.
pub const OPERATOR_TOKEN_FILE: &str = "operator.token";

/// Longest accepted secret, to bound what a config file or a flag can feed in.
const MAX_SECRET_BYTES: usize = 4096;

/// Why a secret was refused.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Empty or only whitespace.
    #[error("the token is empty")]
    Empty,
    /// Tokens are single words; whitespace means a copy-paste went wrong.
    #[error("the token contains whitespace or control characters; paste it as one word")]
    Whitespace,
    /// Longer than 4096 bytes.
    #[error("the token is longer than {MAX_SECRET_BYTES} bytes")]
    TooLong,
    /// The `<redacted>` placeholder from `paddle config show` was fed back.
    #[error("the token is the placeholder {REDACTED} printed by `paddle config show`; give the real token")]
    Placeholder,
    /// A token file could not be read.
    #[error("cannot read token file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A token file that other users can read is a leaked token.
    #[error(
        "token file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Permissive {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// No token was given and the data dir holds none.
    #[error(
        "no operator token: pass --operator-token, set PADDLE_OPERATOR_TOKEN, or run this on \
         the node whose data dir holds it (looked for {path})"
    )]
    Missing {
        /// Where the token file was looked for.
        path: PathBuf,
    },
    /// A token file holds something that is not a token.
    #[error("token file {path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its content.
        reason: Box<SecretError>,
    },
}

/// A secret string. See the module doc for why it is its own type.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret text, for the one place that must send or compare it.
    /// Never log or print the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads a token from a file such as `<data-dir>/operator.token`,
    /// refusing files other users can read (like ssh does with keys).
    pub fn read_file(path: &Path) -> Result<Secret, SecretError> {
        let read_err = |source| SecretError::Read {
            path: path.to_owned(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(read_err)?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(SecretError::Permissive {
                    path: path.to_owned(),
                    mode: mode & 0o777,
                });
            }
        }
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        text.trim_end_matches(['\n', '\r'])
            .parse()
            .map_err(|e| SecretError::BadFile {
                path: path.to_owned(),
                reason: Box::new(e),
            })
    }
}

impl FromStr for Secret {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(SecretError::Empty);
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(SecretError::Whitespace);
        }
        if s.len() > MAX_SECRET_BYTES {
            return Err(SecretError::TooLong);
        }
        if s == REDACTED {
            return Err(SecretError::Placeholder);
        }
        Ok(Secret(s.to_owned()))
    }
}

impl PartialEq for Secret {
    /// Constant-time in the content, so comparing tokens leaks no prefix.
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    /// Always the placeholder: no serialized config ever carries a secret.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_content() {
        let s: Secret = "pdl1.abc.def".parse().unwrap();
        assert_eq!(s.expose(), "pdl1.abc.def");
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            format!("\"{REDACTED}\"")
        );
    }

    #[test]
    fn refuses_bad_tokens() {
        assert!(matches!("".parse::<Secret>(), Err(SecretError::Empty)));
        assert!(matches!(
            "a b".parse::<Secret>(),
            Err(SecretError::Whitespace)
        ));
        assert!(matches!(
            "x".repeat(5000).parse::<Secret>(),
            Err(SecretError::TooLong)
        ));
        assert!(matches!(
            REDACTED.parse::<Secret>(),
            Err(SecretError::Placeholder)
        ));
    }

    #[test]
    fn compares_by_content() {
        let a: Secret = "abc".parse().unwrap();
        assert_eq!(a, "abc".parse().unwrap());
        assert_ne!(a, "abd".parse().unwrap());
        assert_ne!(a, "abcd".parse().unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn reads_private_token_files_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(OPERATOR_TOKEN_FILE);
        std::fs::write(&path, "op-secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Secret::read_file(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Secret::read_file(&path).unwrap().expose(), "op-secret");

        std::fs::write(&path, "\n").unwrap();
        let err = Secret::read_file(&path).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }
}
