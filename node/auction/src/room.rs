//! The operator's hold on the room: pause and resume a sale, extend one
//! timed lot, edit a lot before it opens, retract a bid with a reason.
//!
//! A pause is a fact in the state (`pauses`), not a clock: while it stands
//! every bid is refused (`sale_paused`) and no lot of the sale opens or
//! closes (the timer skips it; `OpenLot`/`CloseLot` are refused). On resume
//! every unfinished lot's times move on by the pause's length, measured
//! between the two commands' stamps, so each lot gets back exactly the time
//! it had left, and every node computes the same new deadlines.

use paddle_proto::auction::{
    Accepted, AuctionEvent, BidId, LotId, LotSpec, LotStatus, Paddle, Pause, RejectReason, SaleId,
    SaleMode,
};

use crate::checks::{check_lot, check_text, invalid, Outcome};
use crate::effects::Effects;
use crate::state::{AuctionState, BidNote};

/// Longest one extension may add: a day.
pub const MAX_EXTEND_MS: u64 = 24 * 60 * 60 * 1000;

impl AuctionState {
    /// The pause standing on `sale`, if any.
    pub fn pause(&self, sale: SaleId) -> Option<&Pause> {
        self.pauses.get(&sale)
    }

    /// Staff notes on bid `seq` of `lot`, if any.
    pub fn bid_note(&self, lot: LotId, seq: u32) -> Option<&BidNote> {
        self.bid_notes.get(&(lot, seq))
    }

    /// Refuse lot transitions of a paused sale.
    pub(crate) fn not_paused(&self, sale: SaleId) -> Outcome<()> {
        match self.pauses.contains_key(&sale) {
            true => Err(RejectReason::SalePaused),
            false => Ok(()),
        }
    }

    pub(crate) fn pause_sale(
        &mut self,
        stamp_ms: u64,
        sale: SaleId,
        reason: &str,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if !self.sales.contains_key(&sale) {
            return Err(RejectReason::UnknownSale);
        }
        check_text("reason", reason, 1, 200)?;
        if self.pauses.contains_key(&sale) {
            return Err(RejectReason::PauseState { paused: true });
        }
        let pause = Pause {
            reason: reason.to_string(),
            since_ms: stamp_ms,
        };
        self.pauses.insert(sale, pause);
        fx.touched.pauses.push(sale);
        fx.events.push(AuctionEvent::SalePaused {
            sale,
            reason: reason.to_string(),
            since_ms: stamp_ms,
        });
        Ok(Accepted::SalePaused { sale, paused: true })
    }

    pub(crate) fn resume_sale(
        &mut self,
        stamp_ms: u64,
        sale_id: SaleId,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let sale = self.sales.get(&sale_id).ok_or(RejectReason::UnknownSale)?;
        let Some(pause) = self.pauses.get(&sale_id) else {
            return Err(RejectReason::PauseState { paused: false });
        };
        let since = pause.since_ms;
        let paused_ms = stamp_ms.saturating_sub(since);
        let timed = matches!(sale.spec.mode, SaleMode::Timed { .. });
        let lot_ids = sale.lots.clone();
        self.pauses.remove(&sale_id);
        fx.touched.pauses.push(sale_id);
        fx.events.push(AuctionEvent::SaleResumed {
            sale: sale_id,
            paused_ms,
        });
        if timed && paused_ms > 0 {
            for id in lot_ids {
                self.give_back(sale_id, id, since, paused_ms, fx);
            }
        }
        Ok(Accepted::SalePaused {
            sale: sale_id,
            paused: false,
        })
    }

    /// After a pause from `since` lasting `paused_ms`, move the lot's times
    /// that lay ahead of the pause by its length. A lot whose end had
    /// already passed when the pause began keeps it (it was over).
    fn give_back(&mut self, sale: SaleId, id: LotId, since: u64, paused_ms: u64, fx: &mut Effects) {
        let lot = self.lots.get_mut(&id).expect("a sale's lots exist");
        if lot.status.is_finished() {
            return;
        }
        let later = |t: &mut Option<u64>| {
            if let Some(v) = t.as_mut().filter(|v| **v > since) {
                *v = v.saturating_add(paused_ms);
            }
        };
        let previous_end = lot.effective_end_ms;
        later(&mut lot.opens_at_ms);
        later(&mut lot.scheduled_end_ms);
        later(&mut lot.effective_end_ms);
        if lot.effective_end_ms == previous_end {
            return;
        }
        // The times are part of a lot's terms, written anew.
        fx.touched.lots.push(id);
        fx.touched.new_lots.push(id);
        fx.events.push(AuctionEvent::LotExtendedBy {
            sale,
            lot: id,
            previous_end_ms: previous_end.unwrap_or(0),
            effective_end_ms: lot.effective_end_ms.unwrap_or(0),
            reason: "resume".into(),
        });
    }

    /// Give one running timed lot `by_ms` more (1 ms to a day).
    pub(crate) fn extend_lot(
        &mut self,
        stamp_ms: u64,
        sale_id: SaleId,
        lot_id: LotId,
        by_ms: u64,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let (sale, lot) = self.lot_of(sale_id, lot_id)?;
        if !matches!(sale.spec.mode, SaleMode::Timed { .. }) {
            return Err(RejectReason::WrongMode);
        }
        if by_ms == 0 || by_ms > MAX_EXTEND_MS {
            return Err(invalid("by_ms"));
        }
        if lot.status.is_finished() {
            return Err(RejectReason::WrongStatus { status: lot.status });
        }
        let end = lot.effective_end_ms.unwrap_or(0);
        // Running by the stamp (the timer's open and close may lag it); a
        // paused sale's clock stopped at the pause. A lot not open yet
        // follows the sale's schedule, which the operator moves instead.
        let now = self.pauses.get(&sale_id).map_or(stamp_ms, |p| p.since_ms);
        if lot.opens_at_ms.is_some_and(|opens| now < opens) {
            return Err(RejectReason::LotNotOpen {
                opens_at_ms: lot.opens_at_ms,
            });
        }
        if now >= end {
            return Err(RejectReason::LotClosed);
        }
        let lot = self.lots.get_mut(&lot_id).expect("checked");
        let new_end = end.saturating_add(by_ms);
        lot.effective_end_ms = Some(new_end);
        fx.touched.lots.push(lot_id);
        fx.events.push(AuctionEvent::LotExtendedBy {
            sale: sale_id,
            lot: lot_id,
            previous_end_ms: end,
            effective_end_ms: new_end,
            reason: "operator".into(),
        });
        Ok(Accepted::Lot {
            lot: self.state_of(lot_id),
        })
    }

    /// Change a lot's terms while it is scheduled and has no bid. A timed
    /// lot keeps its times (they follow the sale's schedule).
    pub(crate) fn edit_lot(
        &mut self,
        sale_id: SaleId,
        lot_id: LotId,
        spec: &LotSpec,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let (sale, lot) = self.lot_of(sale_id, lot_id)?;
        if lot.status != LotStatus::Scheduled {
            return Err(RejectReason::WrongStatus { status: lot.status });
        }
        if !lot.bids.is_empty() {
            return Err(invalid("lot has bids"));
        }
        check_lot(spec, sale.spec.mode == SaleMode::Live)?;
        let lot = self.lots.get_mut(&lot_id).expect("checked");
        lot.spec = spec.clone();
        fx.touched.lots.push(lot_id);
        fx.touched.new_lots.push(lot_id);
        fx.events.push(AuctionEvent::LotEdited {
            sale: sale_id,
            lot: lot_id,
        });
        Ok(Accepted::Lot {
            lot: self.state_of(lot_id),
        })
    }

    /// Retract a bid and keep the operator's reason with it.
    pub(crate) fn retract_because(
        &mut self,
        sale: SaleId,
        lot: LotId,
        paddle: Paddle,
        bid_id: &BidId,
        reason: &str,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        check_text("reason", reason, 1, 500)?;
        // The bid `retract` takes: the first of that id not yet retracted.
        let seq = self.lots.get(&lot).and_then(|l| {
            l.bids
                .iter()
                .find(|b| b.paddle == paddle && &b.bid_id == bid_id && !b.retracted)
                .map(|b| b.seq)
        });
        let accepted = self.retract(sale, lot, paddle, bid_id, fx)?;
        let seq = seq.expect("retract found it");
        let note = self
            .bid_notes
            .entry((lot, seq))
            .or_insert_with(BidNote::default);
        note.retract_reason = Some(reason.to_string());
        fx.touched.bid_notes.push((lot, seq));
        Ok(accepted)
    }
}
