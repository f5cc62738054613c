//! What happened, for everyone watching a sale.
//!
//! Events are produced while a command is applied, stored per sale in the
//! replicated state (so any node can replay "every event of sale S since
//! index N"), and pushed to browsers only after the write that caused them
//! is committed. They carry public facts only: never a max, never a reserve.

use serde::{Deserialize, Serialize};

use super::ids::{BidId, LotId, Paddle, SaleId};
use super::sale::{LotStatus, PassReason};
use super::view::BidKind;
use crate::money::Money;

dual_tagged_enum! {
    #[tag = "type"]
    /// One thing that happened in a sale.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum AuctionEvent {
        /// A sale exists.
        SaleCreated { sale: SaleId },
        /// Lots were added to the catalogue.
        LotsAdded { sale: SaleId, lots: Vec<LotId> },
        /// A paddle joined the sale (names stay private).
        BidderRegistered { sale: SaleId, paddle: Paddle },
        /// A paddle may (or may no longer) bid.
        BidderApproved { sale: SaleId, paddle: Paddle, approved: bool },
        /// Bidding opened. For a live lot, absentee maxes are already applied.
        LotOpened {
            sale: SaleId,
            lot: LotId,
            price: Option<Money>,
            leader: Option<Paddle>,
            minimum_next: Money,
            effective_end_ms: Option<u64>,
        },
        /// A bid counted. `shown` is what the history shows for it (its max
        /// only once someone beat it, else the price); `kind` says where it
        /// came from (the clerk flags internet bids).
        BidAccepted {
            sale: SaleId,
            lot: LotId,
            paddle: Paddle,
            kind: BidKind,
            shown: Money,
            price: Money,
            leader: Paddle,
            reserve_met: bool,
            minimum_next: Money,
            effective_end_ms: Option<u64>,
            status: LotStatus,
        },
        /// `paddle` led and no longer does: tell them (and only them) to
        /// think again.
        Outbid { sale: SaleId, lot: LotId, paddle: Paddle, price: Money, minimum_next: Money },
        /// Soft close moved the deadline.
        LotExtended { sale: SaleId, lot: LotId, previous_end_ms: u64, effective_end_ms: u64 },
        /// The clerk overrode (or restored) the asking increment.
        AskingIncrementSet { sale: SaleId, lot: LotId, increment: Option<Money>, minimum_next: Money },
        /// Last call.
        FairWarning { sale: SaleId, lot: LotId, price: Option<Money> },
        /// A bid during fair warning put the lot back to open.
        WarningLifted { sale: SaleId, lot: LotId },
        /// Hammer down. `total` = `hammer` + `premium`.
        Sold {
            sale: SaleId,
            lot: LotId,
            paddle: Paddle,
            hammer: Money,
            premium: Money,
            total: Money,
            buy_now: bool,
        },
        /// No sale.
        Passed { sale: SaleId, lot: LotId, reason: PassReason },
        /// The clerk reopened a sold or passed lot.
        Reopened { sale: SaleId, lot: LotId, price: Option<Money>, leader: Option<Paddle> },
        /// The lot was withdrawn.
        Withdrawn { sale: SaleId, lot: LotId },
        /// The operator retracted a bid; price and leader were recomputed.
        Retracted {
            sale: SaleId,
            lot: LotId,
            paddle: Paddle,
            bid_id: BidId,
            price: Option<Money>,
            leader: Option<Paddle>,
            reserve_met: bool,
            minimum_next: Money,
        },
        /// A timed sale's times moved before it started: lot `i` now opens
        /// at `opens_at_ms` and ends at `closes_at_ms + i × stagger_ms`.
        SaleScheduled { sale: SaleId, opens_at_ms: u64, closes_at_ms: u64, stagger_ms: u64 },
        /// The lot's photo changed: `image` is where to fetch the new one
        /// (`None`: it has none any more).
        LotImageSet { sale: SaleId, lot: LotId, image: Option<String> },
        /// The operator paused the sale: bids are refused and every
        /// unfinished lot's clock stands still from `since_ms` (the stamp).
        SalePaused { sale: SaleId, reason: String, since_ms: u64 },
        /// The sale runs again after `paused_ms`; each unfinished timed
        /// lot's new end follows as a `lot_extended_by` (reason `resume`).
        SaleResumed { sale: SaleId, paused_ms: u64 },
        /// A lot's end moved for a reason other than soft close: `operator`
        /// (an extension) or `resume` (the time a pause took, given back).
        LotExtendedBy {
            sale: SaleId,
            lot: LotId,
            previous_end_ms: u64,
            effective_end_ms: u64,
            reason: String,
        },
        /// For staff only (never sent to anonymous or bidder connections):
        /// bid `seq` of the lot came in on phone line `line`.
        PhoneLine { sale: SaleId, lot: LotId, seq: u32, paddle: Paddle, line: u16 },
        /// A lot's terms were edited before it opened: fetch it again.
        LotEdited { sale: SaleId, lot: LotId },
        /// The bidder's token was replaced (a sign-in code redeemed, or a
        /// reissue at the desk): the old one is refused from here on.
        SignInReplaced { sale: SaleId, paddle: Paddle },
        /// Staff opened or closed the sale's self-registration.
        SelfRegistrationSet { sale: SaleId, open: bool },
        /// The assistant's introduction of a lot that opened: the same
        /// words on every node, to show and to speak (`source`: `model` or
        /// `template`).
        LotIntroduced { sale: SaleId, lot: LotId, text: String, source: String },
        /// Staff allowed or forbade rival profiles in the sale.
        RivalProfilesSet { sale: SaleId, on: bool },
    }
}

impl AuctionEvent {
    /// The sale the event belongs to: the key of its stream.
    pub fn sale(&self) -> SaleId {
        use AuctionEvent::*;
        match self {
            SaleCreated { sale }
            | LotsAdded { sale, .. }
            | BidderRegistered { sale, .. }
            | BidderApproved { sale, .. }
            | LotOpened { sale, .. }
            | BidAccepted { sale, .. }
            | Outbid { sale, .. }
            | LotExtended { sale, .. }
            | AskingIncrementSet { sale, .. }
            | FairWarning { sale, .. }
            | WarningLifted { sale, .. }
            | Sold { sale, .. }
            | Passed { sale, .. }
            | Reopened { sale, .. }
            | Withdrawn { sale, .. }
            | Retracted { sale, .. }
            | LotImageSet { sale, .. }
            | SaleScheduled { sale, .. }
            | SalePaused { sale, .. }
            | SaleResumed { sale, .. }
            | LotExtendedBy { sale, .. }
            | PhoneLine { sale, .. }
            | LotEdited { sale, .. }
            | SignInReplaced { sale, .. }
            | SelfRegistrationSet { sale, .. }
            | LotIntroduced { sale, .. }
            | RivalProfilesSet { sale, .. } => *sale,
        }
    }
}

/// An event with its place in the log: clients resume a stream with
/// `since=<index>` and order by `(index, seq)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventRecord {
    /// Raft log index of the command that produced it.
    pub index: u64,
    /// The leader's stamp of that command (ms).
    pub stamp_ms: u64,
    /// Position among the events of the same command.
    pub seq: u32,
    pub event: AuctionEvent,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, encode};

    #[test]
    fn records_read_well_and_round_trip() {
        let r = EventRecord {
            index: 12,
            stamp_ms: 1000,
            seq: 0,
            event: AuctionEvent::Passed {
                sale: SaleId(1),
                lot: LotId(2),
                reason: PassReason::ReserveNotMet,
            },
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"index":12,"stamp_ms":1000,"seq":0,"event":{"type":"passed","sale":1,"lot":2,"reason":"reserve_not_met"}}"#
        );
        assert_eq!(serde_json::from_str::<EventRecord>(&json).unwrap(), r);
        assert_eq!(decode::<EventRecord>(&encode(&r).unwrap()).unwrap(), r);
        assert_eq!(r.event.sale(), SaleId(1));
    }
}
