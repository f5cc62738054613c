//! The explicit outcome of every auction command.
//!
//! A page never waits on "Bidding…": each command gets either an accepted
//! value (for a bid: price, leader, reserve met, effective end) or a refusal
//! from a closed list of reasons, each with a stable snake_case code the UI
//! can switch on and a message a person can read. Refusals are values, not
//! errors: nothing went wrong, the rules said no.

use super::ids::{LotId, Paddle, SaleId};
use super::sale::LotStatus;
use crate::money::{Currency, Money};

dual_tagged_enum! {
    #[tag = "outcome"]
    /// What the auction engine answers to one command.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum AuctionReply {
        /// The command took effect.
        Accepted { accepted: Accepted },
        /// The command changed nothing, for `reason`.
        Rejected { reason: RejectReason, message: String },
    }
}

dual_tagged_enum! {
    #[tag = "type"]
    /// What an accepted command produced.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Accepted {
        /// A new sale and its number.
        SaleCreated { sale: SaleId },
        /// New lots, in catalogue order.
        LotsAdded { sale: SaleId, lots: Vec<LotId> },
        /// A registered bidder and their paddle number.
        BidderRegistered { sale: SaleId, paddle: Paddle },
        /// A bidder's approval or limit changed.
        BidderUpdated { sale: SaleId, paddle: Paddle },
        /// A bid counted. `leading` says whether the bidder now leads;
        /// `price` is `None` only for an absentee bid on a lot not yet open.
        Bid { lot: LotState, leading: bool },
        /// A lot changed (opened, closed, warned, sold, passed, ...).
        Lot { lot: LotState },
        /// A sale's schedule changed.
        SaleScheduled { sale: SaleId },
        /// A sale was paused, or resumed.
        SalePaused { sale: SaleId, paused: bool },
        /// A bidder's sign-in was issued or redeemed: their paddle.
        SignIn { sale: SaleId, paddle: Paddle },
        /// A sale's self-registration was opened or closed.
        SelfRegistrationSet { sale: SaleId, open: bool },
        /// A lot's introduction: `fresh` is false when the lot already had
        /// one (the command changed nothing).
        LotIntroduced { sale: SaleId, lot: LotId, fresh: bool },
        /// A sale's rival profiles were allowed or forbidden.
        RivalProfilesSet { sale: SaleId, on: bool },
        /// A sale's settlement terms were set.
        SettlementTermsSet { sale: SaleId },
        /// A consignor was created or edited: their id.
        ConsignorSaved { consignor: u32 },
        /// Lots' consignors were set.
        LotConsignorsSet { sale: SaleId, lots: u32 },
        /// A payment is on the invoice (`seq`: its place among the buyer's
        /// payments); a retry answers the same.
        PaymentRecorded { sale: SaleId, paddle: Paddle, seq: u32 },
        /// A lot's goods were released to its buyer.
        Collected { sale: SaleId, lot: LotId, paddle: Paddle },
    }
}

/// The public state of a lot right after a command: what every bidder may
/// see (never a max, never the reserve amount).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LotState {
    pub lot: LotId,
    pub status: LotStatus,
    /// Current price; `None` before the first counted bid.
    pub price: Option<Money>,
    pub leader: Option<Paddle>,
    /// Whether the lot has a reserve at all (the amount stays hidden).
    pub has_reserve: bool,
    pub reserve_met: bool,
    /// Timed lots: when bidding ends (moves with soft close).
    pub effective_end_ms: Option<u64>,
    /// The least the next bid from someone else must be.
    pub minimum_next: Money,
    /// Counted bids so far.
    pub bids: u32,
}

dual_tagged_enum! {
    #[tag = "code"]
    /// Why a command was refused. Closed: the UI can handle every case.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum RejectReason {
        /// No sale with that id.
        UnknownSale,
        /// No lot with that id in that sale.
        UnknownLot,
        /// The paddle is not registered in the sale.
        NotRegistered,
        /// Registered, but not approved to bid yet.
        NotApproved,
        /// The seller cannot bid on their own lot.
        SellersOwnLot,
        /// The bid would take the bidder's commitments past their limit.
        OverLimit { limit: Money },
        /// An amount is zero or out of range.
        InvalidAmount,
        /// Below the minimum next bid.
        TooLow { minimum: Money },
        /// The bidder leads and the bid does not raise their own max.
        NotAboveOwnMax,
        /// The lot is not open yet (timed: before `opens_at`).
        LotNotOpen { opens_at_ms: Option<u64> },
        /// Bidding on the lot is over (ended, sold, passed or withdrawn).
        LotClosed,
        /// Something with that identity already exists (paddle, token).
        Duplicate { what: String },
        /// A field is malformed (length, format, range).
        InvalidInput { field: String },
        /// The command needs a sale of the other mode (live vs timed).
        WrongMode,
        /// The lot is not in a status where this command makes sense.
        WrongStatus { status: LotStatus },
        /// The deadline has not passed yet (a close or open proposed early).
        NotDue { due_ms: u64 },
        /// Live: another lot is on the rostrum.
        AnotherLotOpen { lot: LotId },
        /// Live: a later lot has opened, so this one can no longer reopen.
        CannotReopen,
        /// No bid to sell to.
        NoBids,
        /// The best max is under the reserve: pass the lot instead.
        ReserveNotMet,
        /// Buy-now is not offered (none set, a bid came first, or a live sale).
        BuyNowUnavailable,
        /// A buy-now must be for exactly the buy-now price.
        BuyNowPriceMismatch { price: Money },
        /// No bid with that id from that paddle on that lot.
        UnknownBid,
        /// That bid was already retracted.
        AlreadyRetracted,
        /// The sale is paused: no bids until it resumes.
        SalePaused,
        /// The sale is not paused (a resume without a pause), or already is.
        PauseState { paused: bool },
        /// No live sign-in code matches: mistyped, used already, or replaced.
        UnknownSignIn,
        /// The sign-in code has expired: the desk issues a new one.
        SignInExpired,
        /// The bid came with a token the desk has replaced since.
        TokenReplaced,
        /// The sale takes registrations at the desk only.
        RegistrationClosed,
        /// The buyer won nothing in this sale: there is no invoice.
        NothingWon,
        /// The invoice still has a balance: goods stay until it is paid
        /// (or the operator overrides with a reason).
        BalanceDue { balance: Money },
        /// The lot's goods were already released.
        AlreadyCollected,
        /// No consignor with that id.
        UnknownConsignor,
    }
}

impl RejectReason {
    /// The stable snake_case code, as in the JSON `code` field.
    pub fn code(&self) -> &'static str {
        use RejectReason::*;
        match self {
            UnknownSale => "unknown_sale",
            UnknownLot => "unknown_lot",
            NotRegistered => "not_registered",
            NotApproved => "not_approved",
            SellersOwnLot => "sellers_own_lot",
            OverLimit { .. } => "over_limit",
            InvalidAmount => "invalid_amount",
            TooLow { .. } => "too_low",
            NotAboveOwnMax => "not_above_own_max",
            LotNotOpen { .. } => "lot_not_open",
            LotClosed => "lot_closed",
            Duplicate { .. } => "duplicate",
            InvalidInput { .. } => "invalid_input",
            WrongMode => "wrong_mode",
            WrongStatus { .. } => "wrong_status",
            NotDue { .. } => "not_due",
            AnotherLotOpen { .. } => "another_lot_open",
            CannotReopen => "cannot_reopen",
            NoBids => "no_bids",
            ReserveNotMet => "reserve_not_met",
            BuyNowUnavailable => "buy_now_unavailable",
            BuyNowPriceMismatch { .. } => "buy_now_price_mismatch",
            UnknownBid => "unknown_bid",
            AlreadyRetracted => "already_retracted",
            SalePaused => "sale_paused",
            PauseState { .. } => "pause_state",
            UnknownSignIn => "unknown_sign_in",
            SignInExpired => "sign_in_expired",
            TokenReplaced => "token_replaced",
            RegistrationClosed => "registration_closed",
            NothingWon => "nothing_won",
            BalanceDue { .. } => "balance_due",
            AlreadyCollected => "already_collected",
            UnknownConsignor => "unknown_consignor",
        }
    }

    /// A sentence for a person. Amounts are written in `currency` when the
    /// sale is known, else in minor units.
    pub fn message(&self, currency: Option<Currency>) -> String {
        use RejectReason::*;
        let amount = |m: &Money| match currency {
            Some(c) => format!("{} {}", c.format(*m), c.code()),
            None => format!("{} minor units", m.minor()),
        };
        match self {
            UnknownSale => "there is no such sale".into(),
            UnknownLot => "there is no such lot in this sale".into(),
            NotRegistered => "this paddle is not registered for the sale".into(),
            NotApproved => "this bidder is not approved to bid yet".into(),
            SellersOwnLot => "a seller cannot bid on their own lot".into(),
            OverLimit { limit } => {
                format!("this bid would go over your limit of {}", amount(limit))
            }
            InvalidAmount => "the amount is zero or out of range".into(),
            TooLow { minimum } => format!("the minimum bid is {}", amount(minimum)),
            NotAboveOwnMax => "you are leading; a new max must be above your current max".into(),
            LotNotOpen { .. } => "bidding on this lot has not opened yet".into(),
            LotClosed => "bidding on this lot is over".into(),
            Duplicate { what } => format!("that {what} is already taken"),
            InvalidInput { field } => format!("the field {field} is not valid"),
            WrongMode => "this command does not apply to this kind of sale".into(),
            WrongStatus { status } => format!("not possible while the lot is {status:?}"),
            NotDue { .. } => "it is not time yet".into(),
            AnotherLotOpen { lot } => format!("lot {lot} is still on the rostrum"),
            CannotReopen => "a later lot has opened; this lot can no longer be reopened".into(),
            NoBids => "there is no bid to sell to".into(),
            ReserveNotMet => "the reserve is not met; pass the lot instead".into(),
            BuyNowUnavailable => "buy-now is not available on this lot".into(),
            BuyNowPriceMismatch { price } => format!("the buy-now price is {}", amount(price)),
            UnknownBid => "there is no such bid".into(),
            AlreadyRetracted => "that bid was already retracted".into(),
            SalePaused => "the sale is paused: bids are refused until it resumes".into(),
            PauseState { paused: true } => "the sale is already paused".into(),
            PauseState { paused: false } => "the sale is not paused".into(),
            UnknownSignIn => {
                "no sign-in matches that code (mistyped, used already, or replaced at the desk)"
                    .into()
            }
            SignInExpired => "that sign-in code has expired; the desk can issue a new one".into(),
            TokenReplaced => {
                "this sign-in was replaced at the desk; sign in again with the new code".into()
            }
            RegistrationClosed => "this sale registers bidders at the desk only".into(),
            NothingWon => "this buyer won nothing in this sale: there is no invoice".into(),
            BalanceDue { balance } => {
                format!(
                    "the invoice has a balance of {}: take payment first",
                    amount(balance)
                )
            }
            AlreadyCollected => "this lot's goods were already released".into(),
            UnknownConsignor => "there is no such consignor".into(),
        }
    }
}

impl AuctionReply {
    /// A refusal with its message written in the sale's currency.
    pub fn rejected(reason: RejectReason, currency: Option<Currency>) -> AuctionReply {
        let message = reason.message(currency);
        AuctionReply::Rejected { reason, message }
    }

    /// True when the command took effect.
    pub fn is_accepted(&self) -> bool {
        matches!(self, AuctionReply::Accepted { .. })
    }

    /// The refusal reason, if refused.
    pub fn reason(&self) -> Option<&RejectReason> {
        match self {
            AuctionReply::Rejected { reason, .. } => Some(reason),
            AuctionReply::Accepted { .. } => None,
        }
    }

    /// As a `Result`, for callers that want `?`.
    pub fn into_result(self) -> Result<Accepted, RejectReason> {
        match self {
            AuctionReply::Accepted { accepted } => Ok(accepted),
            AuctionReply::Rejected { reason, .. } => Err(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, encode};

    #[test]
    fn refusals_read_well_and_round_trip() {
        let r = AuctionReply::rejected(
            RejectReason::TooLow {
                minimum: Money::from_minor(1300).unwrap(),
            },
            Some(Currency::EUR),
        );
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"outcome":"rejected","reason":{"code":"too_low","minimum":1300},"message":"the minimum bid is 13.00 EUR"}"#
        );
        assert_eq!(serde_json::from_str::<AuctionReply>(&json).unwrap(), r);
        assert_eq!(decode::<AuctionReply>(&encode(&r).unwrap()).unwrap(), r);
        assert_eq!(r.reason().unwrap().code(), "too_low");
    }

    #[test]
    fn every_code_matches_the_json_tag() {
        use RejectReason::*;
        let m = Money::ZERO;
        let all = [
            UnknownSale,
            UnknownLot,
            NotRegistered,
            NotApproved,
            SellersOwnLot,
            OverLimit { limit: m },
            InvalidAmount,
            TooLow { minimum: m },
            NotAboveOwnMax,
            LotNotOpen { opens_at_ms: None },
            LotClosed,
            Duplicate { what: "x".into() },
            InvalidInput { field: "x".into() },
            WrongMode,
            WrongStatus {
                status: LotStatus::Open,
            },
            NotDue { due_ms: 1 },
            AnotherLotOpen { lot: LotId(1) },
            CannotReopen,
            NoBids,
            ReserveNotMet,
            BuyNowUnavailable,
            BuyNowPriceMismatch { price: m },
            UnknownBid,
            AlreadyRetracted,
        ];
        for r in all {
            let v = serde_json::to_value(&r).unwrap();
            assert_eq!(v["code"], r.code());
            assert!(!r.message(None).is_empty());
            assert_eq!(decode::<RejectReason>(&encode(&r).unwrap()).unwrap(), r);
        }
    }

    #[test]
    fn an_accepted_bid_reads_well() {
        let r = AuctionReply::Accepted {
            accepted: Accepted::Bid {
                lot: LotState {
                    lot: LotId(3),
                    status: LotStatus::Open,
                    price: Some(Money::from_minor(100).unwrap()),
                    leader: Some(Paddle(4)),
                    has_reserve: false,
                    reserve_met: true,
                    effective_end_ms: Some(9),
                    minimum_next: Money::from_minor(105).unwrap(),
                    bids: 1,
                },
                leading: true,
            },
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["outcome"], "accepted");
        assert_eq!(v["accepted"]["type"], "bid");
        assert_eq!(v["accepted"]["lot"]["status"], "open");
        assert_eq!(serde_json::from_value::<AuctionReply>(v).unwrap(), r);
        assert_eq!(decode::<AuctionReply>(&encode(&r).unwrap()).unwrap(), r);
    }
}
