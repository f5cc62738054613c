//! What a node keeps in its data dir, and nothing else decides the layout.
//!
//! ```text
//! paddle-data/
//!   node.json          who this node is (id, cluster, how it was created,
//!                      whether the cluster removed it)
//!   tls/ca.pem         the cluster CA certificate (public)
//!   tls/ca.key         the CA key (0600; on voters, which sign joins)
//!   tls/node.pem       this node's certificate, naming its id
//!   tls/node.key       this node's key (0600; never leaves the node)
//!   operator.token     the operator token (0600; bootstrap node only)
//!   join.token         the current join token (0600; CA holders only)
//!   raft/              sled database and snapshot files
//! ```

use std::path::{Path, PathBuf};

use paddle_consensus::tls::{CaBundle, NodeIdentity};
use serde::{Deserialize, Serialize};

use super::secrets::{write_private, write_public};

/// How this node came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Created the cluster.
    Bootstrap,
    /// Joined an existing cluster with a token.
    Join,
    /// Seeded from a backup file.
    Restore,
}

/// The contents of `node.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub node_id: u64,
    pub cluster_id: String,
    pub origin: Origin,
    /// Set once the bootstrap node has replicated the token hashes, so a
    /// crash during first start is finished on the next one.
    #[serde(default)]
    pub setup_complete: bool,
    /// Set when this node stops because the cluster removed it. Its id is
    /// never reused, so a restart on this directory must refuse to run: a
    /// removed node that misses the final membership entry still sees
    /// itself as a voter and would campaign forever.
    #[serde(default)]
    pub removed: bool,
    /// The layout of this file and of the data dir's other files (the
    /// Raft state has its own version in sled, `consensus/src/storage/
    /// format.rs`). Absent in files written before it existed, which are
    /// format 1. A newer format is refused, never guessed at.
    #[serde(default = "format_one")]
    pub format: u32,
}

/// The `node.json` format this build writes and reads.
pub const NODE_FILE_FORMAT: u32 = 1;

fn format_one() -> u32 {
    1
}

/// Errors reading or writing the data dir.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error(
        "{path} is format version {found}, written by a newer Paddle; this build reads version \
         {supported}. Run the newer build, or restore a backup taken by this one"
    )]
    Newer {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
}

/// A node's data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn node_file(&self) -> PathBuf {
        self.root.join("node.json")
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.root.join("tls/ca.pem")
    }
    pub fn ca_key(&self) -> PathBuf {
        self.root.join("tls/ca.key")
    }
    pub fn node_cert(&self) -> PathBuf {
        self.root.join("tls/node.pem")
    }
    pub fn node_key(&self) -> PathBuf {
        self.root.join("tls/node.key")
    }
    pub fn operator_token(&self) -> PathBuf {
        self.root.join("operator.token")
    }
    pub fn join_token(&self) -> PathBuf {
        self.root.join("join.token")
    }
    pub fn raft_dir(&self) -> PathBuf {
        self.root.join("raft")
    }

    /// True when this directory already belongs to a node.
    pub fn exists(&self) -> bool {
        self.node_file().exists()
    }

    /// True when the directory is absent or holds nothing at all.
    pub fn is_empty(&self) -> bool {
        match std::fs::read_dir(&self.root) {
            Ok(mut it) => it.next().is_none(),
            Err(_) => true,
        }
    }

    fn read(&self, path: PathBuf) -> Result<String, DataDirError> {
        std::fs::read_to_string(&path).map_err(|source| DataDirError::Io { path, source })
    }

    fn read_opt(&self, path: PathBuf) -> Result<Option<String>, DataDirError> {
        match std::fs::read_to_string(&path) {
            Ok(s) => Ok(Some(s.trim().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(DataDirError::Io { path, source }),
        }
    }

    fn io(path: PathBuf) -> impl FnOnce(std::io::Error) -> DataDirError {
        move |source| DataDirError::Io { path, source }
    }

    /// Read `node.json`.
    pub fn node_info(&self) -> Result<NodeInfo, DataDirError> {
        let path = self.node_file();
        let text = self.read(path.clone())?;
        let info: NodeInfo = serde_json::from_str(&text).map_err(|e| DataDirError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if info.format != NODE_FILE_FORMAT {
            return Err(DataDirError::Newer {
                path,
                found: info.format,
                supported: NODE_FILE_FORMAT,
            });
        }
        Ok(info)
    }

    /// Write `node.json` (the marker that this directory holds a node).
    pub fn write_node_info(&self, info: &NodeInfo) -> Result<(), DataDirError> {
        let path = self.node_file();
        let text = serde_json::to_string_pretty(info).expect("node info serialises");
        write_public(&path, &text).map_err(Self::io(path))
    }

    /// This node's TLS identity.
    pub fn identity(&self, node_id: u64) -> Result<NodeIdentity, DataDirError> {
        Ok(NodeIdentity {
            node_id,
            cert_pem: self.read(self.node_cert())?,
            key_pem: self.read(self.node_key())?,
            ca_pem: self.read(self.ca_cert())?,
        })
    }

    /// Store this node's TLS identity (key 0600).
    pub fn write_identity(&self, id: &NodeIdentity) -> Result<(), DataDirError> {
        write_public(&self.ca_cert(), &id.ca_pem).map_err(Self::io(self.ca_cert()))?;
        write_public(&self.node_cert(), &id.cert_pem).map_err(Self::io(self.node_cert()))?;
        write_private(&self.node_key(), &id.key_pem).map_err(Self::io(self.node_key()))
    }

    /// The CA bundle, when this node holds the CA key.
    pub fn ca(&self) -> Result<Option<CaBundle>, DataDirError> {
        let Some(key_pem) = self.read_opt(self.ca_key())? else {
            return Ok(None);
        };
        Ok(Some(CaBundle {
            cert_pem: self.read(self.ca_cert())?,
            key_pem: format!("{key_pem}\n"),
        }))
    }

    /// Store the CA (key 0600).
    pub fn write_ca(&self, ca: &CaBundle) -> Result<(), DataDirError> {
        write_public(&self.ca_cert(), &ca.cert_pem).map_err(Self::io(self.ca_cert()))?;
        write_private(&self.ca_key(), &ca.key_pem).map_err(Self::io(self.ca_key()))
    }

    /// The operator token kept locally, if this node has it.
    pub fn read_operator_token(&self) -> Result<Option<String>, DataDirError> {
        self.read_opt(self.operator_token())
    }

    pub fn write_operator_token(&self, token: &str) -> Result<(), DataDirError> {
        write_private(&self.operator_token(), &format!("{token}\n"))
            .map_err(Self::io(self.operator_token()))
    }

    /// The join token kept locally, if this node has it.
    pub fn read_join_token(&self) -> Result<Option<String>, DataDirError> {
        self.read_opt(self.join_token())
    }

    pub fn write_join_token(&self, token: &str) -> Result<(), DataDirError> {
        write_private(&self.join_token(), &format!("{token}\n"))
            .map_err(Self::io(self.join_token()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_json_without_a_format_is_format_one_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dd = DataDir::new(dir.path());
        let old =
            r#"{"node_id": 3, "cluster_id": "abc", "origin": "join", "setup_complete": true}"#;
        std::fs::write(dd.node_file(), old).unwrap();
        let info = dd.node_info().unwrap();
        assert_eq!((info.node_id, info.format), (3, NODE_FILE_FORMAT));
        dd.write_node_info(&info).unwrap();
        let written = std::fs::read_to_string(dd.node_file()).unwrap();
        assert!(written.contains("\"format\": 1"), "{written}");

        let newer = written.replace("\"format\": 1", "\"format\": 7");
        std::fs::write(dd.node_file(), newer).unwrap();
        let err = dd.node_info().unwrap_err().to_string();
        assert!(
            err.contains("format version 7") && err.contains("reads version 1"),
            "{err}"
        );
    }
}
