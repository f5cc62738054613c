//! The snapshot file: the whole replicated state at one applied log id.
//!
//! Layout: magic `PADDLESN`, format version (u32 BE), header length (u32 BE)
//! and bincode header, then every `(key, value)` as u32 BE lengths and raw
//! bytes, then a SHA-256 of everything before it. The same bytes travel to a
//! lagging peer, sit in the data dir as the current snapshot, and make up a
//! backup file; a damaged copy fails the checksum and is refused whole.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kv::{Bytes, StateMap};
use crate::types::typ::{LogId, StoredMembership};
use paddle_proto::codec;

const MAGIC: &[u8; 8] = b"PADDLESN";
/// The data format version (`paddle_proto::codec::FORMAT_VERSION`): the
/// layout of the file and the encodings of what it holds. Files of another
/// version are refused, never guessed at.
pub const FORMAT_VERSION: u32 = codec::FORMAT_VERSION as u32;
const DIGEST_LEN: usize = 32;

/// What a snapshot says about the state it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    pub snapshot_id: String,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    /// The largest leader stamp applied so far (time never goes backwards).
    pub last_stamp_ms: u64,
    /// Number of keys that follow.
    pub keys: u64,
}

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a Paddle snapshot (bad magic)")]
    BadMagic,
    #[error(
        "snapshot format version {0} is not supported (this build reads version {FORMAT_VERSION})"
    )]
    Version(u32),
    #[error("snapshot checksum does not match: the file is damaged")]
    Checksum,
    #[error("snapshot is truncated or malformed: {0}")]
    Malformed(String),
}

/// Serialise a snapshot of `map` described by `header`.
pub fn encode(header: &SnapshotHeader, map: &StateMap) -> Vec<u8> {
    let mut approx = 64;
    for (k, v) in map.iter() {
        approx += 8 + k.len() + v.len();
    }
    let mut out = Vec::with_capacity(approx + 256);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    let head = codec::encode(header).expect("snapshot header encodes");
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    out.extend_from_slice(&head);
    for (k, v) in map.iter() {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v);
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// Read only the header, after checking magic, version and checksum.
pub fn decode_header(bytes: &[u8]) -> Result<SnapshotHeader, SnapshotError> {
    let (header, _) = verify_and_split(bytes)?;
    Ok(header)
}

/// Check and parse a whole snapshot.
pub fn decode(bytes: &[u8]) -> Result<(SnapshotHeader, StateMap), SnapshotError> {
    let (header, mut body) = verify_and_split(bytes)?;
    let mut map = StateMap::new();
    for _ in 0..header.keys {
        let k = take_chunk(&mut body)?;
        let v = take_chunk(&mut body)?;
        let k: Bytes = k.into();
        let v: Bytes = v.into();
        map.insert(k, v);
    }
    if !body.is_empty() {
        return Err(SnapshotError::Malformed(format!(
            "{} trailing bytes",
            body.len()
        )));
    }
    if map.len() as u64 != header.keys {
        return Err(SnapshotError::Malformed("duplicate keys".into()));
    }
    Ok((header, map))
}

fn verify_and_split(bytes: &[u8]) -> Result<(SnapshotHeader, &[u8]), SnapshotError> {
    if bytes.len() < MAGIC.len() + 8 + DIGEST_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    let version = u32::from_be_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(SnapshotError::Version(version));
    }
    let (content, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
    if Sha256::digest(content).as_slice() != digest {
        return Err(SnapshotError::Checksum);
    }
    let mut rest = &content[12..];
    let head = take_chunk(&mut rest)?;
    let header: SnapshotHeader =
        codec::decode(head).map_err(|e| SnapshotError::Malformed(e.to_string()))?;
    Ok((header, rest))
}

fn take_chunk<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], SnapshotError> {
    if rest.len() < 4 {
        return Err(SnapshotError::Malformed("length cut short".into()));
    }
    let len = u32::from_be_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
    if rest.len() < 4 + len {
        return Err(SnapshotError::Malformed("value cut short".into()));
    }
    let chunk = &rest[4..4 + len];
    *rest = &rest[4 + len..];
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (SnapshotHeader, StateMap) {
        let mut map = StateMap::new();
        for i in 0..100u32 {
            let k: Bytes = i.to_be_bytes().to_vec().into();
            let v: Bytes = vec![i as u8; (i % 7) as usize].into();
            map.insert(k, v);
        }
        let header = SnapshotHeader {
            snapshot_id: "1-5-x".into(),
            last_applied: None,
            membership: StoredMembership::default(),
            last_stamp_ms: 42,
            keys: 100,
        };
        (header, map)
    }

    #[test]
    fn round_trip() {
        let (h, m) = sample();
        let bytes = encode(&h, &m);
        let (h2, m2) = decode(&bytes).unwrap();
        assert_eq!(h, h2);
        assert_eq!(m, m2);
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let (h, m) = sample();
        let bytes = encode(&h, &m);
        for i in (0..bytes.len()).step_by(13) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            assert!(decode(&bad).is_err(), "flip at {i} went unnoticed");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
