//! The key-value surface the auction state machine reads and writes.
//!
//! Consensus hands the application a [`KvTxn`] while applying and a
//! [`KvView`] for reads; both are implemented here behind two small traits so
//! the machine and the read helpers run unchanged over an in-memory
//! [`MemStore`] in tests, benchmarks and replays (consensus keeps the
//! fields of its handles private, so tests cannot build a `KvTxn`).

use std::collections::BTreeMap;
use std::ops::Bound;

use paddle_consensus::{Bytes, KvTxn, KvView};
use sha2::{Digest, Sha256};

/// Reads of named trees of sorted byte keys.
pub trait KvRead {
    /// One value.
    fn get(&self, tree: &str, key: &[u8]) -> Option<Bytes>;

    /// Call `f` with every `(key, value)` of `tree` whose key starts with
    /// `prefix`, in key order, until `f` returns `false`.
    fn scan_prefix(&self, tree: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool);
}

/// Writes, atomically committed by whoever owns the store.
pub trait KvWrite: KvRead {
    /// Write one key.
    fn put(&mut self, tree: &str, key: &[u8], value: Vec<u8>);
    /// Delete one key.
    fn delete(&mut self, tree: &str, key: &[u8]);
}

impl KvRead for KvView {
    fn get(&self, tree: &str, key: &[u8]) -> Option<Bytes> {
        KvView::get(self, tree, key)
    }

    fn scan_prefix(&self, tree: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) {
        for (k, v) in self.scan(tree, prefix) {
            if !f(k, v) {
                break;
            }
        }
    }
}

impl KvRead for KvTxn<'_> {
    fn get(&self, tree: &str, key: &[u8]) -> Option<Bytes> {
        KvTxn::get(self, tree, key)
    }

    fn scan_prefix(&self, tree: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) {
        for (k, v) in self.scan(tree, prefix) {
            if !f(k, v) {
                break;
            }
        }
    }
}

impl KvWrite for KvTxn<'_> {
    fn put(&mut self, tree: &str, key: &[u8], value: Vec<u8>) {
        KvTxn::put(self, tree, key, value);
    }

    fn delete(&mut self, tree: &str, key: &[u8]) {
        KvTxn::delete(self, tree, key);
    }
}

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
        let start = full_key(tree, prefix);
        let skip = tree.len() + 1;
        for (k, v) in self
            .map
            .range::<Vec<u8>, _>((Bound::Included(&start), Bound::Unbounded))
        {
            if !k.starts_with(&start) || !f(&k[skip..], v) {
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
    fn empty_store_hashes_like_an_empty_view() {
        assert_eq!(MemStore::new().state_hash(), KvView::default().state_hash());
    }
}
