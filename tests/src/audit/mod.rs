//! The history checker for bids: everything the clients were told, every
//! read they made, and the final state of every node, held against each
//! other and against the auction rules.
//!
//! An [`Audit`] is plain data, gathered by a test ([`collect`]) or written
//! by hand (the unit tests, which make histories that must fail). Its
//! [`Audit::check`] finds:
//!
//! 1. **lost**: a bid acknowledged as accepted that is missing from some
//!    node's history of its lot, or placed there at a later index than the
//!    one its answer named (the answer's index is one at which the bid is
//!    in the state: where it was placed or, for an outcome the node learned
//!    by resending the bid id itself, a later one);
//! 2. **lies**: a bid in a history whose client was told it was refused by
//!    the rules or "not placed";
//! 3. **phantoms**: a bid in a history that no client sent, or sent on
//!    another lot or by another paddle;
//! 4. **doubles**: a bid id that made two bids (per paddle, across lots);
//! 5. **order**: a lot history whose positions (`seq`) are not 0, 1, 2, …
//!    or whose log indexes fall along them;
//! 6. **rules**: each lot's bids replayed in history order through the
//!    pure engine's pricing ([`paddle_auction::Book`]), with the maximums the
//!    clients sent, must give the final price, leader and bid count every
//!    node shows;
//! 7. **divergence**: every node at the same applied index with the same
//!    state hash (`GET /api/v1/state`) and the same lots and histories;
//! 8. **stale or torn reads**: a read that claimed index `i` must show
//!    exactly the lot the replay gives at `i` (a node never shows an older
//!    state under a newer index, nor a half-applied one), and the prices
//!    the reads showed never fall as their indexes grow.
//!
//! `unknown` answers may be either placed or not; they are counted. What
//! the checker needs from the nodes is what clients can see: a lot's
//! history with bid ids (staff token, `GET /api/v1/lots/{lot}/bids`), a
//! bidder's own bids with theirs (`GET /api/v1/me/bids`), the lot
//! (`GET /api/v1/lots/{lot}`) and the state hash.

pub mod collect;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use paddle_auction::{Book, Terms};
use paddle_proto::auction::{IncrementBand, IncrementTable, Paddle};
use paddle_proto::Money;

/// What a client was told about one bid it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Accepted, committed at this index (`None`: no index in the answer).
    Accepted(Option<u64>),
    /// Refused by the rules at this index, with the rule's code.
    Refused(u64, String),
    /// Refused before the log ("not placed": `no_quorum`, `rate_limited`,
    /// `unavailable`): it must never be in the history.
    NotPlaced(String),
    /// No answer, a timeout, `outcome_unknown`: either way.
    Unknown,
}

/// One bid as sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub bid_id: String,
    pub paddle: u32,
    pub lot: u64,
    /// The maximum sent (minor units).
    pub max: i64,
    pub answer: Answer,
    /// Which node it was sent to (for messages).
    pub node: String,
}

/// A lot as one read showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotSeen {
    pub price: Option<i64>,
    pub leader: Option<u32>,
    pub bids: u32,
}

/// One read of a lot during the run.
#[derive(Debug, Clone)]
pub struct Read {
    pub node: String,
    pub lot: u64,
    /// The `applied_index` the answer claimed.
    pub index: u64,
    pub seen: LotSeen,
}

/// One row of a lot's history (staff view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub seq: u32,
    pub bid_id: String,
    pub paddle: u32,
    pub index: u64,
    pub retracted: bool,
}

/// A lot as a node holds it at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotFinal {
    pub seen: LotSeen,
    pub history: Vec<Row>,
}

/// What one node holds at the end.
#[derive(Debug, Clone)]
pub struct NodeFinal {
    pub name: String,
    pub applied_index: u64,
    pub state_hash: String,
    pub lots: BTreeMap<u64, LotFinal>,
}

/// The pricing terms of a lot (no reserve, no clerk override: what the
/// fault tests' sales use).
#[derive(Debug, Clone)]
pub struct LotTerms {
    pub start: i64,
    /// `(from, increment)` bands, minor units.
    pub increments: Vec<(i64, i64)>,
}

/// Everything a run produced.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    pub sent: Vec<Sent>,
    pub reads: Vec<Read>,
    pub nodes: Vec<NodeFinal>,
    pub terms: BTreeMap<u64, LotTerms>,
}

/// What a passing check counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub sent: usize,
    pub accepted: usize,
    pub refused: usize,
    pub not_placed: usize,
    pub unknown: usize,
    /// Of the unknown answers, how many turned out placed.
    pub unknown_placed: usize,
    /// Bids in the final history (per node; all nodes agree).
    pub in_history: usize,
    pub reads: usize,
    pub nodes: usize,
    pub applied_index: u64,
}

/// The lot after each log index, as the rules give it.
type Timeline = Vec<(u64, LotSeen)>;

fn money(minor: i64) -> Money {
    Money::from_minor(minor).unwrap_or(Money::ZERO)
}

/// Problems by kind, each kept to a few examples.
#[derive(Default)]
struct Findings {
    by_kind: BTreeMap<&'static str, (usize, Vec<String>)>,
}

impl Findings {
    fn add(&mut self, kind: &'static str, what: String) {
        let (n, ex) = self.by_kind.entry(kind).or_default();
        *n += 1;
        if ex.len() < 5 {
            ex.push(what);
        }
    }

    fn into_result(self) -> anyhow::Result<()> {
        if self.by_kind.is_empty() {
            return Ok(());
        }
        let mut msg = String::from("the history check failed:");
        for (kind, (n, ex)) in &self.by_kind {
            let _ = write!(msg, "\n  {kind}: {n}");
            for e in ex {
                let _ = write!(msg, "\n    - {e}");
            }
        }
        anyhow::bail!(msg)
    }
}

impl Audit {
    /// Check the whole run (see the module documentation). The error lists
    /// every kind of violation found, with examples.
    pub fn check(&self) -> anyhow::Result<Verdict> {
        let mut f = Findings::default();
        anyhow::ensure!(!self.nodes.is_empty(), "no node's final state to check");
        let sent: HashMap<&str, &Sent> = self.sent.iter().map(|s| (s.bid_id.as_str(), s)).collect();
        if sent.len() != self.sent.len() {
            f.add(
                "test error",
                "two requests used the same bid id (each bid must have its own)".into(),
            );
        }
        self.check_divergence(&mut f);
        for node in &self.nodes {
            self.check_node(node, &sent, &mut f);
        }
        let timelines = self.check_rules(&sent, &mut f);
        self.check_reads(&timelines, &mut f);
        f.into_result()?;
        Ok(self.verdict())
    }

    fn check_divergence(&self, f: &mut Findings) {
        let first = &self.nodes[0];
        for n in &self.nodes[1..] {
            if (n.applied_index, &n.state_hash) != (first.applied_index, &first.state_hash) {
                f.add(
                    "divergence",
                    format!(
                        "{} is at index {} with state {}, {} at index {} with state {}",
                        first.name,
                        first.applied_index,
                        first.state_hash,
                        n.name,
                        n.applied_index,
                        n.state_hash
                    ),
                );
            }
            for (lot, a) in &first.lots {
                if n.lots.get(lot) != Some(a) {
                    f.add(
                        "divergence",
                        format!("lot {lot} differs between {} and {}", first.name, n.name),
                    );
                }
            }
        }
    }

    /// Lost, lies, phantoms, doubles and order, on one node.
    fn check_node(&self, node: &NodeFinal, sent: &HashMap<&str, &Sent>, f: &mut Findings) {
        let mut ids: HashSet<(u32, &str)> = HashSet::new();
        let mut placed: HashMap<&str, (u64, u64)> = HashMap::new();
        for (lot, l) in &node.lots {
            let mut last_index = 0;
            for (pos, row) in l.history.iter().enumerate() {
                let at = format!("{} lot {lot} seq {}", node.name, row.seq);
                if row.seq as usize != pos {
                    f.add("order", format!("{at}: at position {pos} of the history"));
                }
                if row.index < last_index {
                    f.add(
                        "order",
                        format!("{at}: index {} after index {last_index}", row.index),
                    );
                }
                last_index = row.index;
                if !ids.insert((row.paddle, row.bid_id.as_str())) {
                    f.add(
                        "doubles",
                        format!(
                            "{at}: bid id {} of paddle {} made a second bid",
                            row.bid_id, row.paddle
                        ),
                    );
                }
                placed.insert(row.bid_id.as_str(), (*lot, row.index));
                match sent.get(row.bid_id.as_str()) {
                    None => f.add("phantoms", format!("{at}: bid {} was never sent", row.bid_id)),
                    Some(s) if (s.lot, s.paddle) != (*lot, row.paddle) => f.add(
                        "phantoms",
                        format!(
                            "{at}: bid {} by paddle {} was sent on lot {} by paddle {}",
                            row.bid_id, row.paddle, s.lot, s.paddle
                        ),
                    ),
                    Some(s) => match &s.answer {
                        Answer::Refused(i, code) => f.add(
                            "lies",
                            format!(
                                "{at}: bid {} is in the history but was answered refused ({code}, index {i}) by {}",
                                row.bid_id, s.node
                            ),
                        ),
                        Answer::NotPlaced(code) => f.add(
                            "lies",
                            format!(
                                "{at}: bid {} is in the history but was answered not placed ({code}) by {}",
                                row.bid_id, s.node
                            ),
                        ),
                        _ => {}
                    },
                }
            }
        }
        for s in &self.sent {
            if let Answer::Accepted(acked) = s.answer {
                match placed.get(s.bid_id.as_str()) {
                    None => f.add(
                        "lost",
                        format!(
                            "bid {} (lot {}, paddle {}) acknowledged by {} at index {acked:?} is not in {}'s history",
                            s.bid_id, s.lot, s.paddle, s.node, node.name
                        ),
                    ),
                    // The answer's index is one at which the bid is in the
                    // state: where it was placed, or later (a resend the
                    // node made itself answers with the first outcome and
                    // the index it had applied). Never earlier.
                    Some((_, i)) if acked.is_some_and(|a| a < *i) => f.add(
                        "lost",
                        format!(
                            "bid {} acknowledged at index {acked:?} was only placed at index {i} on {}",
                            s.bid_id, node.name
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
    }

    /// Replay every lot's history through the rules; compare with every
    /// node's final lot. Returns each lot's timeline (from the first node).
    fn check_rules(
        &self,
        sent: &HashMap<&str, &Sent>,
        f: &mut Findings,
    ) -> BTreeMap<u64, Timeline> {
        let mut timelines = BTreeMap::new();
        for (lot, l) in &self.nodes[0].lots {
            let Some(terms) = self.terms.get(lot) else {
                f.add("test error", format!("no terms for lot {lot}"));
                continue;
            };
            let Some(timeline) = replay(terms, &l.history, sent) else {
                f.add(
                    "test error",
                    format!("lot {lot}'s increment table is invalid"),
                );
                continue;
            };
            let end = timeline.last().map(|(_, s)| s.clone()).unwrap_or(LotSeen {
                price: None,
                leader: None,
                bids: 0,
            });
            for node in &self.nodes {
                if let Some(nl) = node.lots.get(lot) {
                    if nl.seen != end {
                        f.add(
                            "rules",
                            format!(
                                "{} shows lot {lot} as {:?}; the acknowledged maximums give {end:?}",
                                node.name, nl.seen
                            ),
                        );
                    }
                }
            }
            timelines.insert(*lot, timeline);
        }
        timelines
    }

    fn check_reads(&self, timelines: &BTreeMap<u64, Timeline>, f: &mut Findings) {
        let mut by_lot: BTreeMap<u64, Vec<&Read>> = BTreeMap::new();
        for r in &self.reads {
            by_lot.entry(r.lot).or_default().push(r);
            let Some(t) = timelines.get(&r.lot) else {
                continue;
            };
            let expected = at_index(t, r.index);
            if r.seen != expected {
                let kind = if r.seen.bids < expected.bids {
                    "stale reads"
                } else {
                    "torn reads"
                };
                f.add(
                    kind,
                    format!(
                        "{} claimed index {} and showed lot {} as {:?}; at that index it was {expected:?}",
                        r.node, r.index, r.lot, r.seen
                    ),
                );
            }
        }
        for (lot, mut reads) in by_lot {
            reads.sort_by_key(|r| r.index);
            for w in reads.windows(2) {
                if w[1].seen.price < w[0].seen.price {
                    f.add(
                        "price fell",
                        format!(
                            "lot {lot}: {:?} at index {} ({}), then {:?} at index {} ({})",
                            w[0].seen.price,
                            w[0].index,
                            w[0].node,
                            w[1].seen.price,
                            w[1].index,
                            w[1].node
                        ),
                    );
                }
            }
        }
    }

    fn verdict(&self) -> Verdict {
        let placed: HashSet<&str> = self.nodes[0]
            .lots
            .values()
            .flat_map(|l| l.history.iter().map(|r| r.bid_id.as_str()))
            .collect();
        let mut v = Verdict {
            sent: self.sent.len(),
            in_history: placed.len(),
            reads: self.reads.len(),
            nodes: self.nodes.len(),
            applied_index: self.nodes[0].applied_index,
            ..Verdict::default()
        };
        for s in &self.sent {
            match s.answer {
                Answer::Accepted(_) => v.accepted += 1,
                Answer::Refused(..) => v.refused += 1,
                Answer::NotPlaced(_) => v.not_placed += 1,
                Answer::Unknown => {
                    v.unknown += 1;
                    v.unknown_placed += usize::from(placed.contains(s.bid_id.as_str()));
                }
            }
        }
        v
    }
}

/// The lot after every index of its history, by the rules: each unretracted
/// bid, in history order, with the maximum its client sent. `None` when the
/// terms are not a valid table.
fn replay(terms: &LotTerms, history: &[Row], sent: &HashMap<&str, &Sent>) -> Option<Timeline> {
    let bands = terms
        .increments
        .iter()
        .map(|(from, inc)| IncrementBand {
            from: money(*from),
            increment: money(*inc),
        })
        .collect();
    let table = IncrementTable::new(bands).ok()?;
    let t = Terms {
        start: money(terms.start),
        reserve: None,
        asking: None,
        table: &table,
    };
    let mut book = Book::default();
    let mut timeline: Timeline = Vec::new();
    for row in history.iter().filter(|r| !r.retracted) {
        let Some(s) = sent.get(row.bid_id.as_str()) else {
            continue; // a phantom: reported by check_node
        };
        book.add(&t, Paddle(row.paddle), money(s.max), row.seq, false);
        let seen = LotSeen {
            price: book.price.map(|p| p.minor()),
            leader: book.top.map(|s| s.paddle.0),
            bids: book.bids,
        };
        match timeline.last_mut() {
            Some((i, last)) if *i == row.index => *last = seen,
            _ => timeline.push((row.index, seen)),
        }
    }
    Some(timeline)
}

/// The lot as of index `i` (after every bid at or below it).
fn at_index(t: &Timeline, i: u64) -> LotSeen {
    t.iter()
        .take_while(|(at, _)| *at <= i)
        .last()
        .map(|(_, s)| s.clone())
        .unwrap_or(LotSeen {
            price: None,
            leader: None,
            bids: 0,
        })
}
