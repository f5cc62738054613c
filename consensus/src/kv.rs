//! The key-value handle the application's state machine gets instead of sled.
//!
//! The replicated state is a sorted map of byte keys to byte values, split
//! into named trees (like tables). It lives in memory as a persistent
//! (structurally shared) B-tree, [`imbl::OrdMap`], and is written through to
//! sled: every apply batch becomes one sled `Batch` on one tree, so state,
//! last-applied log id and membership land atomically. Because cloning the
//! map is O(1), a [`KvView`] is a consistent point-in-time view: the snapshot
//! builder and API reads use one while applies go on.

use std::ops::Bound;

use imbl::OrdMap;
use sha2::{Digest, Sha256};

/// Keys and values are shared byte strings so that copying a map node (which
/// happens only while a view holds the old version) never deep-copies data.
pub use paddle_proto::kv::Bytes;
use paddle_proto::kv::{KvRead, KvWrite};

/// The whole application state: `tree \0 key` -> value.
pub(crate) type StateMap = OrdMap<Bytes, Bytes>;

/// Separator between tree name and key. Tree names must not contain it.
const SEP: u8 = 0;

pub(crate) fn full_key(tree: &str, key: &[u8]) -> Vec<u8> {
    debug_assert!(
        !tree.as_bytes().contains(&SEP),
        "tree names cannot contain NUL"
    );
    let mut k = Vec::with_capacity(tree.len() + 1 + key.len());
    k.extend_from_slice(tree.as_bytes());
    k.push(SEP);
    k.extend_from_slice(key);
    k
}

/// The smallest byte string greater than every string starting with `prefix`,
/// or `None` when there is none (all 0xff).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A consistent, read-only view of the replicated state at one applied index.
/// Cheap to clone and to keep; it never changes.
#[derive(Clone, Default)]
pub struct KvView {
    pub(crate) map: StateMap,
    pub(crate) applied_index: u64,
}

impl KvView {
    /// The log index this view reflects (0 before anything was applied).
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// Number of keys across all trees.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Read one key.
    pub fn get(&self, tree: &str, key: &[u8]) -> Option<Bytes> {
        get(&self.map, tree, key)
    }

    /// Every `(key, value)` of `tree` whose key starts with `prefix`, in key
    /// order. Keys are returned without the tree name.
    pub fn scan<'a>(
        &'a self,
        tree: &str,
        prefix: &[u8],
    ) -> impl Iterator<Item = (&'a [u8], &'a Bytes)> + 'a {
        scan(&self.map, tree, prefix)
    }

    /// SHA-256 over every key and value in order: equal on every node that
    /// applied the same log, different as soon as one byte differs.
    pub fn state_hash(&self) -> String {
        self.state_hash_without(&[])
    }

    /// Like [`KvView::state_hash`], leaving out whole trees (bookkeeping that
    /// legitimately differs between clusters, such as token hashes).
    pub fn state_hash_without(&self, skip_trees: &[&str]) -> String {
        let skipped: Vec<Vec<u8>> = skip_trees.iter().map(|t| full_key(t, b"")).collect();
        let mut h = Sha256::new();
        for (k, v) in self.map.iter() {
            if skipped.iter().any(|p| k.starts_with(p)) {
                continue;
            }
            h.update((k.len() as u64).to_be_bytes());
            h.update(k);
            h.update((v.len() as u64).to_be_bytes());
            h.update(v);
        }
        hex::encode(h.finalize())
    }
}

fn get(map: &StateMap, tree: &str, key: &[u8]) -> Option<Bytes> {
    map.get(full_key(tree, key).as_slice()).cloned()
}

fn scan<'a>(
    map: &'a StateMap,
    tree: &str,
    prefix: &[u8],
) -> impl Iterator<Item = (&'a [u8], &'a Bytes)> + 'a {
    scan_from(map, tree, prefix, prefix)
}

/// The keys of `tree` that start with `prefix`, from the first `>= from`.
fn scan_from<'a>(
    map: &'a StateMap,
    tree: &str,
    prefix: &[u8],
    from: &[u8],
) -> impl Iterator<Item = (&'a [u8], &'a Bytes)> + 'a {
    let start = full_key(tree, prefix.max(from));
    let skip = tree.len() + 1;
    let end = prefix_end(&full_key(tree, prefix));
    let upper = match &end {
        Some(e) => Bound::Excluded(e.as_slice()),
        None => Bound::Unbounded,
    };
    map.range::<_, [u8]>((Bound::Included(start.as_slice()), upper))
        .map(move |(k, v)| (&k[skip..], v))
}

fn call_each<'a>(
    items: impl Iterator<Item = (&'a [u8], &'a Bytes)>,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) {
    for (k, v) in items {
        if !f(k, v) {
            break;
        }
    }
}

/// One write recorded for sled.
pub(crate) enum Write {
    Put(Bytes, Bytes),
    Delete(Bytes),
}

/// Read-write access during one apply batch. Reads see the batch's own
/// writes. Nothing reaches sled until the whole batch commits, together with
/// the Raft bookkeeping, in one atomic write.
pub struct KvTxn<'a> {
    pub(crate) map: &'a mut StateMap,
    pub(crate) writes: &'a mut Vec<Write>,
}

impl KvTxn<'_> {
    /// Read one key (including writes made earlier in this batch).
    pub fn get(&self, tree: &str, key: &[u8]) -> Option<Bytes> {
        get(self.map, tree, key)
    }

    /// Every `(key, value)` of `tree` whose key starts with `prefix`.
    pub fn scan<'b>(
        &'b self,
        tree: &str,
        prefix: &[u8],
    ) -> impl Iterator<Item = (&'b [u8], &'b Bytes)> + 'b {
        scan(self.map, tree, prefix)
    }

    /// Write one key.
    pub fn put(&mut self, tree: &str, key: &[u8], value: impl Into<Bytes>) {
        let k: Bytes = full_key(tree, key).into();
        let v: Bytes = value.into();
        self.writes.push(Write::Put(k.clone(), v.clone()));
        self.map.insert(k, v);
    }

    /// Delete one key (no effect when absent).
    pub fn delete(&mut self, tree: &str, key: &[u8]) {
        let k: Bytes = full_key(tree, key).into();
        if self.map.remove(k.as_ref()).is_some() {
            self.writes.push(Write::Delete(k));
        }
    }
}

impl KvRead for KvView {
    fn get(&self, tree: &str, key: &[u8]) -> Option<Bytes> {
        KvView::get(self, tree, key)
    }

    fn scan_prefix(&self, tree: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) {
        call_each(scan(&self.map, tree, prefix), f)
    }

    fn scan_prefix_from(
        &self,
        tree: &str,
        prefix: &[u8],
        from: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) {
        call_each(scan_from(&self.map, tree, prefix, from), f)
    }
}

impl KvRead for KvTxn<'_> {
    fn get(&self, tree: &str, key: &[u8]) -> Option<Bytes> {
        KvTxn::get(self, tree, key)
    }

    fn scan_prefix(&self, tree: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) {
        call_each(scan(self.map, tree, prefix), f)
    }

    fn scan_prefix_from(
        &self,
        tree: &str,
        prefix: &[u8],
        from: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) {
        call_each(scan_from(self.map, tree, prefix, from), f)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_do_not_leak_into_each_other() {
        let mut map = StateMap::new();
        let mut writes = Vec::new();
        let mut txn = KvTxn {
            map: &mut map,
            writes: &mut writes,
        };
        txn.put("a", b"1", b"x".to_vec());
        txn.put("ab", b"1", b"y".to_vec());
        txn.put("a", b"2", b"z".to_vec());
        let a: Vec<_> = txn
            .scan("a", b"")
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        assert_eq!(
            a,
            vec![
                (b"1".to_vec(), b"x".to_vec()),
                (b"2".to_vec(), b"z".to_vec())
            ]
        );
        txn.delete("a", b"1");
        txn.delete("a", b"missing");
        assert_eq!(txn.get("a", b"1"), None);
        assert_eq!(writes.len(), 4);
    }

    #[test]
    fn a_view_does_not_change_when_the_state_does() {
        let mut map = StateMap::new();
        let mut writes = Vec::new();
        KvTxn {
            map: &mut map,
            writes: &mut writes,
        }
        .put("t", b"k", b"1".to_vec());
        let view = KvView {
            map: map.clone(),
            applied_index: 1,
        };
        let before = view.state_hash();
        KvTxn {
            map: &mut map,
            writes: &mut writes,
        }
        .put("t", b"k", b"2".to_vec());
        assert_eq!(view.get("t", b"k").as_deref(), Some(&b"1"[..]));
        assert_eq!(view.state_hash(), before);
        assert_ne!(
            KvView {
                map,
                applied_index: 2
            }
            .state_hash(),
            before
        );
    }

    #[test]
    fn prefix_scan_handles_0xff() {
        let mut map = StateMap::new();
        let mut writes = Vec::new();
        let mut txn = KvTxn {
            map: &mut map,
            writes: &mut writes,
        };
        txn.put("t", &[0xff, 0xff], b"a".to_vec());
        txn.put("t", &[0xff], b"b".to_vec());
        txn.put("u", &[0], b"c".to_vec());
        assert_eq!(txn.scan("t", &[0xff]).count(), 2);
        assert_eq!(txn.scan("t", &[]).count(), 2);
    }

    #[test]
    fn scan_from_seeks_within_the_prefix_only() {
        let mut map = StateMap::new();
        let mut writes = Vec::new();
        let mut txn = KvTxn {
            map: &mut map,
            writes: &mut writes,
        };
        for k in [&[1u8, 1][..], &[1, 2], &[1, 3], &[2, 0], &[0, 9]] {
            txn.put("t", k, k.to_vec());
        }
        txn.put("u", &[1, 5], b"other tree".to_vec());
        let view = KvView {
            map: map.clone(),
            applied_index: 1,
        };
        let keys = |from: &[u8]| {
            let mut out = Vec::new();
            view.scan_prefix_from("t", &[1], from, &mut |k, _| {
                out.push(k.to_vec());
                true
            });
            out
        };
        assert_eq!(keys(&[1, 2]), vec![vec![1, 2], vec![1, 3]]);
        assert_eq!(keys(&[1]), vec![vec![1, 1], vec![1, 2], vec![1, 3]]);
        assert_eq!(
            keys(&[0]),
            keys(&[1]),
            "a start before the prefix is the prefix"
        );
        assert!(keys(&[1, 4]).is_empty());
        assert!(keys(&[3]).is_empty());
    }
}
