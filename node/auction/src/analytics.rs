//! A sale's analytics and a bidder's own history: read functions over the
//! stored records of one consistent view of the state.
//!
//! Nothing here is kept up to date on the bid path: the figures are
//! derived on demand from what apply already stores (each lot's terms,
//! live state and bid records, the bidders, and the sale's public event
//! stream in `auction.events`), so they cost the bid path nothing, and every
//! node at the same applied index derives the same figures from the same
//! records.
//!
//! Where each figure comes from:
//!
//! - lot counts, hammer, premium, sell-through, winner and underbidder
//!   (the best other standing in the book when the hammer fell): the lot
//!   records;
//! - bids, unique bidders, the bid timeline, each bidder's bids: the bid
//!   records that count (applied, not retracted) — the public bid history
//!   minus retractions, absentee maxes included once their lot opened;
//! - opening times, soft-close and operator extensions, times outbid: the
//!   event stream (`lot_opened`, `lot_extended`, `lot_extended_by`,
//!   `outbid`);
//! - names: the bidder records, for staff only.

use std::collections::{BTreeMap, BTreeSet};

use paddle_proto::auction::{
    AnalyticsSummary, AuctionEvent, BidBucket, BidTimeline, BidderAnalytics, BidderHistory,
    EventRecord, HistoryBid, HistoryLot, HistoryWin, LeaderRow, LotAnalytics, LotStatus, Paddle,
    SaleAnalytics, SaleId,
};
use paddle_proto::kv::KvRead;
use paddle_proto::Money;

use crate::read::{bids_of, lots_of, sale_record};
use crate::records::{sale_key, scan_all, tree, LoadError};
use crate::state::Bidder;

type R<T> = Result<T, LoadError>;

/// Rows in each leaderboard.
pub const LEADERBOARD_ROWS: usize = 10;
/// Most buckets in the bid timeline before they widen.
pub const MAX_BUCKETS: u64 = 240;
/// Bucket widths the timeline may use, in minutes.
const BUCKET_MINUTES: [u64; 11] = [1, 2, 5, 10, 15, 30, 60, 120, 240, 720, 1440];

/// Who is asking: staff see names and the per-bidder table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone: paddle numbers only, no per-bidder table.
    Public,
    /// A clerk or the operator.
    Staff,
}

#[derive(Default)]
struct Tally {
    bids: u32,
    lots_bid: u32,
    wins: u32,
    spend: Money,
    outbid: u32,
}

/// A sale's analytics (`None`: no such sale).
pub fn sale_analytics(
    s: &(impl KvRead + ?Sized),
    sale_id: SaleId,
    audience: Audience,
) -> R<Option<SaleAnalytics>> {
    let Some(sale) = sale_record(s, sale_id)? else {
        return Ok(None);
    };
    let lots = lots_of(s, &sale)?;
    let events: Vec<EventRecord> = scan_all(s, tree::EVENTS, &sale_key(sale_id))?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let registered: Vec<Bidder> = scan_all(s, tree::BIDDERS, &sale_key(sale_id))?
        .into_iter()
        .map(|(_, b)| b)
        .collect();

    // From the event stream: first opening, extensions, outbids.
    let mut opened: BTreeMap<u64, u64> = BTreeMap::new();
    let mut extensions: BTreeMap<u64, u32> = BTreeMap::new();
    let mut tallies: BTreeMap<Paddle, Tally> = BTreeMap::new();
    let mut sum = AnalyticsSummary::default();
    for r in &events {
        match &r.event {
            AuctionEvent::LotOpened { lot, .. } => {
                opened.entry(lot.0).or_insert(r.stamp_ms);
            }
            AuctionEvent::LotExtended { lot, .. } => {
                *extensions.entry(lot.0).or_default() += 1;
                sum.extensions += 1;
            }
            AuctionEvent::LotExtendedBy { reason, .. } if reason == "operator" => {
                sum.operator_extensions += 1;
            }
            AuctionEvent::Outbid { paddle, .. } => {
                tallies.entry(*paddle).or_default().outbid += 1;
            }
            _ => {}
        }
    }
    for b in &registered {
        tallies.entry(b.paddle).or_default();
    }
    sum.registered = registered.len() as u32;

    let mut stamps: Vec<u64> = Vec::new();
    let mut active: BTreeSet<Paddle> = BTreeSet::new();
    let mut lot_rows = Vec::with_capacity(lots.len());
    for l in &lots {
        sum.lots += 1;
        match l.status {
            LotStatus::Scheduled => sum.scheduled += 1,
            LotStatus::Open | LotStatus::FairWarning => sum.open += 1,
            LotStatus::Sold => sum.sold += 1,
            LotStatus::Passed => sum.passed += 1,
            LotStatus::Withdrawn => sum.withdrawn += 1,
        }
        let history = bids_of(s, l.id)?;
        let mut seen: BTreeSet<Paddle> = BTreeSet::new();
        let mut counted = 0u32;
        let mut first_bid: Option<u64> = None;
        for b in history.iter().filter(|b| b.applied) {
            first_bid = Some(first_bid.map_or(b.stamp_ms, |f| f.min(b.stamp_ms)));
            if b.retracted {
                sum.retracted += 1;
                continue;
            }
            counted += 1;
            stamps.push(b.stamp_ms);
            active.insert(b.paddle);
            tallies.entry(b.paddle).or_default().bids += 1;
            if seen.insert(b.paddle) {
                tallies.entry(b.paddle).or_default().lots_bid += 1;
            }
        }
        sum.bids += counted;
        let sold = l.result.filter(|_| l.status == LotStatus::Sold);
        let hammer = sold.and_then(|r| r.hammer);
        let mut winner = None;
        if let Some(r) = sold {
            let (h, p, t) = (
                r.hammer.unwrap_or(Money::ZERO),
                r.premium.unwrap_or(Money::ZERO),
                r.total.unwrap_or(Money::ZERO),
            );
            sum.hammer_total = sum.hammer_total.saturating_add(h);
            sum.premium_total = sum.premium_total.saturating_add(p);
            sum.total = sum.total.saturating_add(t);
            if let Some(w) = r.winner {
                winner = Some(w);
                let e = tallies.entry(w).or_default();
                e.wins += 1;
                e.spend = e.spend.saturating_add(t);
            }
        }
        let opened_at = opened.get(&l.id.0).copied();
        lot_rows.push(LotAnalytics {
            lot: l.id,
            position: l.position,
            title: l.spec.title.clone(),
            status: l.status,
            start: l.spec.start,
            price: l.book.price,
            hammer,
            bids: counted,
            unique_bidders: seen.len() as u32,
            rise_bp: hammer
                .or(l.book.price)
                .and_then(|p| rise_bp(l.spec.start, p)),
            opened_at_ms: opened_at,
            time_to_first_bid_ms: opened_at.zip(first_bid).map(|(o, f)| f.saturating_sub(o)),
            extensions: extensions.get(&l.id.0).copied().unwrap_or(0),
            winner,
            underbidder: winner.and(l.book.second.map(|s| s.paddle)),
        });
    }
    sum.active_bidders = active.len() as u32;
    let finished = sum.sold + sum.passed;
    sum.sell_through_bp = (finished > 0).then(|| sum.sold * 10_000 / finished);

    let names: BTreeMap<Paddle, String> =
        registered.into_iter().map(|b| (b.paddle, b.name)).collect();
    let name_of = |p: Paddle| match audience {
        Audience::Staff => names.get(&p).cloned(),
        Audience::Public => None,
    };
    let leaders = |key: &dyn Fn(&Tally) -> (u64, u64)| -> Vec<LeaderRow> {
        let mut rows: Vec<(&Paddle, &Tally)> =
            tallies.iter().filter(|(_, t)| key(t).0 > 0).collect();
        // Highest first; ties by the other measure, then the lower paddle.
        rows.sort_by(|a, b| key(b.1).cmp(&key(a.1)).then(a.0.cmp(b.0)));
        rows.into_iter()
            .take(LEADERBOARD_ROWS)
            .enumerate()
            .map(|(i, (p, t))| LeaderRow {
                rank: i as u32 + 1,
                paddle: *p,
                name: name_of(*p),
                bids: t.bids,
                wins: t.wins,
                spend: t.spend,
            })
            .collect()
    };
    let top_by_spend = leaders(&|t| (t.spend.minor() as u64, t.bids as u64));
    let top_by_bids = leaders(&|t| (t.bids as u64, t.spend.minor() as u64));
    let bidders = match audience {
        Audience::Public => Vec::new(),
        Audience::Staff => tallies
            .iter()
            .map(|(p, t)| BidderAnalytics {
                paddle: *p,
                name: names.get(p).cloned(),
                bids: t.bids,
                lots_bid: t.lots_bid,
                wins: t.wins,
                spend: t.spend,
                outbid: t.outbid,
            })
            .collect(),
    };
    Ok(Some(SaleAnalytics {
        sale: sale_id,
        summary: sum,
        bids_over_time: timeline(&stamps),
        lots: lot_rows,
        bidders,
        top_by_spend,
        top_by_bids,
    }))
}

/// `(price − start) / start` in basis points, truncated; `None` for a zero
/// start (no rise can be said).
pub fn rise_bp(start: Money, price: Money) -> Option<i64> {
    if start.is_zero() {
        return None;
    }
    let d = (price.minor() as i128 - start.minor() as i128) * 10_000 / start.minor() as i128;
    i64::try_from(d).ok()
}

/// Counted bids per bucket: see [`BidTimeline`].
pub fn timeline(stamps: &[u64]) -> BidTimeline {
    let (Some(&lo), Some(&hi)) = (stamps.iter().min(), stamps.iter().max()) else {
        return BidTimeline {
            bucket_ms: 60_000,
            buckets: Vec::new(),
        };
    };
    let width = BUCKET_MINUTES
        .iter()
        .map(|m| m * 60_000)
        .find(|w| hi / w - lo / w < MAX_BUCKETS)
        .unwrap_or_else(|| {
            // Longer than 240 days: whole days, as many as it takes.
            let day = 1440 * 60_000;
            (hi / day - lo / day).div_ceil(MAX_BUCKETS).max(1) * day
        });
    let first = lo / width;
    let n = (hi / width - first + 1) as usize;
    let mut buckets: Vec<BidBucket> = (0..n)
        .map(|i| BidBucket {
            start_ms: (first + i as u64) * width,
            bids: 0,
        })
        .collect();
    for s in stamps {
        buckets[(s / width - first) as usize].bids += 1;
    }
    BidTimeline {
        bucket_ms: width,
        buckets,
    }
}

/// A bidder's own history in their sale (`None`: no such sale). Holds
/// their maxes: only ever for that bidder.
pub fn bidder_history(
    s: &(impl KvRead + ?Sized),
    sale_id: SaleId,
    paddle: Paddle,
) -> R<Option<BidderHistory>> {
    let Some(sale) = sale_record(s, sale_id)? else {
        return Ok(None);
    };
    let mut out = BidderHistory {
        sale: sale_id,
        paddle,
        bids: Vec::new(),
        lots: Vec::new(),
        wins: Vec::new(),
        spend: Money::ZERO,
        counted_bids: 0,
    };
    for l in lots_of(s, &sale)? {
        let mine: Vec<_> = bids_of(s, l.id)?
            .into_iter()
            .filter(|b| b.paddle == paddle)
            .collect();
        if let Some(r) = l.result.filter(|r| r.winner == Some(paddle)) {
            if l.status == LotStatus::Sold {
                let total = r.total.unwrap_or(Money::ZERO);
                out.spend = out.spend.saturating_add(total);
                out.wins.push(HistoryWin {
                    lot: l.id,
                    title: l.spec.title.clone(),
                    hammer: r.hammer.unwrap_or(Money::ZERO),
                    premium: r.premium.unwrap_or(Money::ZERO),
                    total,
                    buy_now: r.buy_now,
                    at_ms: r.at_ms,
                });
            }
        }
        if mine.is_empty() {
            continue;
        }
        let counted = mine.iter().filter(|b| b.applied && !b.retracted).count() as u32;
        out.counted_bids += counted;
        out.lots.push(HistoryLot {
            lot: l.id,
            title: l.spec.title.clone(),
            status: l.status,
            price: l.book.price,
            leading: l.book.top.is_some_and(|t| t.paddle == paddle),
            max: mine.iter().filter(|b| !b.retracted).map(|b| b.max).max(),
            bids: counted,
        });
        out.bids.extend(mine.into_iter().map(|b| HistoryBid {
            lot: l.id,
            title: l.spec.title.clone(),
            seq: b.seq,
            bid_id: b.bid_id,
            max: b.max,
            shown: b.shown,
            kind: b.kind,
            stamp_ms: b.stamp_ms,
            index: b.index,
            applied: b.applied,
            retracted: b.retracted,
        }));
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_buckets_are_contiguous_and_widen_for_long_sales() {
        let t = timeline(&[60_000, 61_000, 240_000]);
        assert_eq!(t.bucket_ms, 60_000);
        let counts: Vec<u32> = t.buckets.iter().map(|b| b.bids).collect();
        assert_eq!(counts, [2, 0, 0, 1]);
        assert_eq!(t.buckets[0].start_ms, 60_000);
        // Ten hours of bids: 600 one-minute buckets would be too many.
        let t = timeline(&[0, 10 * 3_600_000]);
        assert_eq!(t.bucket_ms, 5 * 60_000);
        assert_eq!(t.buckets.len(), 121);
        assert_eq!(t.buckets.iter().map(|b| b.bids).sum::<u32>(), 2);
        assert!(timeline(&[]).buckets.is_empty());
    }

    #[test]
    fn rise_is_in_basis_points() {
        let m = |v| Money::from_minor(v).unwrap();
        assert_eq!(rise_bp(m(1_000), m(1_500)), Some(5_000));
        assert_eq!(rise_bp(m(1_000), m(1_000)), Some(0));
        assert_eq!(rise_bp(m(3), m(4)), Some(3_333));
        assert_eq!(rise_bp(Money::ZERO, m(4)), None);
    }
}
