//! Collections keyed by ids: dense vectors for ids the cluster hands out
//! from zero (sales, lots), and a fast integer hash for keys clients cannot
//! choose (sale, paddle).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use paddle_proto::auction::{LotId, SaleId};

/// Ids handed out densely from zero by a counter, usable as vector indexes.
pub(crate) trait DenseId: Copy {
    fn index(self) -> usize;
}

impl DenseId for SaleId {
    fn index(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl DenseId for LotId {
    fn index(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

/// Records keyed by a dense id: a vector, so the bid path finds its sale and
/// lot by indexing instead of searching. Ids are never reused or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdVec<K, V> {
    items: Vec<V>,
    _key: std::marker::PhantomData<K>,
}

impl<K, V> Default for IdVec<K, V> {
    fn default() -> Self {
        IdVec {
            items: Vec::new(),
            _key: std::marker::PhantomData,
        }
    }
}

impl<K: DenseId, V> IdVec<K, V> {
    pub(crate) fn get(&self, id: &K) -> Option<&V> {
        self.items.get(id.index())
    }

    pub(crate) fn get_mut(&mut self, id: &K) -> Option<&mut V> {
        self.items.get_mut(id.index())
    }

    pub(crate) fn contains_key(&self, id: &K) -> bool {
        id.index() < self.items.len()
    }

    /// Add the record of the next id; false (and nothing added) when `id`
    /// is not the next one.
    pub(crate) fn push(&mut self, id: K, v: V) -> bool {
        if id.index() != self.items.len() {
            return false;
        }
        self.items.push(v);
        true
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.items.iter()
    }
}

/// A fast hasher for integer keys (sale, paddle): multiply-rotate, as in
/// rustc's FxHash. Only for keys clients cannot choose freely; bid ids,
/// which they can, stay under std's keyed SipHash.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

const SEED: u64 = 0xf135_7aea_2e62_a9c5;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(*b as u64);
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = self.0.wrapping_add(i).wrapping_mul(SEED);
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
