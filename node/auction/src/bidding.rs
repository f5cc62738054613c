//! Bids: online max bids, absentee bids, buy-now, floor, phone and
//! commission bids, retraction.
//!
//! The hot path. A bid is checked in full against an immutable view first
//! and only then applied, so a refused bid cannot half-change anything.
//!
//! The checks, in order: a repeated bid id answers with its first outcome;
//! then unknown sale or lot, mode, registration, approval, seller's own lot,
//! lot finished, the deadline by stamp (`opens_at ≤ stamp < effective end`),
//! amount range, buy-now, the minimum (or, for the leader, above their own
//! max), and the limit. Bids committed in one log entry (one stamp) are
//! simultaneous: each is held to the minimum that stood before them (see
//! `Lot::minimum_at`), so of two bidders who accept the same asking price in
//! the same instant neither is refused; the earlier leads on a tie. Bids of
//! different entries never are, even with equal stamps, so a clock that
//! stands still cannot let bids in below the asking price.

use paddle_proto::auction::{
    Accepted, AuctionCommand, AuctionEvent, AuctionReply, BidId, BidKind, ExtendRule, LotId,
    LotStatus, Paddle, RejectReason, SaleId, SaleMode,
};
use paddle_proto::Money;

use crate::book::BidEntry;
use crate::book::{Book, Terms};
use crate::checks::{check_amount, Outcome};
use crate::effects::Effects;
use crate::state::{outcome_key, AuctionState, Bidder, Lot, Sale};

/// Who placed a bid, and so how it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The bidder, online: a maximum (proxy) bid, or buy-now.
    Online,
    /// The clerk, from the room (live sales): an outcry amount.
    Floor,
    /// A phone clerk, on line `n` (live sales): an outcry amount.
    Phone(u16),
    /// The office, a maximum left with it (both modes; before a live lot
    /// opens it waits like an absentee bid).
    Commission,
}

impl Source {
    /// Staff place it (their bid ids live in the clerk's namespace).
    pub(crate) fn staff(self) -> bool {
        self != Source::Online
    }

    /// Called out in the room: its amount is also its outcry, live only,
    /// and it cannot wait for the lot to open.
    fn outcry(self) -> bool {
        matches!(self, Source::Floor | Source::Phone(_))
    }
}

/// One bid as the engine sees it.
pub(crate) struct Bid<'a> {
    pub sale: SaleId,
    pub lot: LotId,
    pub paddle: Paddle,
    pub bid_id: &'a BidId,
    /// `None`: an outcry bid at the asking price.
    pub max: Option<Money>,
    pub buy_now: bool,
    pub source: Source,
    /// The tag of the token an online bid came with, when the node sent it
    /// (see `desk::token_tag`).
    pub token_tag: Option<u64>,
}

impl<'a> Bid<'a> {
    /// The bid a command places, if it is one.
    pub(crate) fn of(cmd: &'a AuctionCommand) -> Option<Bid<'a>> {
        use AuctionCommand::*;
        let bid = |sale, lot, paddle, bid_id, max, source| Bid {
            sale,
            lot,
            paddle,
            bid_id,
            max,
            buy_now: false,
            source,
            token_tag: None,
        };
        Some(match cmd {
            PlaceBid {
                sale,
                lot,
                paddle,
                bid_id,
                max,
                buy_now,
            } => Bid {
                buy_now: *buy_now,
                ..bid(*sale, *lot, *paddle, bid_id, Some(*max), Source::Online)
            },
            SignedBid {
                sale,
                lot,
                paddle,
                bid_id,
                max,
                buy_now,
                token_tag,
            } => Bid {
                buy_now: *buy_now,
                token_tag: Some(*token_tag),
                ..bid(*sale, *lot, *paddle, bid_id, Some(*max), Source::Online)
            },
            FloorBid {
                sale,
                lot,
                paddle,
                bid_id,
                amount,
            } => bid(
                *sale,
                *lot,
                paddle.unwrap_or(Paddle::HOUSE),
                bid_id,
                *amount,
                Source::Floor,
            ),
            PhoneBid {
                sale,
                lot,
                paddle,
                bid_id,
                amount,
                line,
            } => bid(*sale, *lot, *paddle, bid_id, *amount, Source::Phone(*line)),
            CommissionBid {
                sale,
                lot,
                paddle,
                bid_id,
                max,
            } => bid(*sale, *lot, *paddle, bid_id, Some(*max), Source::Commission),
            _ => return None,
        })
    }
}

/// What the checks decided, carried to the mutation step.
struct Plan {
    max: Money,
    absentee: bool,
    /// Buy-now: hammer and total.
    buy_now: Option<(Money, Money)>,
}

impl Lot {
    /// Pricing inputs for this lot's book.
    pub(crate) fn terms<'a>(&self, sale: &'a Sale) -> Terms<'a> {
        Terms {
            start: self.spec.start,
            reserve: self.spec.reserve,
            asking: self.asking_increment,
            table: &sale.spec.increments,
        }
    }
}

impl AuctionState {
    /// Place a bid, answering a repeated bid id with its first outcome.
    pub(crate) fn place(
        &mut self,
        index: u64,
        stamp_ms: u64,
        bid: &Bid<'_>,
        fx: &mut Effects,
    ) -> AuctionReply {
        let mut key = std::mem::take(&mut self.key_buf);
        outcome_key(
            &mut key,
            bid.sale,
            bid.paddle,
            bid.source.staff(),
            bid.bid_id,
        );
        let fp = self.outcomes.fingerprint(&key);
        if let Some(first) = self.outcomes.get_at(fp, &key) {
            let reply = first.clone();
            self.key_buf = key;
            return reply;
        }
        if !self.sales.contains_key(&bid.sale) {
            self.key_buf = key;
            return self.reject(Some(bid.sale), RejectReason::UnknownSale);
        }
        let reply = match self.check_bid(index, stamp_ms, bid) {
            Ok(plan) => {
                let accepted = self.apply_bid(index, stamp_ms, bid, &plan, fx);
                AuctionReply::Accepted { accepted }
            }
            Err(reason) => self.reject(Some(bid.sale), reason),
        };
        self.outcomes.insert_at(fp, &key, reply.clone());
        fx.touched.push_outcome(&key);
        self.key_buf = key;
        reply
    }

    fn check_bid(&self, index: u64, stamp_ms: u64, bid: &Bid<'_>) -> Outcome<Plan> {
        let (sale, lot) = self.lot_of(bid.sale, bid.lot)?;
        if self.pauses.contains_key(&bid.sale) {
            return Err(RejectReason::SalePaused);
        }
        let timed = matches!(sale.spec.mode, SaleMode::Timed { .. });
        if bid.source.outcry() && timed {
            return Err(RejectReason::WrongMode);
        }
        if bid.paddle == Paddle::HOUSE && bid.source != Source::Floor {
            return Err(crate::checks::invalid("paddle"));
        }
        let house = bid.source == Source::Floor && bid.paddle == Paddle::HOUSE;
        let bidder = if house {
            None
        } else {
            let b = self
                .bidders
                .get(&(bid.sale, bid.paddle))
                .ok_or(RejectReason::NotRegistered)?;
            if bid
                .token_tag
                .is_some_and(|t| t != crate::checks::token_tag(&b.token_hash))
            {
                return Err(RejectReason::TokenReplaced);
            }
            if !b.approved {
                return Err(RejectReason::NotApproved);
            }
            Some(b)
        };
        if lot.spec.seller == Some(bid.paddle) {
            return Err(RejectReason::SellersOwnLot);
        }
        let absentee = check_timing(lot, timed, stamp_ms, bid.source.outcry())?;
        let max = bid.max.unwrap_or_else(|| lot.minimum_next(sale));
        check_amount(max)?;
        let buy_now = check_price(sale, lot, bid, max, absentee, house, (index, stamp_ms))?;
        if let Some(limit) = bidder.and_then(|b| b.limit.map(|l| (b, l))) {
            check_limit(
                limit,
                lot,
                bid.paddle,
                buy_now.map_or(max, |(_, total)| total),
            )?;
        }
        Ok(Plan {
            max,
            absentee,
            buy_now,
        })
    }

    fn apply_bid(
        &mut self,
        index: u64,
        stamp_ms: u64,
        bid: &Bid<'_>,
        plan: &Plan,
        fx: &mut Effects,
    ) -> Accepted {
        let sale = self.sales.get(&bid.sale).expect("checked");
        let lot = self.lots.get_mut(&bid.lot).expect("checked");
        let simultaneous = lot.simultaneous(index, stamp_ms);
        let seq = lot.bids.len() as u32;
        let kind = match (bid.source, plan.absentee) {
            (Source::Floor, _) => BidKind::Floor,
            (Source::Phone(_), _) => BidKind::Phone,
            (Source::Commission, _) => BidKind::Commission,
            (Source::Online, true) => BidKind::Absentee,
            (Source::Online, false) => BidKind::Online,
        };
        lot.bids.push(BidEntry {
            seq,
            bid_id: bid.bid_id.clone(),
            paddle: bid.paddle,
            max: plan.max,
            shown: plan.max,
            kind,
            stamp_ms,
            index,
            applied: !plan.absentee,
            retracted: false,
        });
        fx.touched.lots.push(lot.id);
        fx.touched.bids.push((lot.id, seq));
        if let Source::Phone(line) = bid.source {
            self.bid_notes.insert(
                (bid.lot, seq),
                crate::state::BidNote {
                    line: Some(line),
                    retract_reason: None,
                },
            );
            fx.touched.bid_notes.push((bid.lot, seq));
        }
        if plan.absentee {
            return Accepted::Bid {
                lot: lot.public_state(sale),
                leading: false,
            };
        }
        wake(lot, sale, fx);
        let before = lot.leading_exposure();
        let prev_price = lot.book.price;
        let prev_leader = lot.book.top.map(|t| t.paddle);
        let raise = prev_leader == Some(bid.paddle) && bid.paddle != Paddle::HOUSE;
        if !simultaneous {
            lot.book.stamp_minimum = lot.minimum_next(sale);
            lot.book.last_stamp_ms = Some(stamp_ms);
        }
        lot.book.add(
            &lot.terms(sale),
            bid.paddle,
            plan.max,
            seq,
            bid.source.outcry(),
        );
        if let Some((hammer, _)) = plan.buy_now {
            lot.book.price = Some(hammer);
        }
        let price = lot.book.price.expect("a counted bid sets the price");
        let leader = lot.book.top.expect("a counted bid sets a leader").paddle;
        lot.bids[seq as usize].shown = plan.max.min(price);
        let changed = prev_price != Some(price) || prev_leader != Some(leader);
        let mut extended = None;
        if changed && !raise && plan.buy_now.is_none() {
            extended = soft_close(lot, sale, stamp_ms);
        }
        say_counted(
            lot,
            sale,
            &lot.bids[seq as usize],
            prev_leader,
            extended,
            fx,
        );
        if let Source::Phone(line) = bid.source {
            fx.events.push(AuctionEvent::PhoneLine {
                sale: bid.sale,
                lot: bid.lot,
                seq,
                paddle: bid.paddle,
                line,
            });
        }
        let after = lot.leading_exposure();
        let (sale_id, lot_id) = (sale.id, lot.id);
        self.shift_leading(sale_id, before, after, fx);
        if let Some((hammer, _)) = plan.buy_now {
            self.finish_sold(stamp_ms, lot_id, hammer, true, fx);
        }
        Accepted::Bid {
            lot: self.state_of(lot_id),
            leading: leader == bid.paddle,
        }
    }

    /// Operator: retract one bid and recompute the lot from what remains.
    pub(crate) fn retract(
        &mut self,
        sale_id: SaleId,
        lot_id: LotId,
        paddle: Paddle,
        bid_id: &BidId,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let (_, lot) = self.lot_of(sale_id, lot_id)?;
        if lot.status.is_finished() {
            return Err(RejectReason::WrongStatus { status: lot.status });
        }
        let same = |b: &&BidEntry| b.paddle == paddle && &b.bid_id == bid_id;
        let Some(i) = lot
            .bids
            .iter()
            .filter(same)
            .find(|b| !b.retracted)
            .map(|b| b.seq as usize)
        else {
            return Err(match lot.bids.iter().any(|b| same(&b)) {
                true => RejectReason::AlreadyRetracted,
                false => RejectReason::UnknownBid,
            });
        };
        let sale = self.sales.get(&sale_id).expect("checked");
        let lot = self.lots.get_mut(&lot_id).expect("checked");
        let before = lot.leading_exposure();
        lot.bids[i].retracted = true;
        fx.touched.bids.push((lot_id, i as u32));
        fx.touched.lots.push(lot_id);
        if lot.bids[i].applied {
            lot.book = Book::recompute(&lot.terms(sale), &lot.bids);
        }
        let state = lot.public_state(sale);
        let after = lot.leading_exposure();
        fx.events.push(AuctionEvent::Retracted {
            sale: sale_id,
            lot: lot_id,
            paddle,
            bid_id: bid_id.clone(),
            price: state.price,
            leader: state.leader,
            reserve_met: state.reserve_met,
            minimum_next: state.minimum_next,
        });
        self.shift_leading(sale_id, before, after, fx);
        Ok(Accepted::Lot { lot: state })
    }
}

/// The `LotOpened` event for a lot's current state.
pub(crate) fn opened_event(lot: &Lot, sale: &Sale) -> AuctionEvent {
    AuctionEvent::LotOpened {
        sale: sale.id,
        lot: lot.id,
        price: lot.book.price,
        leader: lot.book.top.map(|t| t.paddle),
        minimum_next: lot.minimum_next(sale),
        effective_end_ms: lot.effective_end_ms,
    }
}

/// Extend a timed lot's deadline when a price- or leader-changing bid lands
/// inside the window. Returns the previous end when it moved.
fn soft_close(lot: &mut Lot, sale: &Sale, stamp_ms: u64) -> Option<u64> {
    let rule = sale.spec.soft_close?;
    let end = lot.effective_end_ms?;
    if stamp_ms < end.saturating_sub(rule.window_ms) {
        return None;
    }
    let new_end = match rule.rule {
        ExtendRule::ResetToWindow => end.max(stamp_ms.saturating_add(rule.window_ms)),
        ExtendRule::Add { extend_ms } => end.saturating_add(extend_ms),
    };
    if new_end == end {
        return None;
    }
    lot.effective_end_ms = Some(new_end);
    Some(end)
}

/// A counted bid wakes its lot: a timed lot whose opening time has passed
/// opens with its first bid even if the timer's `OpenLot` has not been
/// applied yet; a fair warning is lifted.
fn wake(lot: &mut Lot, sale: &Sale, fx: &mut Effects) {
    if lot.status == LotStatus::Scheduled {
        lot.status = LotStatus::Open;
        fx.events.push(opened_event(lot, sale));
    }
    if lot.status == LotStatus::FairWarning {
        lot.status = LotStatus::Open;
        fx.events.push(AuctionEvent::WarningLifted {
            sale: sale.id,
            lot: lot.id,
        });
    }
}

/// The events of a counted bid `b`: accepted (with the lot's new price and
/// leader), the previous leader outbid, the close extended.
fn say_counted(
    lot: &Lot,
    sale: &Sale,
    b: &BidEntry,
    prev_leader: Option<Paddle>,
    extended: Option<u64>,
    fx: &mut Effects,
) {
    let price = lot.book.price.expect("a counted bid sets the price");
    let leader = lot.book.top.expect("a counted bid sets a leader").paddle;
    let state = lot.public_state(sale);
    fx.events.push(AuctionEvent::BidAccepted {
        sale: sale.id,
        lot: lot.id,
        paddle: b.paddle,
        kind: b.kind,
        shown: b.shown,
        price,
        leader,
        reserve_met: state.reserve_met,
        minimum_next: state.minimum_next,
        effective_end_ms: lot.effective_end_ms,
        status: lot.status,
    });
    if let Some(loser) = prev_leader.filter(|p| *p != leader) {
        fx.events.push(AuctionEvent::Outbid {
            sale: sale.id,
            lot: lot.id,
            paddle: loser,
            price,
            minimum_next: state.minimum_next,
        });
    }
    if let Some(previous_end_ms) = extended {
        fx.events.push(AuctionEvent::LotExtended {
            sale: sale.id,
            lot: lot.id,
            previous_end_ms,
            effective_end_ms: lot.effective_end_ms.expect("timed"),
        });
    }
}

/// The lot takes bids now: not finished; for a timed lot, inside its window
/// by the entry's stamp. Returns whether the bid waits as an absentee bid
/// (a live lot that has not opened; outcry bids cannot wait).
fn check_timing(lot: &Lot, timed: bool, stamp_ms: u64, outcry: bool) -> Outcome<bool> {
    if lot.status.is_finished() {
        return Err(RejectReason::LotClosed);
    }
    if timed {
        if stamp_ms >= lot.effective_end_ms.unwrap_or(0) {
            return Err(RejectReason::LotClosed);
        }
        if stamp_ms < lot.opens_at_ms.unwrap_or(0) {
            return Err(RejectReason::LotNotOpen {
                opens_at_ms: lot.opens_at_ms,
            });
        }
        return Ok(false);
    }
    if lot.status == LotStatus::Scheduled {
        if outcry {
            return Err(RejectReason::WrongStatus { status: lot.status });
        }
        return Ok(true);
    }
    Ok(false)
}

/// The bid's `max` is enough: the buy-now price exactly (then its hammer
/// and total), the start price for an absentee bid, more than the leader's
/// own max, or else the minimum that stands at (`index`, `stamp`).
fn check_price(
    sale: &Sale,
    lot: &Lot,
    bid: &Bid<'_>,
    max: Money,
    absentee: bool,
    house: bool,
    (index, stamp_ms): (u64, u64),
) -> Outcome<Option<(Money, Money)>> {
    if bid.buy_now {
        let price = lot
            .buy_now_offer(sale)
            .ok_or(RejectReason::BuyNowUnavailable)?;
        if max != price {
            return Err(RejectReason::BuyNowPriceMismatch { price });
        }
        let premium = price
            .basis_points(sale.spec.premium_bp)
            .unwrap_or(Money::MAX);
        return Ok(Some((price, price.saturating_add(premium))));
    }
    if absentee {
        if max < lot.spec.start {
            return Err(RejectReason::TooLow {
                minimum: lot.spec.start,
            });
        }
        return Ok(None);
    }
    match &lot.book.top {
        Some(top) if top.paddle == bid.paddle && !house => {
            if max <= top.max {
                return Err(RejectReason::NotAboveOwnMax);
            }
        }
        _ => {
            let minimum = lot.minimum_at(sale, index, stamp_ms);
            if max < minimum {
                return Err(RejectReason::TooLow { minimum });
            }
        }
    }
    Ok(None)
}

/// The bidder's spending limit holds with `commitment` on this lot (their
/// standing max here, if they lead it, is replaced, not added to).
fn check_limit(
    (b, limit): (&Bidder, Money),
    lot: &Lot,
    paddle: Paddle,
    commitment: Money,
) -> Outcome<()> {
    let own = match lot.leading_exposure() {
        Some((p, m)) if p == paddle => m,
        _ => Money::ZERO,
    };
    if b.exposure().saturating_sub(own).saturating_add(commitment) > limit {
        return Err(RejectReason::OverLimit { limit });
    }
    Ok(())
}
