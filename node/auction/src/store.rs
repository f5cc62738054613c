//! An in-memory key-value store with the same layout and state hash as
//! consensus's, so the machine and the read helpers run unchanged in tests,
//! benchmarks and replays (consensus keeps its handles' fields private, so
//! nothing outside it can build one).

use std::collections::BTreeMap;
use std::ops::Bound;

use paddle_proto::kv::{Bytes, KvRead, KvWrite};
use sha2::{Digest, Sha256};

/// An in-memory store with the same layout and the same state hash as
/// consensus's (`tree \0 key` → value, SHA-256 over lengths and bytes in
/// key order), for tests, benchmarks and replays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemStore {
    map: BTreeMap<Vec<u8>, Bytes>,
}

fn full_key(tree: &str, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(tree.len() + 1 + key.len());
    k.extend_from_slice(tree.as_bytes());
    k.push(0);
    k.extend_from_slice(key);
    k
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys across all trees.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Same algorithm as `KvView::state_hash`: equal stores, equal hashes.
    pub fn state_hash(&self) -> String {
        let mut h = Sha256::new();
        for (k, v) in &self.map {
            h.update((k.len() as u64).to_be_bytes());
            h.update(k);
            h.update((v.len() as u64).to_be_bytes());
            h.update(v);
        }
        hex::encode(h.finalize())
    }

    /// Every key of `tree` (without the tree name), for tests.
    pub fn keys(&self, tree: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.scan_prefix(tree, &[], &mut |k, _| {
            out.push(k.to_vec());
            true
        });
        out
    }
}

impl KvRead for MemStore {
    fn get(&self, tree: &str, key: &[u8]) -> Option<Bytes> {
        self.map.get(&full_key(tree, key)).cloned()
    }

    fn scan_prefix(&self, tree: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) {
        self.scan_prefix_from(tree, prefix, prefix, f)
    }

    fn scan_prefix_from(
        &self,
        tree: &str,
        prefix: &[u8],
        from: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) {
        let within = full_key(tree, prefix);
        let start = full_key(tree, prefix.max(from));
        let skip = tree.len() + 1;
        for (k, v) in self
            .map
            .range::<Vec<u8>, _>((Bound::Included(&start), Bound::Unbounded))
        {
            if !k.starts_with(&within) || !f(&k[skip..], v) {
                break;
            }
        }
    }
}

impl KvWrite for MemStore {
    fn put(&mut self, tree: &str, key: &[u8], value: Vec<u8>) {
        self.map.insert(full_key(tree, key), value.into());
    }

    fn delete(&mut self, tree: &str, key: &[u8]) {
        self.map.remove(&full_key(tree, key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_scans_stay_in_their_tree() {
        let mut s = MemStore::new();
        s.put("a", b"1", b"x".to_vec());
        s.put("ab", b"1", b"y".to_vec());
        s.put("a", b"2", b"z".to_vec());
        s.put("a", &[0xff], b"w".to_vec());
        assert_eq!(s.keys("a"), vec![b"1".to_vec(), b"2".to_vec(), vec![0xff]]);
        let mut n = 0;
        s.scan_prefix("a", b"2", &mut |_, _| {
            n += 1;
            true
        });
        assert_eq!(n, 1);
        s.delete("a", b"1");
        assert_eq!(s.get("a", b"1"), None);
        assert_eq!(s.get("ab", b"1").as_deref(), Some(&b"y"[..]));
    }

    #[test]
    fn an_empty_store_hashes_like_consensus_an_empty_view() {
        // consensus's `KvView::default().state_hash()`: SHA-256 of nothing.
        assert_eq!(
            MemStore::new().state_hash(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
