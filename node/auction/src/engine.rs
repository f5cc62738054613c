//! `apply`: the one entry point of the rules, and the catalogue and
//! registration commands.
//!
//! `apply` is a function of (state, command, index, stamp): no clock, no
//! I/O, no randomness, no iteration over hash maps. Every expected outcome
//! is a value in the reply; a refused command leaves the state untouched
//! (except that the first outcome of a bid id is remembered).

use paddle_proto::auction::{
    Accepted, AuctionCommand, AuctionEvent, AuctionReply, LotId, LotSpec, LotState, LotStatus,
    Paddle, RejectReason, SaleId, SaleMode, SaleSpec,
};
use paddle_proto::Money;

use crate::bidding::Bid;
use crate::book::Book;
use crate::checks::{check_lot, check_text, invalid, Outcome, MAX_BID};
use crate::desk::DeskForm;
use crate::effects::Effects;
use crate::state::{AuctionState, Bidder, Lot, Sale};

/// Most lots one `AddLots` may carry.
pub const MAX_LOTS_PER_COMMAND: usize = 1_000;
/// Most lots one sale may have.
pub const MAX_LOTS_PER_SALE: usize = 100_000;
/// Highest paddle number a bidder may ask for.
pub const MAX_PADDLE: u32 = 9_999_999;

impl AuctionState {
    /// Apply one committed command at log `index`, stamped `stamp_ms` by the
    /// leader. Appends events and touched records to `fx`.
    pub fn apply(
        &mut self,
        index: u64,
        stamp_ms: u64,
        cmd: &AuctionCommand,
        fx: &mut Effects,
    ) -> AuctionReply {
        if let Some(bid) = Bid::of(cmd) {
            return self.place(index, stamp_ms, &bid, fx);
        }
        let result = self
            .catalogue(index, stamp_ms, cmd, fx)
            .or_else(|| self.lots_and_room(stamp_ms, cmd, fx))
            .or_else(|| self.desk_command(stamp_ms, cmd, fx))
            .or_else(|| self.settle_command(stamp_ms, cmd, fx))
            .expect("every command has a handler");
        match result {
            Ok(accepted) => AuctionReply::Accepted { accepted },
            Err(reason) => self.reject(cmd.sale(), reason),
        }
    }

    /// Sales, lots and their photos, bidders' registration and limits.
    fn catalogue(
        &mut self,
        index: u64,
        stamp_ms: u64,
        cmd: &AuctionCommand,
        fx: &mut Effects,
    ) -> Option<Outcome<Accepted>> {
        use AuctionCommand::*;
        Some(match cmd {
            CreateSale { spec } => self.create_sale(stamp_ms, spec, fx),
            AddLots { sale, lots } => self.add_lots(*sale, lots, fx),
            RegisterBidder {
                sale,
                name,
                paddle,
                token_hash,
                limit,
                approved,
            } => self.register(*sale, name, *paddle, token_hash, *limit, *approved, fx),
            ApproveBidder {
                sale,
                paddle,
                approved,
            } => self.approve(*sale, *paddle, *approved, fx),
            SetLimit {
                sale,
                paddle,
                limit,
            } => self.set_limit(*sale, *paddle, *limit, fx),
            SetLotImage { sale, lot, image } => self.set_image(index, *sale, *lot, image, fx),
            ScheduleSale {
                sale,
                opens_at_ms,
                closes_at_ms,
                stagger_ms,
            } => self.schedule_sale(*sale, *opens_at_ms, *closes_at_ms, *stagger_ms, fx),
            EditLot { sale, lot, spec } => self.edit_lot(*sale, *lot, spec, fx),
            _ => return None,
        })
    }

    /// A lot's way from opening to hammer, retraction, pause and resume.
    fn lots_and_room(
        &mut self,
        stamp_ms: u64,
        cmd: &AuctionCommand,
        fx: &mut Effects,
    ) -> Option<Outcome<Accepted>> {
        use AuctionCommand::*;
        Some(match cmd {
            RetractBid {
                sale,
                lot,
                paddle,
                bid_id,
            } => self.retract(*sale, *lot, *paddle, bid_id, fx),
            RetractBidBecause {
                sale,
                lot,
                paddle,
                bid_id,
                reason,
            } => self.retract_because(*sale, *lot, *paddle, bid_id, reason, fx),
            OpenLot { sale, lot } => self
                .not_paused(*sale)
                .and_then(|()| self.open_lot(stamp_ms, *sale, *lot, fx)),
            CloseLot { sale, lot } => self.close_lot(stamp_ms, *sale, *lot, fx),
            SetAskingIncrement {
                sale,
                lot,
                increment,
            } => self.set_asking(*sale, *lot, *increment, fx),
            FairWarning { sale, lot } => self
                .not_paused(*sale)
                .and_then(|()| self.fair_warning(*sale, *lot, fx)),
            Sell { sale, lot } => self
                .not_paused(*sale)
                .and_then(|()| self.sell(stamp_ms, *sale, *lot, fx)),
            Pass { sale, lot } => self
                .not_paused(*sale)
                .and_then(|()| self.pass(stamp_ms, *sale, *lot, fx)),
            Reopen { sale, lot } => self
                .not_paused(*sale)
                .and_then(|()| self.reopen(*sale, *lot, fx)),
            WithdrawLot { sale, lot } => self.withdraw(*sale, *lot, fx),
            PauseSale { sale, reason } => self.pause_sale(stamp_ms, *sale, reason, fx),
            ResumeSale { sale } => self.resume_sale(stamp_ms, *sale, fx),
            ExtendLot { sale, lot, by_ms } => self.extend_lot(stamp_ms, *sale, *lot, *by_ms, fx),
            _ => return None,
        })
    }

    /// The registration desk and sign-in codes.
    fn desk_command(
        &mut self,
        stamp_ms: u64,
        cmd: &AuctionCommand,
        fx: &mut Effects,
    ) -> Option<Outcome<Accepted>> {
        use AuctionCommand::*;
        Some(match cmd {
            DeskRegister {
                sale,
                name,
                paddle,
                token_hash,
                limit,
                approved,
                details,
                code_hash,
            } => {
                let form = DeskForm {
                    name,
                    paddle: *paddle,
                    token_hash,
                    limit: *limit,
                    approved: *approved,
                    details,
                    code_hash,
                };
                self.desk_register(stamp_ms, *sale, &form, fx)
            }
            SetDeskDetails {
                sale,
                paddle,
                details,
            } => self.set_desk_details(*sale, *paddle, details, fx),
            ReissueSignIn {
                sale,
                paddle,
                token_hash,
                code_hash,
            } => self.reissue(stamp_ms, *sale, *paddle, token_hash, code_hash, fx),
            RedeemSignIn {
                sale,
                code_hash,
                token_hash,
            } => self.redeem(stamp_ms, *sale, code_hash, token_hash, fx),
            SelfRegister {
                sale,
                name,
                token_hash,
            } => self.self_register(*sale, name, token_hash, fx),
            SetSelfRegistration { sale, open } => self.set_self_registration(*sale, *open, fx),
            IntroduceLot {
                sale,
                lot,
                text,
                source,
            } => self.introduce_lot(*sale, *lot, text, source, fx),
            SetRivalProfiles { sale, on } => self.set_rival_profiles(*sale, *on, fx),
            _ => return None,
        })
    }

    /// A refusal worded in the sale's currency when the sale is known.
    pub(crate) fn reject(&self, sale: Option<SaleId>, reason: RejectReason) -> AuctionReply {
        let currency = sale
            .and_then(|s| self.sales.get(&s))
            .map(|s| s.spec.currency);
        AuctionReply::rejected(reason, currency)
    }

    /// The lot `lot` of sale `sale`, or why not.
    pub(crate) fn lot_of(&self, sale: SaleId, lot: LotId) -> Outcome<(&Sale, &Lot)> {
        let s = self.sales.get(&sale).ok_or(RejectReason::UnknownSale)?;
        let l = self
            .lots
            .get(&lot)
            .filter(|l| l.sale == sale)
            .ok_or(RejectReason::UnknownLot)?;
        Ok((s, l))
    }

    /// The public state of a lot known to exist.
    pub(crate) fn state_of(&self, lot: LotId) -> LotState {
        self.lot_state(lot).expect("lot exists")
    }

    /// Move a lot's leading exposure from `before` to `after` in the bidders'
    /// books (limits count the maxes a bidder leads with).
    pub(crate) fn shift_leading(
        &mut self,
        sale: SaleId,
        before: Option<(Paddle, Money)>,
        after: Option<(Paddle, Money)>,
        fx: &mut Effects,
    ) {
        if before == after {
            return;
        }
        if let Some((p, m)) = before {
            if let Some(b) = self.bidders.get_mut(&(sale, p)) {
                b.leading = b.leading.saturating_sub(m);
                fx.touched.bidders.push((sale, p));
            }
        }
        if let Some((p, m)) = after {
            if let Some(b) = self.bidders.get_mut(&(sale, p)) {
                b.leading = b.leading.saturating_add(m);
                fx.touched.bidders.push((sale, p));
            }
        }
    }

    fn create_sale(
        &mut self,
        stamp_ms: u64,
        spec: &SaleSpec,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        check_text("title", &spec.title, 1, 200)?;
        if spec.premium_bp > 10_000 {
            return Err(invalid("premium_bp"));
        }
        if let Some(sc) = &spec.soft_close {
            let bad_add = matches!(
                sc.rule,
                paddle_proto::auction::ExtendRule::Add { extend_ms: 0 }
            );
            if sc.window_ms == 0 || bad_add {
                return Err(invalid("soft_close"));
            }
        }
        if let SaleMode::Timed {
            opens_at_ms,
            closes_at_ms,
            ..
        } = spec.mode
        {
            if closes_at_ms <= opens_at_ms {
                return Err(invalid("mode.closes_at_ms"));
            }
        } else if spec.soft_close.is_some() {
            return Err(invalid("soft_close"));
        }
        let id = SaleId(self.counters.next_sale);
        self.counters.next_sale += 1;
        self.sales.push(
            id,
            Sale {
                id,
                spec: spec.clone(),
                lots: Vec::new(),
                next_paddle: 1,
                current_lot: None,
                created_at_ms: stamp_ms,
            },
        );
        fx.touched.counters = true;
        fx.touched.sales.push(id);
        fx.events.push(AuctionEvent::SaleCreated { sale: id });
        Ok(Accepted::SaleCreated { sale: id })
    }

    fn add_lots(
        &mut self,
        sale_id: SaleId,
        specs: &[LotSpec],
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let sale = self.sales.get(&sale_id).ok_or(RejectReason::UnknownSale)?;
        if specs.is_empty() || specs.len() > MAX_LOTS_PER_COMMAND {
            return Err(invalid("lots"));
        }
        if sale.lots.len() + specs.len() > MAX_LOTS_PER_SALE {
            return Err(invalid("lots"));
        }
        let live = sale.spec.mode == SaleMode::Live;
        for spec in specs {
            check_lot(spec, live)?;
        }
        let mode = sale.spec.mode;
        let first_position = sale.lots.len() as u32;
        let mut ids = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let id = LotId(self.counters.next_lot);
            self.counters.next_lot += 1;
            let position = first_position + i as u32;
            let (opens, end) = match mode {
                SaleMode::Timed {
                    opens_at_ms,
                    closes_at_ms,
                    stagger_ms,
                } => (
                    Some(opens_at_ms),
                    Some(closes_at_ms.saturating_add(stagger_ms.saturating_mul(position as u64))),
                ),
                SaleMode::Live => (None, None),
            };
            self.lots.push(
                id,
                Lot {
                    id,
                    sale: sale_id,
                    position,
                    spec: spec.clone(),
                    status: LotStatus::Scheduled,
                    opens_at_ms: opens,
                    scheduled_end_ms: end,
                    effective_end_ms: end,
                    book: Book::default(),
                    asking_increment: None,
                    result: None,
                    image: None,
                    bids: Vec::new(),
                },
            );
            fx.touched.lots.push(id);
            fx.touched.new_lots.push(id);
            ids.push(id);
        }
        let sale = self.sales.get_mut(&sale_id).expect("checked above");
        sale.lots.extend_from_slice(&ids);
        fx.touched.counters = true;
        fx.touched.sales.push(sale_id);
        fx.events.push(AuctionEvent::LotsAdded {
            sale: sale_id,
            lots: ids.clone(),
        });
        Ok(Accepted::LotsAdded {
            sale: sale_id,
            lots: ids,
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn register(
        &mut self,
        sale_id: SaleId,
        name: &str,
        paddle: Option<Paddle>,
        token_hash: &str,
        limit: Option<Money>,
        approved: bool,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let sale = self.sales.get(&sale_id).ok_or(RejectReason::UnknownSale)?;
        check_text("name", name, 1, 100)?;
        let hex_ok = token_hash.len() == 64
            && token_hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return Err(invalid("token_hash"));
        }
        if self.tokens.contains_key(token_hash) {
            return Err(RejectReason::Duplicate {
                what: "token".into(),
            });
        }
        if limit.is_some_and(|l| l > MAX_BID) {
            return Err(RejectReason::InvalidAmount);
        }
        let paddle = match paddle {
            Some(p) if p == Paddle::HOUSE || p.0 > MAX_PADDLE => return Err(invalid("paddle")),
            Some(p) if self.bidders.contains_key(&(sale_id, p)) => {
                return Err(RejectReason::Duplicate {
                    what: "paddle".into(),
                })
            }
            Some(p) => p,
            None => {
                let mut n = sale.next_paddle;
                while self.bidders.contains_key(&(sale_id, Paddle(n))) {
                    n += 1;
                }
                Paddle(n)
            }
        };
        let sale = self.sales.get_mut(&sale_id).expect("checked above");
        if paddle.0 >= sale.next_paddle {
            sale.next_paddle = paddle.0 + 1;
        }
        self.bidders.insert(
            (sale_id, paddle),
            Bidder {
                sale: sale_id,
                paddle,
                name: name.to_string(),
                token_hash: token_hash.to_string(),
                approved,
                limit,
                leading: Money::ZERO,
                won: Money::ZERO,
            },
        );
        self.tokens
            .insert(token_hash.to_string(), (sale_id, paddle));
        fx.touched.sales.push(sale_id);
        fx.touched.bidders.push((sale_id, paddle));
        fx.touched.tokens.push((sale_id, paddle));
        fx.events.push(AuctionEvent::BidderRegistered {
            sale: sale_id,
            paddle,
        });
        Ok(Accepted::BidderRegistered {
            sale: sale_id,
            paddle,
        })
    }

    pub(crate) fn bidder_mut(&mut self, sale: SaleId, paddle: Paddle) -> Outcome<&mut Bidder> {
        if !self.sales.contains_key(&sale) {
            return Err(RejectReason::UnknownSale);
        }
        self.bidders
            .get_mut(&(sale, paddle))
            .ok_or(RejectReason::NotRegistered)
    }

    fn approve(
        &mut self,
        sale: SaleId,
        paddle: Paddle,
        approved: bool,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let b = self.bidder_mut(sale, paddle)?;
        b.approved = approved;
        fx.touched.bidders.push((sale, paddle));
        fx.events.push(AuctionEvent::BidderApproved {
            sale,
            paddle,
            approved,
        });
        Ok(Accepted::BidderUpdated { sale, paddle })
    }

    fn set_limit(
        &mut self,
        sale: SaleId,
        paddle: Paddle,
        limit: Option<Money>,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if limit.is_some_and(|l| l > MAX_BID) {
            return Err(RejectReason::InvalidAmount);
        }
        let b = self.bidder_mut(sale, paddle)?;
        b.limit = limit;
        fx.touched.bidders.push((sale, paddle));
        Ok(Accepted::BidderUpdated { sale, paddle })
    }
}
