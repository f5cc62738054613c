//! The bid history of one lot and its book: proxy bidding with eBay
//! semantics.
//!
//! Only two maxes decide the price: the top one and the best one from any
//! other bidder. The price is
//!
//! ```text
//! price = min(top max, second max + increment(second max))   (start without a second)
//!         raised to the reserve once the top max meets it
//!         raised to the top bidder's own floor (open-outcry) amount
//! ```
//!
//! and never falls while bids come in. Equal maxes: the earlier one leads.
//! The leader raising their own max changes nothing, except in one case
//! eBay's own logs show: when the price was capped at the leader's old max
//! (a tie or near tie), it moves up to `min(new max, second + increment)` —
//! the formula above applied to the new max. Keeping the formula exact
//! keeps replays of real eBay logs exact (see `replay`).

use paddle_proto::auction::{BidId, BidKind, Paddle};
use paddle_proto::Money;
use serde::{Deserialize, Serialize};

/// One bid on a lot. Only bids that counted (or wait as absentee bids) are
/// kept; refused bids leave only their outcome behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidEntry {
    /// Position in the lot's history (0-based).
    pub seq: u32,
    pub bid_id: BidId,
    pub paddle: Paddle,
    /// The bidder's max. Never shown to others.
    pub max: Money,
    /// What the public history shows: `min(max, price right after the bid)`.
    pub shown: Money,
    pub kind: BidKind,
    pub stamp_ms: u64,
    pub index: u64,
    /// False for an absentee bid until its lot opens.
    pub applied: bool,
    pub retracted: bool,
}

/// One bidder's standing in a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub paddle: Paddle,
    /// Their best max on this lot.
    pub max: Money,
    /// Seq of the bid that set that max (earlier wins ties).
    pub seq: u32,
    /// Their highest floor (open-outcry) amount: a floor bid is called out
    /// loud, so when its bidder leads the price is at least that amount.
    pub outcry: Money,
}

/// A lot's bid book: enough to price the next bid in O(1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// `None` before the first counted bid.
    pub price: Option<Money>,
    pub top: Option<Standing>,
    /// The best standing of anyone but the top bidder.
    pub second: Option<Standing>,
    /// Counted bids (applied, not retracted).
    pub bids: u32,
    /// Stamp of the last counted bid, and the minimum next bid that stood
    /// just before it. Bids of the same log entry (hence the same stamp) are
    /// simultaneous: each is held to that earlier minimum, so nobody is
    /// refused for losing a race they could not have seen.
    pub last_stamp_ms: Option<u64>,
    pub stamp_minimum: Money,
}

/// The pricing inputs that come from the lot and sale, not the book.
#[derive(Debug, Clone, Copy)]
pub struct Terms<'a> {
    pub start: Money,
    pub reserve: Option<Money>,
    /// The clerk's asking increment override, else the table.
    pub asking: Option<Money>,
    pub table: &'a paddle_proto::auction::IncrementTable,
}

impl Terms<'_> {
    /// Increment to add at `price`.
    pub fn increment_at(&self, price: Money) -> Money {
        self.asking
            .unwrap_or_else(|| self.table.increment_at(price))
    }

    /// The price the two standings (and the reserve) justify.
    pub fn price_for(&self, top: &Standing, second: Option<&Standing>) -> Money {
        let mut p = match second {
            None => self.start,
            Some(s) => top.max.min(s.max.saturating_add(self.increment_at(s.max))),
        };
        p = p.max(self.start);
        if let Some(r) = self.reserve {
            if top.max >= r {
                p = p.max(r);
            }
        }
        p = p.max(top.outcry);
        p.min(top.max)
    }
}

impl Book {
    /// Add one max from `paddle` (already validated against the minimum)
    /// and reprice. A floor bid's amount is also its outcry.
    pub fn add(&mut self, terms: &Terms<'_>, paddle: Paddle, max: Money, seq: u32, floor: bool) {
        let outcry = if floor { max } else { Money::ZERO };
        self.bids += 1;
        match &mut self.top {
            None => {
                self.top = Some(Standing {
                    paddle,
                    max,
                    seq,
                    outcry,
                })
            }
            Some(top) if top.paddle == paddle => {
                if max > top.max {
                    top.max = max;
                    top.seq = seq;
                }
                top.outcry = top.outcry.max(outcry);
            }
            Some(top) => {
                let mut challenger = Standing {
                    paddle,
                    max,
                    seq,
                    outcry,
                };
                if let Some(prev) = self.second.filter(|s| s.paddle == paddle) {
                    challenger.outcry = challenger.outcry.max(prev.outcry);
                    if prev.max >= max {
                        challenger.max = prev.max;
                        challenger.seq = prev.seq;
                    }
                }
                if challenger.max > top.max {
                    self.second = Some(*top);
                    *top = challenger;
                } else if self
                    .second
                    .is_none_or(|s| s.paddle == paddle || challenger.max > s.max)
                {
                    self.second = Some(challenger);
                }
            }
        }
        let top = self.top.as_ref().expect("set above");
        let p = terms.price_for(top, self.second.as_ref());
        self.price = Some(self.price.map_or(p, |old| old.max(p)));
    }

    /// Rebuild the book from a history: each bidder's best max among the
    /// applied, unretracted bids. Used when a bid is retracted (the price
    /// may fall) and when a live lot opens with absentee bids.
    pub fn recompute(terms: &Terms<'_>, bids: &[BidEntry]) -> Book {
        let mut best: Vec<Standing> = Vec::new();
        let mut count = 0u32;
        for b in bids.iter().filter(|b| b.applied && !b.retracted) {
            count += 1;
            let outcry = if matches!(b.kind, BidKind::Floor | BidKind::Phone) {
                b.max
            } else {
                Money::ZERO
            };
            match best.iter_mut().find(|s| s.paddle == b.paddle) {
                Some(s) => {
                    if b.max > s.max {
                        s.max = b.max;
                        s.seq = b.seq;
                    }
                    s.outcry = s.outcry.max(outcry);
                }
                None => best.push(Standing {
                    paddle: b.paddle,
                    max: b.max,
                    seq: b.seq,
                    outcry,
                }),
            }
        }
        // Highest max first; on equal maxes the earlier one.
        best.sort_by(|a, b| b.max.cmp(&a.max).then(a.seq.cmp(&b.seq)));
        let top = best.first().copied();
        let second = best.get(1).copied();
        let price = top.map(|t| terms.price_for(&t, second.as_ref()));
        Book {
            price,
            top,
            second,
            bids: count,
            last_stamp_ms: None,
            stamp_minimum: Money::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddle_proto::auction::IncrementTable;

    fn m(v: i64) -> Money {
        Money::from_minor(v).unwrap()
    }

    fn run(bids: &[(u32, i64)], reserve: Option<i64>) -> Book {
        let table = IncrementTable::ebay_2005();
        let terms = Terms {
            start: m(100),
            reserve: reserve.map(m),
            asking: None,
            table: &table,
        };
        let mut b = Book::default();
        for (seq, &(p, v)) in bids.iter().enumerate() {
            b.add(&terms, Paddle(p), m(v), seq as u32, false);
        }
        b
    }

    #[test]
    fn ebay_examples() {
        // First bid: the start price.
        assert_eq!(run(&[(1, 5_000)], None).price, Some(m(100)));
        // A challenger below the leader's max: min(leader, challenger + inc).
        assert_eq!(run(&[(1, 5_000), (2, 2_000)], None).price, Some(m(2_050)));
        // A challenger above: leader's max + inc, capped at the new max.
        let b = run(&[(1, 2_000), (2, 5_000)], None);
        assert_eq!(
            (b.price, b.top.unwrap().paddle),
            (Some(m(2_050)), Paddle(2))
        );
        let b = run(&[(1, 2_000), (2, 2_010)], None);
        assert_eq!(
            (b.price, b.top.unwrap().paddle),
            (Some(m(2_010)), Paddle(2))
        );
        // Equal maxes: the earlier leads, at that amount.
        let b = run(&[(1, 3_000), (2, 3_000)], None);
        assert_eq!(
            (b.price, b.top.unwrap().paddle),
            (Some(m(3_000)), Paddle(1))
        );
        // A raise by the leader changes nothing...
        assert_eq!(
            run(&[(1, 3_000), (2, 2_000), (1, 9_000)], None).price,
            Some(m(2_050))
        );
        // ...unless the price sat capped at the leader's old max.
        assert_eq!(
            run(&[(1, 3_000), (2, 3_000), (1, 9_000)], None).price,
            Some(m(3_100))
        );
    }

    #[test]
    fn reserve_jumps_the_price() {
        let b = run(&[(1, 5_000)], Some(4_000));
        assert_eq!(b.price, Some(m(4_000)));
        let b = run(&[(1, 3_000), (1, 4_500)], Some(4_000));
        assert_eq!(b.price, Some(m(4_000)));
        let b = run(&[(1, 3_000)], Some(4_000));
        assert_eq!(b.price, Some(m(100)));
    }

    #[test]
    fn recompute_agrees_with_incremental_adds() {
        let seq = [
            (1, 500),
            (2, 800),
            (3, 700),
            (1, 1_200),
            (2, 1_200),
            (4, 1_000),
        ];
        let inc = run(&seq, None);
        let table = IncrementTable::ebay_2005();
        let terms = Terms {
            start: m(100),
            reserve: None,
            asking: None,
            table: &table,
        };
        let entries: Vec<BidEntry> = seq
            .iter()
            .enumerate()
            .map(|(i, &(p, v))| BidEntry {
                seq: i as u32,
                bid_id: paddle_proto::auction::BidId::new(format!("b{i}")).unwrap(),
                paddle: Paddle(p),
                max: m(v),
                shown: m(v),
                kind: BidKind::Online,
                stamp_ms: i as u64,
                index: i as u64,
                applied: true,
                retracted: false,
            })
            .collect();
        let re = Book::recompute(&terms, &entries);
        assert_eq!(re.price, inc.price);
        assert_eq!(
            re.top.map(|t| (t.paddle, t.max)),
            inc.top.map(|t| (t.paddle, t.max))
        );
        assert_eq!(re.second.map(|t| t.max), inc.second.map(|t| t.max));
    }
}
