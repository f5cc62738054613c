//! First outcomes of bid ids: what makes a retried bid idempotent.
//!
//! Every bid leaves one entry here, so this is the largest map of the state
//! and the one the bid path touches twice (look up, then insert). Bid ids
//! are chosen by clients, so their hash must be keyed (SipHash with a key
//! the node draws at start, [`HashKey`]) or a bidder could craft colliding
//! ids and slow every node down. SipHash is slow to recompute on every growth of a
//! million-entry table, though, so it is computed once per bid into a
//! 64-bit fingerprint, and the table is keyed by that fingerprint with a
//! cheap integer hash. Fingerprints may collide (they differ per process);
//! each slot keeps its full keys, so lookups stay exact and every node
//! answers the same whatever its key.

use std::hash::BuildHasher;

use paddle_proto::auction::AuctionReply;
use siphasher::sip::SipHasher13;

use crate::ids::IdMap;

/// The key of the hashes over client-chosen strings (bid ids, token
/// hashes). It decides only where entries sit in memory, never an outcome,
/// so nodes need not share it; the node draws a random one at start, and
/// [`HashKey::default`] (all zero) serves tests and tools, which face no
/// adversary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashKey {
    k0: u64,
    k1: u64,
}

impl HashKey {
    /// A key from 128 bits the caller chose (at random, for a node).
    pub fn new(k0: u64, k1: u64) -> Self {
        HashKey { k0, k1 }
    }
}

impl BuildHasher for HashKey {
    type Hasher = SipHasher13;

    fn build_hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.k0, self.k1)
    }
}

/// Bid-id outcome key → first reply.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcomes {
    sip: HashKey,
    map: IdMap<u64, Slot>,
    len: usize,
}

/// One key and its reply.
type Entry = (Box<[u8]>, AuctionReply);

#[derive(Debug, Clone)]
struct Slot {
    key: Box<[u8]>,
    reply: Box<AuctionReply>,
    /// Other keys with the same fingerprint (almost always none). Boxed so
    /// the common slot carries 8 bytes for it, not a 24-byte `Vec`.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<Entry>>>,
}

impl Outcomes {
    /// An empty table hashing with `key`.
    pub(crate) fn keyed(key: HashKey) -> Self {
        Outcomes {
            sip: key,
            ..Self::default()
        }
    }

    /// The fingerprint of `key` in this process.
    pub(crate) fn fingerprint(&self, key: &[u8]) -> u64 {
        self.sip.hash_one(key)
    }

    /// The reply stored under `key`, given its fingerprint.
    pub(crate) fn get_at(&self, fp: u64, key: &[u8]) -> Option<&AuctionReply> {
        let slot = self.map.get(&fp)?;
        if *slot.key == *key {
            return Some(&slot.reply);
        }
        slot.more
            .as_deref()
            .and_then(|m| m.iter().find(|(k, _)| **k == *key))
            .map(|(_, r)| r)
    }

    /// The reply stored under `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&AuctionReply> {
        self.get_at(self.fingerprint(key), key)
    }

    /// Store the first reply for `key` (absent, as the caller checked).
    pub(crate) fn insert_at(&mut self, fp: u64, key: &[u8], reply: AuctionReply) {
        self.len += 1;
        match self.map.get_mut(&fp) {
            Some(slot) => slot
                .more
                .get_or_insert_with(Box::default)
                .push((key.into(), reply)),
            None => {
                self.map.insert(
                    fp,
                    Slot {
                        key: key.into(),
                        reply: Box::new(reply),
                        more: None,
                    },
                );
            }
        }
    }

    /// Store the first reply for `key`.
    pub(crate) fn insert(&mut self, key: &[u8], reply: AuctionReply) {
        let fp = self.fingerprint(key);
        if self.get_at(fp, key).is_none() {
            self.insert_at(fp, key, reply);
        }
    }

    /// Every entry, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &AuctionReply)> {
        self.map.values().flat_map(|s| {
            let more = s.more.as_deref().into_iter().flatten();
            std::iter::once((&*s.key, &*s.reply)).chain(more.map(|(k, r)| (&**k, r)))
        })
    }
}

impl PartialEq for Outcomes {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().all(|(k, r)| other.get(k) == Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(n: u64) -> AuctionReply {
        AuctionReply::Rejected {
            reason: paddle_proto::auction::RejectReason::NotDue { due_ms: n },
            message: String::new(),
        }
    }

    #[test]
    fn colliding_fingerprints_stay_exact() {
        let mut o = Outcomes::default();
        // Force two keys under one fingerprint.
        o.insert_at(7, b"a", reply(1));
        o.insert_at(7, b"b", reply(2));
        assert_eq!(o.get_at(7, b"a"), Some(&reply(1)));
        assert_eq!(o.get_at(7, b"b"), Some(&reply(2)));
        assert_eq!(o.get_at(7, b"c"), None);
        assert_eq!(o.iter().count(), 2);
        let mut p = Outcomes::default();
        p.insert(b"a", reply(1));
        p.insert(b"b", reply(2));
        p.insert(b"b", reply(3));
        assert_eq!(p.get(b"b"), Some(&reply(2)));
        // Equal contents are equal whatever the fingerprints.
        let mut q = Outcomes::default();
        q.insert(b"a", reply(1));
        q.insert(b"b", reply(2));
        assert!(p == q);
    }
}
