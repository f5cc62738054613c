//! How lots open and close: the timer's commands for timed lots, the
//! clerk's for live ones, and the pure helper that tells the leader's timer
//! what is due.
//!
//! Timed lots need no clock inside the engine. A lot's status is stored and
//! changed only by commands; deadlines are checked against the entry's
//! stamp. A bid is on time iff `opens_at ≤ stamp < effective_end` — even
//! before the timer's `OpenLot` is applied (the bid then opens the lot) and
//! regardless of whether `CloseLot` has been applied. The leader's timer
//! calls [`due`] with its clock and proposes what is returned; apply
//! re-checks each one against its stamp, so a proposal made early or twice
//! is a refused no-op.

use paddle_proto::auction::{
    Accepted, AuctionCommand, AuctionEvent, ImageRef, LotId, LotImage, LotResult, LotStatus,
    PassReason, RejectReason, SaleId, SaleMode,
};
use paddle_proto::Money;

use crate::bidding::opened_event;
use crate::book::Book;
use crate::checks::{check_amount, Outcome};
use crate::effects::Effects;
use crate::state::{AuctionState, Lot};

/// What the leader's timer should propose now, and when to look again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Due {
    /// `OpenLot` / `CloseLot` commands whose time has come, in lot order.
    pub commands: Vec<AuctionCommand>,
    /// The earliest future deadline (an opening or an effective end), if any.
    pub next_deadline_ms: Option<u64>,
}

/// Which timed-lot transitions are due at `now_ms`, given every lot with its
/// sale's mode and, when the sale is paused, since when. Live lots are the
/// clerk's business and never due. A paused sale's clock stands at its
/// pause: only what was due by then is, and nothing of it is waited for
/// (the resume moves its deadlines).
pub fn due<'a>(
    lots: impl IntoIterator<Item = (SaleMode, Option<u64>, &'a Lot)>,
    now_ms: u64,
) -> Due {
    let mut out = Due::default();
    let next_of = |t: u64, out: &mut Due, paused: bool| {
        if !paused {
            out.next_deadline_ms = Some(out.next_deadline_ms.map_or(t, |n| n.min(t)));
        }
    };
    for (mode, paused_since, lot) in lots {
        if !matches!(mode, SaleMode::Timed { .. }) {
            continue;
        }
        let paused = paused_since.is_some();
        let now_ms = paused_since.map_or(now_ms, |s| s.min(now_ms));
        let next = |t: u64, out: &mut Due| next_of(t, out, paused);
        let (Some(opens), Some(end)) = (lot.opens_at_ms, lot.effective_end_ms) else {
            continue;
        };
        let (sale, id) = (lot.sale, lot.id);
        match lot.status {
            LotStatus::Scheduled | LotStatus::Open | LotStatus::FairWarning if now_ms >= end => out
                .commands
                .push(AuctionCommand::CloseLot { sale, lot: id }),
            LotStatus::Scheduled if now_ms >= opens => {
                out.commands.push(AuctionCommand::OpenLot { sale, lot: id });
                next(end, &mut out);
            }
            LotStatus::Scheduled => next(opens, &mut out),
            LotStatus::Open | LotStatus::FairWarning => next(end, &mut out),
            LotStatus::Sold | LotStatus::Passed | LotStatus::Withdrawn => {}
        }
    }
    out
}

impl AuctionState {
    /// What the leader's timer should propose at `now_ms` (see [`due`]).
    /// Scans every lot: fine for a venue's thousands of lots.
    pub fn due(&self, now_ms: u64) -> Due {
        due(
            self.lots.values().filter_map(|l| {
                let paused = self.pauses.get(&l.sale).map(|p| p.since_ms);
                self.sales.get(&l.sale).map(|s| (s.spec.mode, paused, l))
            }),
            now_ms,
        )
    }

    pub(crate) fn open_lot(
        &mut self,
        stamp_ms: u64,
        sale_id: SaleId,
        lot_id: LotId,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let (sale, lot) = self.lot_of(sale_id, lot_id)?;
        if lot.status != LotStatus::Scheduled {
            return Err(RejectReason::WrongStatus { status: lot.status });
        }
        match sale.spec.mode {
            SaleMode::Timed { .. } => {
                let opens = lot.opens_at_ms.unwrap_or(0);
                if stamp_ms < opens {
                    return Err(RejectReason::NotDue { due_ms: opens });
                }
            }
            SaleMode::Live => {
                if let Some(cur) = sale.current_lot.filter(|c| *c != lot_id) {
                    if self.lots.get(&cur).is_some_and(|l| l.status.is_biddable()) {
                        return Err(RejectReason::AnotherLotOpen { lot: cur });
                    }
                }
            }
        }
        let live = sale.spec.mode == SaleMode::Live;
        let sale = self.sales.get_mut(&sale_id).expect("checked");
        let lot = self.lots.get_mut(&lot_id).expect("checked");
        lot.status = LotStatus::Open;
        fx.touched.lots.push(lot_id);
        let mut losers = Vec::new();
        if live {
            sale.current_lot = Some(lot_id);
            fx.touched.sales.push(sale_id);
            // Absentee maxes count from now, earliest first (their seq).
            if lot.bids.iter().any(|b| !b.applied && !b.retracted) {
                for b in lot.bids.iter_mut().filter(|b| !b.applied && !b.retracted) {
                    b.applied = true;
                    fx.touched.bids.push((lot_id, b.seq));
                }
                lot.book = Book::recompute(&lot.terms(sale), &lot.bids);
                let price = lot.book.price.unwrap_or(lot.spec.start);
                let leader = lot.book.top.map(|t| t.paddle);
                for b in lot.bids.iter_mut().filter(|b| b.applied && !b.retracted) {
                    b.shown = b.max.min(price);
                    if Some(b.paddle) != leader && !losers.contains(&b.paddle) {
                        losers.push(b.paddle);
                    }
                }
            }
        }
        fx.events.push(opened_event(lot, sale));
        let state = lot.public_state(sale);
        for paddle in losers {
            fx.events.push(AuctionEvent::Outbid {
                sale: sale_id,
                lot: lot_id,
                paddle,
                price: state.price.unwrap_or(lot.spec.start),
                minimum_next: state.minimum_next,
            });
        }
        let after = lot.leading_exposure();
        self.shift_leading(sale_id, None, after, fx);
        Ok(Accepted::Lot { lot: state })
    }

    pub(crate) fn close_lot(
        &mut self,
        stamp_ms: u64,
        sale_id: SaleId,
        lot_id: LotId,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let (sale, lot) = self.lot_of(sale_id, lot_id)?;
        if sale.spec.mode == SaleMode::Live {
            return Err(RejectReason::WrongMode);
        }
        if lot.status.is_finished() {
            return Err(RejectReason::WrongStatus { status: lot.status });
        }
        let end = lot.effective_end_ms.unwrap_or(0);
        if stamp_ms < end {
            return Err(RejectReason::NotDue { due_ms: end });
        }
        // A lot still running when the sale was paused waits for the resume.
        if self.pauses.get(&sale_id).is_some_and(|p| end > p.since_ms) {
            return Err(RejectReason::SalePaused);
        }
        match (lot.book.price, lot.book.top.is_some(), lot.reserve_met()) {
            (Some(price), true, true) => self.finish_sold(stamp_ms, lot_id, price, false, fx),
            (_, false, _) => self.finish_passed(stamp_ms, lot_id, PassReason::NoBids, fx),
            _ => self.finish_passed(stamp_ms, lot_id, PassReason::ReserveNotMet, fx),
        }
        Ok(Accepted::Lot {
            lot: self.state_of(lot_id),
        })
    }

    /// The live lot `lot_id` of `sale_id` in a status accepted by `ok`.
    fn live_lot(&self, sale_id: SaleId, lot_id: LotId, ok: fn(LotStatus) -> bool) -> Outcome<&Lot> {
        let (sale, lot) = self.lot_of(sale_id, lot_id)?;
        if sale.spec.mode != SaleMode::Live {
            return Err(RejectReason::WrongMode);
        }
        if !ok(lot.status) {
            return Err(RejectReason::WrongStatus { status: lot.status });
        }
        Ok(lot)
    }

    pub(crate) fn fair_warning(
        &mut self,
        sale_id: SaleId,
        lot_id: LotId,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        self.live_lot(sale_id, lot_id, |s| s == LotStatus::Open)?;
        let lot = self.lots.get_mut(&lot_id).expect("checked");
        lot.status = LotStatus::FairWarning;
        fx.touched.lots.push(lot_id);
        fx.events.push(AuctionEvent::FairWarning {
            sale: sale_id,
            lot: lot_id,
            price: lot.book.price,
        });
        Ok(Accepted::Lot {
            lot: self.state_of(lot_id),
        })
    }

    pub(crate) fn sell(
        &mut self,
        stamp_ms: u64,
        sale_id: SaleId,
        lot_id: LotId,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let lot = self.live_lot(sale_id, lot_id, LotStatus::is_biddable)?;
        let Some(price) = lot.book.price.filter(|_| lot.book.top.is_some()) else {
            return Err(RejectReason::NoBids);
        };
        if !lot.reserve_met() {
            return Err(RejectReason::ReserveNotMet);
        }
        self.finish_sold(stamp_ms, lot_id, price, false, fx);
        Ok(Accepted::Lot {
            lot: self.state_of(lot_id),
        })
    }

    pub(crate) fn pass(
        &mut self,
        stamp_ms: u64,
        sale_id: SaleId,
        lot_id: LotId,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        self.live_lot(sale_id, lot_id, LotStatus::is_biddable)?;
        self.finish_passed(stamp_ms, lot_id, PassReason::Clerk, fx);
        Ok(Accepted::Lot {
            lot: self.state_of(lot_id),
        })
    }

    pub(crate) fn reopen(
        &mut self,
        sale_id: SaleId,
        lot_id: LotId,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let lot = self.live_lot(sale_id, lot_id, |s| {
            matches!(s, LotStatus::Sold | LotStatus::Passed)
        })?;
        let won = lot.result.and_then(|r| r.winner.zip(r.total));
        if self.sales.get(&sale_id).and_then(|s| s.current_lot) != Some(lot_id) {
            return Err(RejectReason::CannotReopen);
        }
        if self.settle.collected.contains_key(&lot_id) {
            return Err(RejectReason::AlreadyCollected);
        }
        if let Some((winner, total)) = won {
            if let Some(b) = self.bidders.get_mut(&(sale_id, winner)) {
                b.won = b.won.saturating_sub(total);
                fx.touched.bidders.push((sale_id, winner));
            }
        }
        let lot = self.lots.get_mut(&lot_id).expect("checked");
        lot.status = LotStatus::Open;
        lot.result = None;
        fx.touched.lots.push(lot_id);
        fx.events.push(AuctionEvent::Reopened {
            sale: sale_id,
            lot: lot_id,
            price: lot.book.price,
            leader: lot.book.top.map(|t| t.paddle),
        });
        let after = lot.leading_exposure();
        self.shift_leading(sale_id, None, after, fx);
        Ok(Accepted::Lot {
            lot: self.state_of(lot_id),
        })
    }

    pub(crate) fn withdraw(
        &mut self,
        sale_id: SaleId,
        lot_id: LotId,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let (_, lot) = self.lot_of(sale_id, lot_id)?;
        if lot.status.is_finished() {
            return Err(RejectReason::WrongStatus { status: lot.status });
        }
        let before = lot.leading_exposure();
        let lot = self.lots.get_mut(&lot_id).expect("checked");
        lot.status = LotStatus::Withdrawn;
        fx.touched.lots.push(lot_id);
        fx.events.push(AuctionEvent::Withdrawn {
            sale: sale_id,
            lot: lot_id,
        });
        self.shift_leading(sale_id, before, None, fx);
        Ok(Accepted::Lot {
            lot: self.state_of(lot_id),
        })
    }

    /// Move a timed sale's times while every lot is still scheduled (no
    /// bid can exist then: bids need an open lot, or a live sale).
    pub(crate) fn schedule_sale(
        &mut self,
        sale_id: SaleId,
        opens_at_ms: u64,
        closes_at_ms: u64,
        stagger_ms: u64,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let sale = self.sales.get(&sale_id).ok_or(RejectReason::UnknownSale)?;
        if !matches!(sale.spec.mode, SaleMode::Timed { .. }) {
            return Err(RejectReason::WrongMode);
        }
        if closes_at_ms <= opens_at_ms {
            return Err(crate::checks::invalid("closes_at_ms"));
        }
        let lot_ids = sale.lots.clone();
        for id in &lot_ids {
            let lot = self.lots.get(id).expect("a sale's lots exist");
            if lot.status != LotStatus::Scheduled {
                return Err(RejectReason::WrongStatus { status: lot.status });
            }
        }
        let sale = self.sales.get_mut(&sale_id).expect("checked");
        sale.spec.mode = SaleMode::Timed {
            opens_at_ms,
            closes_at_ms,
            stagger_ms,
        };
        for id in &lot_ids {
            let lot = self.lots.get_mut(id).expect("checked");
            let end = closes_at_ms.saturating_add(stagger_ms.saturating_mul(lot.position as u64));
            lot.opens_at_ms = Some(opens_at_ms);
            lot.scheduled_end_ms = Some(end);
            lot.effective_end_ms = Some(end);
            // The times are part of a lot's terms, written anew.
            fx.touched.lots.push(*id);
            fx.touched.new_lots.push(*id);
        }
        fx.touched.sales.push(sale_id);
        fx.events.push(AuctionEvent::SaleScheduled {
            sale: sale_id,
            opens_at_ms,
            closes_at_ms,
            stagger_ms,
        });
        Ok(Accepted::SaleScheduled { sale: sale_id })
    }

    /// Set or remove a lot's photo. Only its kind, size and version are
    /// kept here; the machine stores the bytes. Allowed in any status (a
    /// catalogue keeps its pictures after the sale).
    pub(crate) fn set_image(
        &mut self,
        index: u64,
        sale_id: SaleId,
        lot_id: LotId,
        image: &Option<LotImage>,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        self.lot_of(sale_id, lot_id)?;
        if image.as_ref().is_some_and(|i| i.check().is_err()) {
            return Err(crate::checks::invalid("image"));
        }
        let new = image.as_ref().map(|i| ImageRef {
            kind: i.kind,
            index,
            bytes: i.bytes.len() as u32,
        });
        let lot = self.lots.get_mut(&lot_id).expect("checked");
        lot.image = new;
        fx.touched.lots.push(lot_id);
        fx.events.push(AuctionEvent::LotImageSet {
            sale: sale_id,
            lot: lot_id,
            image: new.map(|i| i.url(lot_id)),
        });
        Ok(Accepted::Lot {
            lot: self.state_of(lot_id),
        })
    }

    pub(crate) fn set_asking(
        &mut self,
        sale_id: SaleId,
        lot_id: LotId,
        increment: Option<Money>,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        self.live_lot(sale_id, lot_id, |s| !s.is_finished())?;
        if let Some(i) = increment {
            check_amount(i)?;
        }
        let sale = self.sales.get(&sale_id).expect("checked");
        let lot = self.lots.get_mut(&lot_id).expect("checked");
        lot.asking_increment = increment;
        fx.touched.lots.push(lot_id);
        fx.events.push(AuctionEvent::AskingIncrementSet {
            sale: sale_id,
            lot: lot_id,
            increment,
            minimum_next: lot.minimum_next(sale),
        });
        Ok(Accepted::Lot {
            lot: lot.public_state(sale),
        })
    }

    /// Hammer down at `hammer` to the leader.
    pub(crate) fn finish_sold(
        &mut self,
        stamp_ms: u64,
        lot_id: LotId,
        hammer: Money,
        buy_now: bool,
        fx: &mut Effects,
    ) {
        let lot = self.lots.get(&lot_id).expect("exists");
        let sale = self.sales.get(&lot.sale).expect("exists");
        let before = lot.leading_exposure();
        let winner = lot.book.top.expect("sold lots have a leader").paddle;
        let premium = hammer
            .basis_points(sale.spec.premium_bp)
            .unwrap_or(Money::MAX);
        let total = hammer.saturating_add(premium);
        let sale_id = sale.id;
        let lot = self.lots.get_mut(&lot_id).expect("exists");
        lot.status = LotStatus::Sold;
        lot.result = Some(LotResult {
            lot: lot_id,
            status: LotStatus::Sold,
            winner: Some(winner),
            hammer: Some(hammer),
            premium: Some(premium),
            total: Some(total),
            pass_reason: None,
            buy_now,
            at_ms: stamp_ms,
        });
        fx.touched.lots.push(lot_id);
        fx.events.push(AuctionEvent::Sold {
            sale: sale_id,
            lot: lot_id,
            paddle: winner,
            hammer,
            premium,
            total,
            buy_now,
        });
        self.shift_leading(sale_id, before, None, fx);
        if let Some(b) = self.bidders.get_mut(&(sale_id, winner)) {
            b.won = b.won.saturating_add(total);
            fx.touched.bidders.push((sale_id, winner));
        }
    }

    fn finish_passed(
        &mut self,
        stamp_ms: u64,
        lot_id: LotId,
        reason: PassReason,
        fx: &mut Effects,
    ) {
        let lot = self.lots.get_mut(&lot_id).expect("exists");
        let before = lot.leading_exposure();
        let sale_id = lot.sale;
        lot.status = LotStatus::Passed;
        lot.result = Some(LotResult {
            lot: lot_id,
            status: LotStatus::Passed,
            winner: None,
            hammer: None,
            premium: None,
            total: None,
            pass_reason: Some(reason),
            buy_now: false,
            at_ms: stamp_ms,
        });
        fx.touched.lots.push(lot_id);
        fx.events.push(AuctionEvent::Passed {
            sale: sale_id,
            lot: lot_id,
            reason,
        });
        self.shift_leading(sale_id, before, None, fx);
    }
}
