//! The key-value surface between consensus and the application that runs
//! on it: named trees of sorted byte keys, read through [`KvRead`] and
//! written, inside one atomically committed apply batch, through
//! [`KvWrite`].
//!
//! Consensus implements both for its handles (a consistent view, the apply
//! transaction); the auction rules crate reads and writes its records
//! through them and knows nothing of sled or Raft, and runs unchanged over
//! an in-memory store in tests, benchmarks and replays.

use std::sync::Arc;

/// Keys and values are shared byte strings: copying one never copies data.
pub type Bytes = Arc<[u8]>;

/// Reads of named trees of sorted byte keys.
pub trait KvRead {
    /// One value.
    fn get(&self, tree: &str, key: &[u8]) -> Option<Bytes>;

    /// Call `f` with every `(key, value)` of `tree` whose key starts with
    /// `prefix`, in key order, until `f` returns `false`.
    fn scan_prefix(&self, tree: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool);

    /// Like [`KvRead::scan_prefix`], from the first key `>= from` on: a
    /// reader that wants the tail of a long run of keys (a sale's events
    /// after some index) seeks instead of walking the head. This default
    /// walks and skips; stores with an ordered index override it.
    fn scan_prefix_from(
        &self,
        tree: &str,
        prefix: &[u8],
        from: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) {
        self.scan_prefix(tree, prefix, &mut |k, v| k < from || f(k, v))
    }
}

/// Writes, atomically committed by whoever owns the store.
pub trait KvWrite: KvRead {
    /// Write one key.
    fn put(&mut self, tree: &str, key: &[u8], value: Vec<u8>);
    /// Delete one key.
    fn delete(&mut self, tree: &str, key: &[u8]);
}
