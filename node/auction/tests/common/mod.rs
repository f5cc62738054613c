//! A small harness over the pure engine for scenario and property tests.

#![allow(dead_code)]

use paddle_auction::{AuctionState, Effects};
use paddle_proto::auction::{
    Accepted, AuctionCommand, AuctionEvent, AuctionReply, BidId, ExtendRule, IncrementTable, LotId,
    LotSpec, LotState, Paddle, RejectReason, SaleId, SaleMode, SaleSpec, SoftClose,
};
use paddle_proto::{Currency, Money};

pub fn m(v: i64) -> Money {
    Money::from_minor(v).unwrap()
}

pub fn id(s: &str) -> BidId {
    BidId::new(s).unwrap()
}

/// An engine, its effects buffer, a log index, and every event so far.
#[derive(Default)]
pub struct H {
    pub st: AuctionState,
    pub fx: Effects,
    pub index: u64,
    /// Last stamp used: like consensus, stamps never go backwards.
    pub clock: u64,
    pub events: Vec<AuctionEvent>,
}

impl H {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn apply(&mut self, stamp: u64, cmd: AuctionCommand) -> AuctionReply {
        self.index += 1;
        self.clock = self.clock.max(stamp);
        let stamp = self.clock;
        self.fx.clear();
        let r = self.st.apply(self.index, stamp, &cmd, &mut self.fx);
        self.events.append(&mut self.fx.events);
        r
    }

    /// Events since the last call.
    pub fn take_events(&mut self) -> Vec<AuctionEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn sale(
        &mut self,
        mode: SaleMode,
        soft_close: Option<SoftClose>,
        premium_bp: u32,
    ) -> SaleId {
        let r = self.apply(
            0,
            AuctionCommand::CreateSale {
                spec: SaleSpec {
                    title: "Sale".into(),
                    currency: Currency::EUR,
                    mode,
                    increments: IncrementTable::ebay_2005(),
                    premium_bp,
                    soft_close,
                },
            },
        );
        match r.into_result() {
            Ok(Accepted::SaleCreated { sale }) => sale,
            other => panic!("create sale: {other:?}"),
        }
    }

    /// A timed sale open from 0, closing at `closes`, lots staggered by `stagger`.
    pub fn timed(&mut self, closes: u64, stagger: u64, soft: Option<(u64, ExtendRule)>) -> SaleId {
        let mode = SaleMode::Timed {
            opens_at_ms: 0,
            closes_at_ms: closes,
            stagger_ms: stagger,
        };
        let soft = soft.map(|(window_ms, rule)| SoftClose { window_ms, rule });
        self.sale(mode, soft, 2_000)
    }

    pub fn live(&mut self) -> SaleId {
        self.sale(SaleMode::Live, None, 2_000)
    }

    pub fn lot_with(&mut self, sale: SaleId, spec: LotSpec) -> LotId {
        match self
            .apply(
                0,
                AuctionCommand::AddLots {
                    sale,
                    lots: vec![spec],
                },
            )
            .into_result()
        {
            Ok(Accepted::LotsAdded { lots, .. }) => lots[0],
            other => panic!("add lot: {other:?}"),
        }
    }

    pub fn lot(
        &mut self,
        sale: SaleId,
        start: i64,
        reserve: Option<i64>,
        buy_now: Option<i64>,
    ) -> LotId {
        self.lot_with(
            sale,
            LotSpec {
                title: "Lot".into(),
                description: String::new(),
                seller: None,
                start: m(start),
                reserve: reserve.map(m),
                buy_now: buy_now.map(m),
            },
        )
    }

    pub fn bidder_with(&mut self, sale: SaleId, limit: Option<i64>, approved: bool) -> Paddle {
        let n = self.index;
        let r = self.apply(
            0,
            AuctionCommand::RegisterBidder {
                sale,
                name: format!("Bidder {n}"),
                paddle: None,
                token_hash: format!("{:064x}", n + 1),
                limit: limit.map(m),
                approved,
            },
        );
        match r.into_result() {
            Ok(Accepted::BidderRegistered { paddle, .. }) => paddle,
            other => panic!("register: {other:?}"),
        }
    }

    pub fn bidder(&mut self, sale: SaleId) -> Paddle {
        self.bidder_with(sale, None, true)
    }

    pub fn bid(
        &mut self,
        stamp: u64,
        sale: SaleId,
        lot: LotId,
        paddle: Paddle,
        bid_id: &str,
        max: i64,
    ) -> AuctionReply {
        self.apply(
            stamp,
            AuctionCommand::PlaceBid {
                sale,
                lot,
                paddle,
                bid_id: id(bid_id),
                max: m(max),
                buy_now: false,
            },
        )
    }

    /// A floor bid one ms after the last command.
    pub fn floor(
        &mut self,
        sale: SaleId,
        lot: LotId,
        paddle: Option<Paddle>,
        bid_id: &str,
        amount: Option<i64>,
    ) -> AuctionReply {
        self.apply(
            self.clock + 1,
            AuctionCommand::FloorBid {
                sale,
                lot,
                paddle,
                bid_id: id(bid_id),
                amount: amount.map(m),
            },
        )
    }

    pub fn state(&self, lot: LotId) -> LotState {
        self.st.lot_state(lot).unwrap()
    }
}

/// The lot state and `leading` of an accepted bid, or panic.
pub fn accepted_bid(r: &AuctionReply) -> (LotState, bool) {
    match r {
        AuctionReply::Accepted {
            accepted: Accepted::Bid { lot, leading },
        } => (*lot, *leading),
        other => panic!("expected an accepted bid, got {other:?}"),
    }
}

/// The lot state of an accepted lot command, or panic.
pub fn accepted_lot(r: &AuctionReply) -> LotState {
    match r {
        AuctionReply::Accepted {
            accepted: Accepted::Lot { lot },
        } => *lot,
        other => panic!("expected an accepted lot command, got {other:?}"),
    }
}

/// The refusal reason, or panic.
pub fn reason(r: &AuctionReply) -> RejectReason {
    r.reason()
        .cloned()
        .unwrap_or_else(|| panic!("expected a refusal, got {r:?}"))
}
