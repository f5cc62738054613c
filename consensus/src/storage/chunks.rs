//! The state delta's chunks: an apply batch's changes (puts and deletes,
//! in order) as one byte stream, cut into sled values of at most
//! [`CHUNK_BYTES`] and keyed by the batch's last log index. The store that
//! writes, loads and rebases them is `state_store.rs`.

use paddle_proto::codec;

use crate::kv::{StateMap, Write};

/// First byte of a one-key delta value (written before chunks): the key
/// holds the rest.
pub(super) const PUT: u8 = 1;
/// First byte of a one-key delta value: the key was deleted.
pub(super) const TOMBSTONE: u8 = 0;
/// First byte of a chunk's value (after the record header). A build that
/// knows only one-key values refuses it as damaged instead of misreading.
pub(super) const CHUNK: u8 = 2;
/// First byte of a chunk's key: after the bookkeeping keys (NUL), before
/// every application key (a tree name).
pub(super) const CHUNK_PREFIX: u8 = 1;
/// The most bytes of changes in one sled value: sled keeps small values
/// inline in its pages and large ones in separate blob files.
pub(super) const CHUNK_BYTES: usize = 4096;

/// Key of chunk `n` of the changes of the apply batch that ended at `index`.
pub(super) fn chunk_key(index: u64, n: u32) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[0] = CHUNK_PREFIX;
    k[1..9].copy_from_slice(&index.to_be_bytes());
    k[9..].copy_from_slice(&n.to_be_bytes());
    k
}

/// The changes of one apply batch as a byte stream: per write a tag (put
/// or delete), the key's length and bytes, and for a put the value's.
pub(super) fn encode_writes(writes: &[Write]) -> Vec<u8> {
    let size: usize = writes
        .iter()
        .map(|w| match w {
            Write::Put(k, v) => 9 + k.len() + v.len(),
            Write::Delete(k) => 5 + k.len(),
        })
        .sum();
    let mut out = Vec::with_capacity(size);
    for w in writes {
        let (tag, k, v) = match w {
            Write::Put(k, v) => (PUT, k, Some(v)),
            Write::Delete(k) => (TOMBSTONE, k, None),
        };
        out.push(tag);
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        if let Some(v) = v {
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v);
        }
    }
    out
}

/// Apply a batch's byte stream (see [`encode_writes`]) to `map`.
pub(super) fn replay_writes(map: &mut StateMap, mut bytes: &[u8]) -> Result<(), String> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if bytes.len() < n {
            return Err(format!("a chunk ends {} bytes short", n - bytes.len()));
        }
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(head)
    }
    fn len(bytes: &mut &[u8]) -> Result<usize, String> {
        let b = take(bytes, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    while let Some((&tag, rest)) = bytes.split_first() {
        bytes = rest;
        let n = len(&mut bytes)?;
        let key = take(&mut bytes, n)?;
        match tag {
            PUT => {
                let n = len(&mut bytes)?;
                let value = take(&mut bytes, n)?;
                map.insert(key.into(), value.into());
            }
            TOMBSTONE => {
                map.remove(key);
            }
            other => return Err(format!("unknown change tag {other} in a chunk")),
        }
    }
    Ok(())
}

/// Put `stream` (one apply batch's changes, ending at `index`) into `batch`
/// as chunks.
pub(super) fn insert_chunks(batch: &mut sled::Batch, index: u64, stream: &[u8]) {
    for (n, part) in stream.chunks(CHUNK_BYTES).enumerate() {
        let mut value = Vec::with_capacity(codec::RECORD_HEADER + 1 + part.len());
        value.extend_from_slice(&[codec::RECORD_MARK, codec::FORMAT_VERSION, CHUNK]);
        value.extend_from_slice(part);
        batch.insert(&chunk_key(index, n as u32)[..], value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::Bytes;

    fn b(s: &str) -> Bytes {
        s.as_bytes().into()
    }

    #[test]
    fn a_damaged_chunk_is_refused_not_guessed_at() {
        let mut map = StateMap::new();
        let mut stream = encode_writes(&[Write::Put(b("t\0a"), b("1"))]);
        stream.pop();
        assert!(replay_writes(&mut map, &stream).is_err());
        assert!(replay_writes(&mut map, &[9, 0, 0, 0, 0]).is_err());
    }
}
