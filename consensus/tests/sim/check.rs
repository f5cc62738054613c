//! The checks of one seed's history against every member's final state.
//!
//! - every acknowledged bid is in every member's applied log exactly once
//!   as a first application, and (first or repeat) at the index its
//!   acknowledgement named, with the acknowledged outcome stored;
//! - a bid whose every attempt was refused is in no member's log;
//! - no bid id made two bids (each lot's book holds a bid id at most once);
//! - prices never fall per lot: in acknowledged replies by index, and in
//!   linearizable reads by index;
//! - every member holds the same state hash at the same index;
//! - linearizable reads never went backwards, and each saw every bid
//!   acknowledged before it was sent.

use std::collections::{BTreeMap, BTreeSet};

use paddle_auction::read;
use paddle_consensus::kv::KvView;
use paddle_proto::auction::{Accepted, AuctionReply, BidId, LotId};

use super::cluster::applied_bids;
use super::run::{History, Outcome, LOTS, SALE};

/// The violations found (empty: the seed passed).
#[derive(Debug, Default)]
pub struct Verdict {
    pub violations: Vec<String>,
    /// Acknowledged bids missing from some member's log (must be 0).
    pub lost: u64,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    fn fail(&mut self, what: String) {
        if self.violations.len() < 40 {
            self.violations.push(what);
        }
    }
}

pub fn check(history: &History, views: &[KvView]) -> Verdict {
    let mut v = Verdict::default();
    let logs: Vec<_> = views.iter().map(applied_bids).collect();

    // Outcomes by bid id: which ids may be in the log at all.
    let mut may_be_applied: BTreeSet<&str> = BTreeSet::new();
    for b in &history.bids {
        if !matches!(b.outcome, Outcome::Refused(_)) {
            may_be_applied.insert(&b.bid_id);
        }
    }

    for (m, (view, log)) in views.iter().zip(&logs).enumerate() {
        let node = m + 1;
        let mut firsts: BTreeMap<&str, u32> = BTreeMap::new();
        let mut at: BTreeSet<(u64, &str)> = BTreeSet::new();
        for e in log {
            if e.first {
                *firsts.entry(&e.bid_id).or_default() += 1;
            }
            at.insert((e.index, &e.bid_id));
        }
        for b in &history.bids {
            let applied = firsts.get(b.bid_id.as_str()).copied().unwrap_or(0);
            if applied > 1 {
                v.fail(format!(
                    "member {node}: bid {} applied {applied} times as new",
                    b.bid_id
                ));
            }
            match &b.outcome {
                Outcome::Acked { index, reply } => {
                    if applied != 1 || !at.contains(&(*index, b.bid_id.as_str())) {
                        v.lost += 1;
                        v.fail(format!(
                            "member {node}: acknowledged bid {} (index {index}) is not in its log at that index (first applications: {applied})",
                            b.bid_id
                        ));
                    }
                    let stored = read::bid_outcome(
                        view,
                        SALE,
                        b.paddle,
                        false,
                        &BidId::new(b.bid_id.clone()).expect("valid"),
                    )
                    .expect("outcome decodes");
                    if stored.as_ref() != Some(reply) {
                        v.fail(format!(
                            "member {node}: bid {} was acknowledged as {reply:?} but its stored outcome is {stored:?}",
                            b.bid_id
                        ));
                    }
                }
                Outcome::Refused(why) if !may_be_applied.contains(b.bid_id.as_str()) => {
                    if applied > 0 {
                        v.fail(format!(
                            "member {node}: bid {} was refused ({why}) but applied",
                            b.bid_id
                        ));
                    }
                }
                _ => {}
            }
        }
        // No bid id made two bids: a book holds each bid id once.
        for lot in 0..LOTS {
            let mut seen = BTreeSet::new();
            for seq in 0.. {
                let Some(entry) = read::bid_record(view, LotId(lot), seq).expect("bid decodes")
                else {
                    break;
                };
                if !seen.insert(entry.bid_id.as_str().to_string()) {
                    v.fail(format!(
                        "member {node}: bid id {} made two bids on lot {lot}",
                        entry.bid_id
                    ));
                }
            }
        }
    }

    // The same state everywhere.
    if let Some(first) = views.first() {
        let hash = first.state_hash();
        for (m, view) in views.iter().enumerate().skip(1) {
            if view.applied_index() != first.applied_index() || view.state_hash() != hash {
                v.fail(format!(
                    "member {} at index {} has state {}, member 1 at index {} has {hash}",
                    m + 1,
                    view.applied_index(),
                    view.state_hash(),
                    first.applied_index()
                ));
            }
        }
    }

    // Prices never fall: acknowledged accepted bids, in log order. A repeat
    // is answered with the first outcome, whose price is as of the bid
    // id's first application.
    let first_index: BTreeMap<&str, u64> = logs
        .first()
        .map(|log| {
            log.iter()
                .filter(|e| e.first)
                .map(|e| (e.bid_id.as_str(), e.index))
                .collect()
        })
        .unwrap_or_default();
    let mut by_lot: BTreeMap<u64, Vec<(u64, i64, String)>> = BTreeMap::new();
    for b in &history.bids {
        if let Outcome::Acked {
            index,
            reply:
                AuctionReply::Accepted {
                    accepted: Accepted::Bid { lot, .. },
                },
        } = &b.outcome
        {
            if let Some(p) = lot.price {
                by_lot.entry(lot.lot.0).or_default().push((
                    first_index
                        .get(b.bid_id.as_str())
                        .copied()
                        .unwrap_or(*index),
                    p.minor(),
                    format!("the reply to bid {} through member {}", b.bid_id, b.node),
                ));
            }
        }
    }
    for read in &history.reads {
        for (lot, price) in read.prices.iter().enumerate() {
            if let Some(p) = price {
                by_lot.entry(lot as u64).or_default().push((
                    read.index,
                    *p,
                    format!("a read on member {}", read.node),
                ));
            }
        }
    }
    for (lot, mut prices) in by_lot {
        prices.sort();
        for w in prices.windows(2) {
            if w[1].1 < w[0].1 {
                v.fail(format!(
                    "lot {lot}: price {} at index {} ({}) fell to {} at index {} ({})",
                    w[0].1, w[0].0, w[0].2, w[1].1, w[1].0, w[1].2
                ));
            }
        }
    }

    // Linearizable reads: never older than a read that ended before them,
    // nor than a bid acknowledged before them.
    for r in &history.reads {
        for earlier in history.reads.iter().filter(|e| e.completed < r.invoked) {
            if r.index < earlier.index {
                v.fail(format!(
                    "read on member {} saw index {} after a read on member {} had seen {}",
                    r.node, r.index, earlier.node, earlier.index
                ));
            }
        }
        for b in history.bids.iter().filter(|b| b.completed < r.invoked) {
            if let Outcome::Acked { index, .. } = b.outcome {
                if r.index < index {
                    v.fail(format!(
                        "read on member {} saw index {} after bid {} was acknowledged at {index}",
                        r.node, r.index, b.bid_id
                    ));
                }
            }
        }
    }
    v
}
