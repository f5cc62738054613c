//! Read helpers for the API: public views computed from the stored records
//! of one consistent view of the state (consensus's `KvView`, or any [`KvRead`]).
//!
//! They read the records, not the machine's cache, so a read is served from
//! whatever applied index the view reflects, on any node. They never return
//! a max, a reserve amount, a bidder's name or token (except the bidder's
//! own identity by token).

use std::collections::BTreeMap;

use paddle_proto::auction::{
    AuctionReply, BidId, BidView, BidderIdentity, BidderStats, EventRecord, ImageRef, LotId,
    LotResult, LotStats, LotStatus, LotView, Paddle, Pause, SaleId, SaleStats, SaleStatus,
    SaleView,
};
use paddle_proto::Money;

use crate::book::BidEntry;
use crate::lifecycle::{due as due_of, Due};
use crate::records::{
    bid_key, bidder_key, decode_at, event_key, lot_key, read_lot, sale_key, scan_all, scan_from,
    tree, LoadError,
};
use crate::state::{outcome_key, Bidder, Lot, Sale};
use paddle_proto::kv::KvRead;

type R<T> = Result<T, LoadError>;

fn get<T: serde::de::DeserializeOwned>(
    s: &(impl KvRead + ?Sized),
    t: &'static str,
    k: &[u8],
) -> R<Option<T>> {
    s.get(t, k).map(|v| decode_at(t, k, &v)).transpose()
}

/// A stored sale record.
pub fn sale_record(s: &(impl KvRead + ?Sized), sale: SaleId) -> R<Option<Sale>> {
    get(s, tree::SALES, &sale_key(sale))
}

/// A stored lot record (without its bids).
pub fn lot_record(s: &(impl KvRead + ?Sized), lot: LotId) -> R<Option<Lot>> {
    read_lot(s, lot)
}

pub(crate) fn lots_of(s: &(impl KvRead + ?Sized), sale: &Sale) -> R<Vec<Lot>> {
    let mut out = Vec::with_capacity(sale.lots.len());
    for id in &sale.lots {
        match lot_record(s, *id)? {
            Some(l) => out.push(l),
            None => {
                return Err(LoadError::Inconsistent(format!(
                    "sale {} lists missing lot {id}",
                    sale.id
                )))
            }
        }
    }
    Ok(out)
}

pub(crate) fn bids_of(s: &(impl KvRead + ?Sized), lot: LotId) -> R<Vec<BidEntry>> {
    Ok(scan_all(s, tree::BIDS, &lot_key(lot))?
        .into_iter()
        .map(|(_, b)| b)
        .collect())
}

fn sale_status(lots: &[Lot]) -> SaleStatus {
    if !lots.is_empty() && lots.iter().all(|l| l.status.is_finished()) {
        SaleStatus::Closed
    } else if lots.iter().any(|l| l.status != LotStatus::Scheduled) {
        SaleStatus::Running
    } else {
        SaleStatus::Scheduled
    }
}

/// The pause standing on a sale, if any.
pub fn pause_of(s: &(impl KvRead + ?Sized), sale: SaleId) -> R<Option<Pause>> {
    get(s, tree::PAUSES, &sale_key(sale))
}

fn sale_view(s: &(impl KvRead + ?Sized), sale: &Sale, lots: &[Lot]) -> R<SaleView> {
    Ok(SaleView {
        paused: pause_of(s, sale.id)?,
        self_registration: s.get(tree::DESK_ONLY, &sale_key(sale.id)).is_none(),
        rival_profiles: s.get(tree::NO_RIVALS, &sale_key(sale.id)).is_none(),
        sale: sale.id,
        title: sale.spec.title.clone(),
        currency: sale.spec.currency,
        mode: sale.spec.mode,
        increments: sale.spec.increments.clone(),
        premium_bp: sale.spec.premium_bp,
        soft_close: sale.spec.soft_close,
        status: sale_status(lots),
        lots: sale.lots.len() as u32,
        current_lot: sale.current_lot,
        created_at_ms: sale.created_at_ms,
    })
}

/// A lot's public view (no max, no reserve amount).
pub fn lot_view(lot: &Lot, sale: &Sale) -> LotView {
    let st = lot.public_state(sale);
    LotView {
        sale: sale.id,
        lot: lot.id,
        position: lot.position,
        title: lot.spec.title.clone(),
        description: lot.spec.description.clone(),
        image: lot.image.map(|i| i.url(lot.id)),
        status: lot.status,
        start: lot.spec.start,
        price: st.price,
        leader: st.leader,
        has_reserve: st.has_reserve,
        reserve_met: st.reserve_met,
        buy_now: lot.buy_now_offer(sale),
        opens_at_ms: lot.opens_at_ms,
        scheduled_end_ms: lot.scheduled_end_ms,
        effective_end_ms: lot.effective_end_ms,
        minimum_next: st.minimum_next,
        bids: st.bids,
        asking_increment: lot.asking_increment,
        result: lot.result,
    }
}

/// Every sale (optionally only those in `status`), in id order.
pub fn list_sales(s: &(impl KvRead + ?Sized), status: Option<SaleStatus>) -> R<Vec<SaleView>> {
    let mut out = Vec::new();
    for (_, sale) in scan_all::<Sale>(s, tree::SALES, &[])? {
        let v = sale_view(s, &sale, &lots_of(s, &sale)?)?;
        if status.is_none_or(|st| st == v.status) {
            out.push(v);
        }
    }
    Ok(out)
}

/// One sale.
pub fn get_sale(s: &(impl KvRead + ?Sized), sale: SaleId) -> R<Option<SaleView>> {
    match sale_record(s, sale)? {
        Some(sale) => Ok(Some(sale_view(s, &sale, &lots_of(s, &sale)?)?)),
        None => Ok(None),
    }
}

/// The lots of a sale in catalogue order (`None`: no such sale).
pub fn lots(s: &(impl KvRead + ?Sized), sale: SaleId) -> R<Option<Vec<LotView>>> {
    let Some(sale) = sale_record(s, sale)? else {
        return Ok(None);
    };
    Ok(Some(
        lots_of(s, &sale)?
            .iter()
            .map(|l| lot_view(l, &sale))
            .collect(),
    ))
}

/// One lot.
pub fn get_lot(s: &(impl KvRead + ?Sized), lot: LotId) -> R<Option<LotView>> {
    let Some(l) = lot_record(s, lot)? else {
        return Ok(None);
    };
    let sale = sale_record(s, l.sale)?
        .ok_or_else(|| LoadError::Inconsistent(format!("lot {lot} of missing sale {}", l.sale)))?;
    Ok(Some(lot_view(&l, &sale)))
}

/// A bidder's own standing maximum on each lot of the sale they bid on
/// (retracted bids left out), in lot order. Only ever shown to that bidder.
pub fn own_maxes(
    s: &(impl KvRead + ?Sized),
    sale: SaleId,
    paddle: Paddle,
) -> R<Vec<(LotId, Money)>> {
    let Some(sale) = sale_record(s, sale)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for lot in &sale.lots {
        let top = bids_of(s, *lot)?
            .into_iter()
            .filter(|b| b.paddle == paddle && !b.retracted)
            .map(|b| b.max)
            .max();
        if let Some(max) = top {
            out.push((*lot, max));
        }
    }
    Ok(out)
}

/// Every bid a bidder has in a sale (counted, absentee or retracted), lot
/// by lot in history order. Only ever shown to that bidder (or staff).
pub fn own_bids(
    s: &(impl KvRead + ?Sized),
    sale: SaleId,
    paddle: Paddle,
) -> R<Vec<(LotId, BidEntry)>> {
    let Some(sale) = sale_record(s, sale)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for lot in &sale.lots {
        out.extend(
            bids_of(s, *lot)?
                .into_iter()
                .filter(|b| b.paddle == paddle)
                .map(|b| (*lot, b)),
        );
    }
    Ok(out)
}

/// A lot's photo: what it is and its bytes (`None`: no such lot, or no photo).
pub fn lot_image(
    s: &(impl KvRead + ?Sized),
    lot: LotId,
) -> R<Option<(ImageRef, paddle_proto::kv::Bytes)>> {
    let Some(image) = lot_record(s, lot)?.and_then(|l| l.image) else {
        return Ok(None);
    };
    let bytes = s
        .get(tree::IMAGES, &lot_key(lot))
        .ok_or_else(|| LoadError::Inconsistent(format!("lot {lot} has a photo but no bytes")))?;
    Ok(Some((image, bytes)))
}

/// A lot's public bid history, oldest first: counted bids only (absentee
/// bids appear once their lot opens), maxes hidden.
pub fn bid_history(s: &(impl KvRead + ?Sized), lot: LotId) -> R<Vec<BidView>> {
    Ok(bids_of(s, lot)?
        .into_iter()
        .filter(|b| b.applied)
        .map(|b| BidView {
            paddle: b.paddle,
            shown: b.shown,
            kind: b.kind,
            stamp_ms: b.stamp_ms,
            index: b.index,
            retracted: b.retracted,
        })
        .collect())
}

/// How each finished lot of a sale ended (sold or passed), in catalogue order.
pub fn results(s: &(impl KvRead + ?Sized), sale: SaleId) -> R<Vec<LotResult>> {
    let Some(sale) = sale_record(s, sale)? else {
        return Ok(Vec::new());
    };
    Ok(lots_of(s, &sale)?.iter().filter_map(|l| l.result).collect())
}

/// Per-bidder and per-lot figures of a sale.
pub fn stats(s: &(impl KvRead + ?Sized), sale_id: SaleId) -> R<SaleStats> {
    let mut bidders: BTreeMap<Paddle, BidderStats> = BTreeMap::new();
    for (_, b) in scan_all::<Bidder>(s, tree::BIDDERS, &sale_id.0.to_be_bytes())? {
        bidders.insert(b.paddle, blank(b.paddle));
    }
    let mut lots = Vec::new();
    if let Some(sale) = sale_record(s, sale_id)? {
        for l in lots_of(s, &sale)? {
            let mut seen: Vec<Paddle> = Vec::new();
            for b in bids_of(s, l.id)?
                .iter()
                .filter(|b| b.applied && !b.retracted)
            {
                bidders
                    .entry(b.paddle)
                    .or_insert_with(|| blank(b.paddle))
                    .bids += 1;
                if !seen.contains(&b.paddle) {
                    seen.push(b.paddle);
                }
            }
            if let Some(r) = l.result {
                if let (Some(w), Some(total)) = (r.winner, r.total) {
                    let e = bidders.entry(w).or_insert_with(|| blank(w));
                    e.wins += 1;
                    e.spend = e.spend.saturating_add(total);
                }
            }
            lots.push(LotStats {
                lot: l.id,
                bids: l.book.bids,
                unique_bidders: seen.len() as u32,
                price_rise: l
                    .book
                    .price
                    .map_or(Money::ZERO, |p| p.saturating_sub(l.spec.start)),
            });
        }
    }
    Ok(SaleStats {
        sale: sale_id,
        bidders: bidders.into_values().collect(),
        lots,
    })
}

fn blank(paddle: Paddle) -> BidderStats {
    BidderStats {
        paddle,
        bids: 0,
        wins: 0,
        spend: Money::ZERO,
    }
}

/// Who holds the token with this SHA-256 hex hash, for authentication on
/// any node.
pub fn bidder_by_token(s: &(impl KvRead + ?Sized), token_hash: &str) -> R<Option<BidderIdentity>> {
    let Some((sale, paddle)) = get::<(SaleId, Paddle)>(s, tree::TOKENS, token_hash.as_bytes())?
    else {
        return Ok(None);
    };
    let b: Option<Bidder> = get(s, tree::BIDDERS, &bidder_key(sale, paddle))?;
    Ok(b.map(|b| BidderIdentity {
        sale,
        paddle,
        name: b.name,
        approved: b.approved,
        limit: b.limit,
    }))
}

/// The first outcome of a bid id (a bidder's own, or with `floor` the
/// clerk's for that paddle), so an API that lost a reply can answer a retry
/// without proposing it again.
pub fn bid_outcome(
    s: &(impl KvRead + ?Sized),
    sale: SaleId,
    paddle: Paddle,
    floor: bool,
    bid_id: &BidId,
) -> R<Option<AuctionReply>> {
    let mut k = Vec::new();
    outcome_key(&mut k, sale, paddle, floor, bid_id);
    get(s, tree::BID_IDS, &k)
}

/// Every event of `sale` with a log index strictly after `after_index`, in
/// order: what a client that last saw `after_index` missed.
pub fn events_after(
    s: &(impl KvRead + ?Sized),
    sale: SaleId,
    after_index: u64,
) -> R<Vec<EventRecord>> {
    // Event keys are (sale, index, seq): seek to the first of `after_index
    // + 1` instead of walking the sale's whole history (every resuming
    // subscriber asks this).
    let Some(next) = after_index.checked_add(1) else {
        return Ok(Vec::new());
    };
    let from = event_key(sale, next, 0);
    Ok(scan_from(s, tree::EVENTS, &sale_key(sale), &from)?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// What the leader's timer should propose at `now_ms`, from stored records.
pub fn due(s: &(impl KvRead + ?Sized), now_ms: u64) -> R<Due> {
    let mut pairs = Vec::new();
    for (_, sale) in scan_all::<Sale>(s, tree::SALES, &[])? {
        let paused = pause_of(s, sale.id)?.map(|p| p.since_ms);
        for l in lots_of(s, &sale)? {
            pairs.push((sale.spec.mode, paused, l));
        }
    }
    pairs.sort_by_key(|(_, _, l)| l.id);
    Ok(due_of(pairs.iter().map(|(m, p, l)| (*m, *p, l)), now_ms))
}

/// One stored bid entry (for tests and operator tools).
pub fn bid_record(s: &(impl KvRead + ?Sized), lot: LotId, seq: u32) -> R<Option<BidEntry>> {
    get(s, tree::BIDS, &bid_key(lot, seq))
}

/// The desk's record of a bidder (staff only: contact, ID, sign-in code).
pub fn desk_record(
    s: &(impl KvRead + ?Sized),
    sale: SaleId,
    paddle: Paddle,
) -> R<Option<crate::state::DeskRecord>> {
    get(s, tree::DESK, &bidder_key(sale, paddle))
}

/// Every bidder of a sale with the desk's record of them, paddle order
/// (staff only).
pub fn desk_rows(
    s: &(impl KvRead + ?Sized),
    sale: SaleId,
) -> R<Vec<(Bidder, Option<crate::state::DeskRecord>)>> {
    let mut desk: BTreeMap<Vec<u8>, crate::state::DeskRecord> =
        scan_all(s, tree::DESK, &sale_key(sale))?
            .into_iter()
            .collect();
    Ok(scan_all::<Bidder>(s, tree::BIDDERS, &sale_key(sale))?
        .into_iter()
        .map(|(k, b)| (b, desk.remove(&k)))
        .collect())
}

/// The bidder a live sign-in code (by its hash) was issued to.
pub fn sign_in(s: &(impl KvRead + ?Sized), code_hash: &str) -> R<Option<(SaleId, Paddle)>> {
    get(s, tree::SIGN_INS, code_hash.as_bytes())
}

/// Staff notes on one bid (a phone bid's line, a retraction's reason).
pub fn bid_note(
    s: &(impl KvRead + ?Sized),
    lot: LotId,
    seq: u32,
) -> R<Option<crate::state::BidNote>> {
    get(s, tree::BID_NOTES, &bid_key(lot, seq))
}

/// A lot's bid as staff see it: the public view plus its bid id, its place
/// in the lot, and the staff's notes on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffBid {
    pub view: BidView,
    pub seq: u32,
    pub bid_id: BidId,
    /// The phone line of a phone bid.
    pub line: Option<u16>,
    /// Why the operator retracted it.
    pub retract_reason: Option<String>,
}

/// A lot's bid history for staff (maxes still hidden: the clerk calls the
/// room's price, not a bidder's ceiling).
pub fn staff_history(s: &(impl KvRead + ?Sized), lot: LotId) -> R<Vec<StaffBid>> {
    let mut notes: BTreeMap<Vec<u8>, crate::state::BidNote> =
        scan_all(s, tree::BID_NOTES, &lot_key(lot))?
            .into_iter()
            .collect();
    Ok(bids_of(s, lot)?
        .into_iter()
        .filter(|b| b.applied)
        .map(|b| {
            let note = notes
                .remove(bid_key(lot, b.seq).as_slice())
                .unwrap_or_default();
            StaffBid {
                view: BidView {
                    paddle: b.paddle,
                    shown: b.shown,
                    kind: b.kind,
                    stamp_ms: b.stamp_ms,
                    index: b.index,
                    retracted: b.retracted,
                },
                seq: b.seq,
                bid_id: b.bid_id,
                line: note.line,
                retract_reason: note.retract_reason,
            }
        })
        .collect())
}

/// A lot's introduction by the assistant, once it has one.
pub fn intro(s: &(impl KvRead + ?Sized), lot: LotId) -> R<Option<crate::state::Intro>> {
    s.get(tree::INTROS, &lot_key(lot))
        .map(|v| decode_at(tree::INTROS, &lot_key(lot), &v))
        .transpose()
}
