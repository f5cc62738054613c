//! What can be asked of the auction state machine: the payload of
//! `Command::Auction` in the Raft log.
//!
//! Commands say *what*, never *who may*: the API checks roles (bidder,
//! clerk, operator) and authenticates bidders before proposing. They never
//! carry a new sale, lot or paddle number: those are assigned during apply.

use super::ids::{BidId, LotId, Paddle, SaleId};
use super::image::LotImage;
use super::sale::{LotSpec, SaleSpec};
use super::settle::{LotConsignor, PaymentMethod, SettlementTerms};
use crate::money::Money;

dual_tagged_enum! {
    #[tag = "type"]
    /// A command for the auction state machine.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum AuctionCommand {
        /// Operator: create a sale. Its id is the next sale number.
        CreateSale { spec: SaleSpec },
        /// Operator: append lots to a sale's catalogue, in order (at most 1 000
        /// per command). Lot ids are the next lot numbers.
        AddLots { sale: SaleId, lots: Vec<LotSpec> },
        /// API: register a bidder. `paddle` asks for a number (refused when
        /// taken); `None` takes the next free one. `token_hash` is the SHA-256
        /// hex of the bidder's bearer token, computed by the API before
        /// proposing, so every node can authenticate the bidder without any
        /// node ever storing the token itself.
        RegisterBidder {
            sale: SaleId,
            name: String,
            paddle: Option<Paddle>,
            token_hash: String,
            limit: Option<Money>,
            approved: bool,
        },
        /// Operator: approve (or un-approve) a registered bidder.
        ApproveBidder { sale: SaleId, paddle: Paddle, approved: bool },
        /// Operator: set or clear a bidder's spending limit: the most their
        /// won hammers plus leading maxes may add up to in this sale.
        SetLimit { sale: SaleId, paddle: Paddle, limit: Option<Money> },
        /// Bidder: a max (proxy) bid. A plain bid is a max equal to its
        /// amount. With `buy_now`, `max` must equal the lot's buy-now price.
        /// On a live lot that has not opened yet it is an absentee bid.
        PlaceBid {
            sale: SaleId,
            lot: LotId,
            paddle: Paddle,
            bid_id: BidId,
            max: Money,
            buy_now: bool,
        },
        /// Clerk (live) or the leader's timer (timed, once `opens_at` passed):
        /// open a lot for bidding.
        OpenLot { sale: SaleId, lot: LotId },
        /// The leader's timer: a timed lot's effective end has passed. Apply
        /// re-checks against the entry's stamp; too early is a refused no-op.
        CloseLot { sale: SaleId, lot: LotId },
        /// Clerk: override the asking increment of a live lot (`None`: back
        /// to the sale's table).
        SetAskingIncrement { sale: SaleId, lot: LotId, increment: Option<Money> },
        /// Clerk: a bid from the room, at `amount` or, when `None`, at the
        /// asking price. `paddle` `None` is the house floor paddle.
        FloorBid {
            sale: SaleId,
            lot: LotId,
            paddle: Option<Paddle>,
            bid_id: BidId,
            amount: Option<Money>,
        },
        /// Clerk: "fair warning" — last call before the hammer.
        FairWarning { sale: SaleId, lot: LotId },
        /// Clerk: bring the hammer down; the lot is sold to the leader.
        Sell { sale: SaleId, lot: LotId },
        /// Clerk: pass the lot (no sale).
        Pass { sale: SaleId, lot: LotId },
        /// Clerk: reopen a sold or passed live lot (a missed bid in the room);
        /// allowed until another lot opens.
        Reopen { sale: SaleId, lot: LotId },
        /// Operator or clerk: withdraw a lot that has not finished.
        WithdrawLot { sale: SaleId, lot: LotId },
        /// Operator: retract one bid (by its bidder and bid id). The lot's
        /// price and leader are recomputed from the remaining maxes.
        RetractBid { sale: SaleId, lot: LotId, paddle: Paddle, bid_id: BidId },
        /// Operator: move a timed sale's times (same meaning as in its
        /// `SaleMode::Timed`) while none of its lots has opened yet.
        ScheduleSale { sale: SaleId, opens_at_ms: u64, closes_at_ms: u64, stagger_ms: u64 },
        /// Operator: set (or, with `None`, remove) a lot's photo.
        SetLotImage { sale: SaleId, lot: LotId, image: Option<LotImage> },
        /// Operator: pause a sale. Every bid is refused (`sale_paused`) and
        /// the clock of every unfinished lot stands still until `ResumeSale`.
        PauseSale { sale: SaleId, reason: String },
        /// Operator: resume a paused sale; every unfinished lot gets back the
        /// time it had left when the sale was paused (its times move on by
        /// the pause's length, decided by the two commands' stamps).
        ResumeSale { sale: SaleId },
        /// Operator: give one running timed lot `by_ms` more.
        ExtendLot { sale: SaleId, lot: LotId, by_ms: u64 },
        /// Clerk: a maximum left with the office, placed for `paddle`. Before
        /// a live lot opens it waits and counts at open with the other
        /// absentee maximums, earliest first.
        CommissionBid { sale: SaleId, lot: LotId, paddle: Paddle, bid_id: BidId, max: Money },
        /// Clerk: a bid relayed on phone line `line` for `paddle`, at
        /// `amount` or, when `None`, at the asking price (live sales).
        PhoneBid {
            sale: SaleId,
            lot: LotId,
            paddle: Paddle,
            bid_id: BidId,
            amount: Option<Money>,
            line: u16,
        },
        /// Desk: register a bidder in person, with the desk's details and a
        /// sign-in code (its hash) the bidder redeems on their phone. The
        /// token hash is of a token nobody is shown: the bidder's own comes
        /// from redeeming the code.
        DeskRegister {
            sale: SaleId,
            name: String,
            paddle: Option<Paddle>,
            token_hash: String,
            limit: Option<Money>,
            approved: bool,
            details: DeskDetails,
            code_hash: String,
        },
        /// Desk: change a bidder's desk details (contact, ID checked, deposit).
        SetDeskDetails { sale: SaleId, paddle: Paddle, details: DeskDetails },
        /// Desk: a lost phone. The bidder's token is replaced by `token_hash`
        /// (of a token nobody is shown), so the old one is refused from this
        /// entry on, and a new sign-in code (`code_hash`) is issued.
        ReissueSignIn { sale: SaleId, paddle: Paddle, token_hash: String, code_hash: String },
        /// A bidder redeems a sign-in code: their token becomes `token_hash`
        /// (of the token the redeeming node hands them) and the code is spent.
        RedeemSignIn { sale: SaleId, code_hash: String, token_hash: String },
        /// Operator: change a lot's terms before it opens (no bids yet).
        EditLot { sale: SaleId, lot: LotId, spec: LotSpec },
        /// Operator: retract one bid, saying why (kept with the bid).
        RetractBidBecause { sale: SaleId, lot: LotId, paddle: Paddle, bid_id: BidId, reason: String },
        /// Bidder: a `PlaceBid` with the tag of the token it came with (the
        /// first 8 bytes of its hash), so a bid sent with a token the desk
        /// replaced in an earlier entry is refused (`token_replaced`).
        SignedBid {
            sale: SaleId,
            lot: LotId,
            paddle: Paddle,
            bid_id: BidId,
            max: Money,
            buy_now: bool,
            token_tag: u64,
        },
        /// Anyone: register for a sale on one's own (not approved until the
        /// desk approves). Refused with `registration_closed` once staff
        /// have closed the sale's self-registration.
        SelfRegister { sale: SaleId, name: String, token_hash: String },
        /// Staff: open or close a sale's self-registration (closed: only the
        /// desk registers bidders).
        SetSelfRegistration { sale: SaleId, open: bool },
        /// The leader's assistant: the words that introduce a lot that has
        /// opened, the same on every screen (`source`: `model` or
        /// `template`). Idempotent per lot: a lot opens once, and only the
        /// first introduction of it counts; later ones change nothing.
        IntroduceLot { sale: SaleId, lot: LotId, text: String, source: String },
        /// Staff: allow (default) or forbid outbid bidders asking about the
        /// style of the paddle that leads them.
        SetRivalProfiles { sale: SaleId, on: bool },
        /// Operator: set a sale's settlement terms (tax, commission, the
        /// house's name and address for documents).
        SetSettlementTerms { sale: SaleId, terms: SettlementTerms },
        /// Operator: a new consignor (id assigned at apply). A name already
        /// taken is refused `duplicate`, which also makes a retry harmless.
        CreateConsignor { name: String, contact: String, commission_bp: Option<u32> },
        /// Operator: change a consignor's details.
        EditConsignor { id: u32, name: String, contact: String, commission_bp: Option<u32> },
        /// Operator: name the consignor of lots (`None` clears it).
        SetLotConsignors { sale: SaleId, lots: Vec<LotConsignor> },
        /// Clerk (refunds, negative amounts: operator, with a reason): a
        /// payment on a buyer's invoice. Idempotent by `payment_id` within
        /// the sale: the same id with the same fields changes nothing.
        RecordPayment {
            sale: SaleId,
            paddle: Paddle,
            payment_id: String,
            amount: i64,
            method: PaymentMethod,
            reference: String,
            reason: String,
        },
        /// Clerk: a sold lot's goods released to its buyer. Refused while
        /// their invoice has a balance, unless the operator gives
        /// `override_reason`.
        MarkCollected { sale: SaleId, lot: LotId, override_reason: Option<String> },
    }
}

/// What the registration desk knows of a bidder beyond their name: seen by
/// staff only, never in public events or the public bid history.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeskDetails {
    /// Phone number as the desk wrote it (up to 40 characters).
    pub phone: String,
    /// E-mail address (up to 200 characters).
    pub email: String,
    /// The desk saw an identity document.
    pub id_checked: bool,
    /// Free text about a deposit taken (up to 500 characters).
    pub deposit_note: String,
}

impl AuctionCommand {
    /// The sale a command is about, when it is about an existing one: lets
    /// the node route and rate-limit without matching every variant.
    pub fn sale(&self) -> Option<SaleId> {
        use AuctionCommand::*;
        match self {
            CreateSale { .. } => None,
            AddLots { sale, .. }
            | RegisterBidder { sale, .. }
            | ApproveBidder { sale, .. }
            | SetLimit { sale, .. }
            | PlaceBid { sale, .. }
            | OpenLot { sale, .. }
            | CloseLot { sale, .. }
            | SetAskingIncrement { sale, .. }
            | FloorBid { sale, .. }
            | FairWarning { sale, .. }
            | Sell { sale, .. }
            | Pass { sale, .. }
            | Reopen { sale, .. }
            | WithdrawLot { sale, .. }
            | RetractBid { sale, .. }
            | SetLotImage { sale, .. }
            | ScheduleSale { sale, .. }
            | PauseSale { sale, .. }
            | ResumeSale { sale }
            | ExtendLot { sale, .. }
            | CommissionBid { sale, .. }
            | PhoneBid { sale, .. }
            | DeskRegister { sale, .. }
            | SetDeskDetails { sale, .. }
            | ReissueSignIn { sale, .. }
            | RedeemSignIn { sale, .. }
            | EditLot { sale, .. }
            | RetractBidBecause { sale, .. }
            | SignedBid { sale, .. }
            | SelfRegister { sale, .. }
            | SetSelfRegistration { sale, .. }
            | IntroduceLot { sale, .. }
            | SetRivalProfiles { sale, .. }
            | SetSettlementTerms { sale, .. }
            | SetLotConsignors { sale, .. }
            | RecordPayment { sale, .. }
            | MarkCollected { sale, .. } => Some(*sale),
            CreateConsignor { .. } | EditConsignor { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, encode};

    #[test]
    fn a_bid_reads_well_in_json_and_round_trips_both_ways() {
        let bid = AuctionCommand::PlaceBid {
            sale: SaleId(1),
            lot: LotId(2),
            paddle: Paddle(7),
            bid_id: BidId::new("b-1").unwrap(),
            max: Money::from_minor(1250).unwrap(),
            buy_now: false,
        };
        let json = serde_json::to_string(&bid).unwrap();
        assert_eq!(
            json,
            r#"{"type":"place_bid","sale":1,"lot":2,"paddle":7,"bid_id":"b-1","max":1250,"buy_now":false}"#
        );
        assert_eq!(serde_json::from_str::<AuctionCommand>(&json).unwrap(), bid);
        assert_eq!(
            decode::<AuctionCommand>(&encode(&bid).unwrap()).unwrap(),
            bid
        );
        assert_eq!(bid.sale(), Some(SaleId(1)));
        let bad = json.replace("b-1", "b 1");
        assert!(serde_json::from_str::<AuctionCommand>(&bad).is_err());
    }

    #[test]
    fn commands_travel_in_the_log() {
        use crate::command::{Command, Proposal};
        let p = Proposal {
            stamp_ms: 5,
            commands: vec![Command::Auction(AuctionCommand::Sell {
                sale: SaleId(1),
                lot: LotId(9),
            })],
        };
        assert_eq!(decode::<Proposal>(&encode(&p).unwrap()).unwrap(), p);
    }
}
