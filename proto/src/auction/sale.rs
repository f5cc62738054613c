//! What a sale and its lots are made of: the terms set when they are created.

use serde::{Deserialize, Serialize};

use super::ids::Paddle;
use crate::money::{Currency, Money};

/// Everything an operator decides when creating a sale. The engine validates
/// it on apply and refuses nonsense (zero increments, a premium over 100 %)
/// with a reason, so a bad form never reaches the log as a half-made sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleSpec {
    /// Shown to bidders. 1..=200 characters.
    pub title: String,
    /// Every amount of the sale is in this currency's minor units.
    pub currency: Currency,
    /// Timed (deadlines) or live (a clerk runs the rostrum).
    pub mode: SaleMode,
    /// Price bands → bid increment.
    pub increments: IncrementTable,
    /// Buyer's premium in basis points of the hammer (2 500 = 25 %).
    /// At most 10 000.
    pub premium_bp: u32,
    /// Anti-sniping rule for timed sales; `None` for a hard close.
    pub soft_close: Option<SoftClose>,
}

dual_tagged_enum! {
    #[tag = "type", deny_unknown_fields]
    /// How lots of a sale open and close.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SaleMode {
        /// Lots open at `opens_at_ms` and close on their own deadline: lot
        /// `i` (0-based catalogue position) at `closes_at_ms + i ×
        /// stagger_ms`, so bidders can follow lots one by one at the end
        /// instead of all closing in the same second.
        Timed {
            opens_at_ms: u64,
            closes_at_ms: u64,
            stagger_ms: u64,
        },
        /// A clerk opens, warns, sells and passes lots one at a time; no
        /// deadlines.
        Live,
    }
}

/// Anti-sniping: a bid inside the last `window_ms` that changes the price or
/// the leader pushes the deadline out, so others get a chance to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SoftClose {
    /// Length of the closing window W in ms (> 0).
    pub window_ms: u64,
    /// How a deadline moves.
    pub rule: ExtendRule,
}

dual_tagged_enum! {
    #[tag = "type", deny_unknown_fields]
    /// How a deadline moves when a bid lands inside the window.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ExtendRule {
        /// The lot ends W after the bid (the clock is "reset to W"); never
        /// earlier than it already ended. Bounded: a lot always ends W after
        /// its last price change.
        ResetToWindow,
        /// The deadline moves by a fixed `extend_ms` (> 0) per qualifying bid.
        Add { extend_ms: u64 },
    }
}

/// One price band: from `from` (inclusive) up to the next band's `from`, a bid
/// must beat the current price by `increment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncrementBand {
    /// Lower bound of the band (inclusive).
    pub from: Money,
    /// Increment inside the band (> 0).
    pub increment: Money,
}

/// Price bands → increment, validated: it starts at zero, bands ascend, and
/// increments never shrink from one band to the next. That last rule keeps
/// `price + increment(price)` monotone, which is what makes "the price never
/// falls" true whatever order maxes arrive in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<IncrementBand>", into = "Vec<IncrementBand>")]
pub struct IncrementTable {
    bands: Vec<IncrementBand>,
}

/// Why a list of bands is not an increment table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncrementTableError {
    #[error("an increment table needs at least one band and at most 64")]
    BandCount,
    #[error("the first band must start at 0")]
    FirstBandNotZero,
    #[error("band starts must strictly ascend")]
    NotAscending,
    #[error("increments must be positive and never shrink from one band to the next")]
    BadIncrement,
}

/// Names accepted by [`IncrementTable::named`] (and `paddle replay
/// --increments`).
pub const INCREMENT_TABLE_NAMES: &[&str] = &["ebay-2005"];

impl IncrementTable {
    /// Build a table from bands, refusing anything that could make a price
    /// fall or a minimum stand still.
    pub fn new(bands: Vec<IncrementBand>) -> Result<Self, IncrementTableError> {
        if bands.is_empty() || bands.len() > 64 {
            return Err(IncrementTableError::BandCount);
        }
        if !bands[0].from.is_zero() {
            return Err(IncrementTableError::FirstBandNotZero);
        }
        if bands.windows(2).any(|w| w[0].from >= w[1].from) {
            return Err(IncrementTableError::NotAscending);
        }
        if bands.iter().any(|b| b.increment.is_zero())
            || bands.windows(2).any(|w| w[1].increment < w[0].increment)
        {
            return Err(IncrementTableError::BadIncrement);
        }
        Ok(IncrementTable { bands })
    }

    /// One increment at every price.
    pub fn flat(increment: Money) -> Result<Self, IncrementTableError> {
        Self::new(vec![IncrementBand {
            from: Money::ZERO,
            increment,
        }])
    }

    /// The historical eBay US table (2005), in cents: the one the Xbox bid
    /// logs were made under, and a sensible default for 2-decimal currencies.
    pub fn ebay_2005() -> Self {
        const T: [(i64, i64); 10] = [
            (0, 5),
            (100, 25),
            (500, 50),
            (2_500, 100),
            (10_000, 250),
            (25_000, 500),
            (50_000, 1_000),
            (100_000, 2_500),
            (250_000, 5_000),
            (500_000, 10_000),
        ];
        let bands = T
            .iter()
            .map(|&(from, inc)| IncrementBand {
                from: Money::from_minor(from).expect("constant in range"),
                increment: Money::from_minor(inc).expect("constant in range"),
            })
            .collect();
        Self::new(bands).expect("the eBay 2005 table is valid")
    }

    /// A table by name (see [`INCREMENT_TABLE_NAMES`]).
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "ebay-2005" => Some(Self::ebay_2005()),
            _ => None,
        }
    }

    /// The bands, lowest first.
    pub fn bands(&self) -> &[IncrementBand] {
        &self.bands
    }

    /// The increment of the band `price` is in.
    pub fn increment_at(&self, price: Money) -> Money {
        let mut inc = self.bands[0].increment;
        for b in &self.bands[1..] {
            if b.from > price {
                break;
            }
            inc = b.increment;
        }
        inc
    }
}

impl TryFrom<Vec<IncrementBand>> for IncrementTable {
    type Error = IncrementTableError;
    fn try_from(bands: Vec<IncrementBand>) -> Result<Self, Self::Error> {
        Self::new(bands)
    }
}

impl From<IncrementTable> for Vec<IncrementBand> {
    fn from(t: IncrementTable) -> Self {
        t.bands
    }
}

/// A lot as the seller and operator describe it when adding it to a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LotSpec {
    /// Shown to bidders. 1..=200 characters.
    pub title: String,
    /// Catalogue text. At most 4 000 characters.
    pub description: String,
    /// The consignor's paddle in this sale, if they are also registered as a
    /// bidder: their bids on this lot are refused (no shill bidding).
    pub seller: Option<Paddle>,
    /// The first bid must be at least this (≥ 1 minor unit).
    pub start: Money,
    /// Hidden reserve: below it the lot does not sell. ≥ `start`.
    pub reserve: Option<Money>,
    /// Buy-now price, offered until the first bid (timed sales only).
    /// ≥ `start` and ≥ `reserve`.
    pub buy_now: Option<Money>,
}

/// Where a lot is in its life. Timed lots go scheduled → open → sold or
/// passed; live lots also visit fair warning, and may be reopened by the clerk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LotStatus {
    /// In the catalogue, not open yet (live absentee bids may wait on it).
    Scheduled,
    /// Taking bids.
    Open,
    /// Live: last call; a new bid puts it back to open.
    FairWarning,
    /// Hammer down (or bought now).
    Sold,
    /// Closed without a sale.
    Passed,
    /// Taken out of the sale.
    Withdrawn,
}

impl LotStatus {
    /// True once nothing more can be bid (sold, passed, withdrawn). A live
    /// lot may still be reopened by the clerk.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            LotStatus::Sold | LotStatus::Passed | LotStatus::Withdrawn
        )
    }

    /// True while bids move the price (open or fair warning).
    pub fn is_biddable(self) -> bool {
        matches!(self, LotStatus::Open | LotStatus::FairWarning)
    }
}

/// Why a lot did not sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PassReason {
    /// Nobody bid.
    NoBids,
    /// The best max stayed under the hidden reserve.
    ReserveNotMet,
    /// The clerk passed it on the rostrum.
    Clerk,
}

/// A sale's phase as a whole, for listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SaleStatus {
    /// No lot has opened yet.
    Scheduled,
    /// Some lot is open or still to come after one opened.
    Running,
    /// Every lot is sold, passed or withdrawn (and there is at least one).
    Closed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_clients_send_refuses_unknown_fields() {
        let timed = r#"{"type":"timed","opens_at_ms":1,"closes_at_ms":2,"stagger_ms":0}"#;
        assert!(serde_json::from_str::<SaleMode>(timed).is_ok());
        let extra = r#"{"type":"timed","opens_at_ms":1,"closes_at_ms":2,"stagger_ms":0,"x":1}"#;
        assert!(serde_json::from_str::<SaleMode>(extra).is_err());
        let soft = r#"{"window_ms":5,"rule":{"type":"add","extend_ms":1,"by":2}}"#;
        assert!(serde_json::from_str::<SoftClose>(soft).is_err());
        let soft = r#"{"window_ms":5,"rule":{"type":"reset_to_window"},"x":0}"#;
        assert!(serde_json::from_str::<SoftClose>(soft).is_err());
    }

    fn m(v: i64) -> Money {
        Money::from_minor(v).unwrap()
    }

    #[test]
    fn ebay_bands() {
        let t = IncrementTable::ebay_2005();
        assert_eq!(t.increment_at(m(0)), m(5));
        assert_eq!(t.increment_at(m(99)), m(5));
        assert_eq!(t.increment_at(m(100)), m(25));
        assert_eq!(t.increment_at(m(2_499)), m(50));
        assert_eq!(t.increment_at(m(2_500)), m(100));
        assert_eq!(t.increment_at(m(11_750)), m(250));
        assert_eq!(t.increment_at(m(499_999)), m(5_000));
        assert_eq!(t.increment_at(m(10_000_000)), m(10_000));
        assert_eq!(IncrementTable::named("ebay-2005"), Some(t));
        assert_eq!(IncrementTable::named("nope"), None);
    }

    #[test]
    fn bad_tables_are_refused_even_when_deserialized() {
        let b = |from, increment| IncrementBand {
            from: m(from),
            increment: m(increment),
        };
        use IncrementTableError::*;
        assert_eq!(IncrementTable::new(vec![]), Err(BandCount));
        assert_eq!(IncrementTable::new(vec![b(1, 5)]), Err(FirstBandNotZero));
        assert_eq!(
            IncrementTable::new(vec![b(0, 5), b(0, 6)]),
            Err(NotAscending)
        );
        assert_eq!(IncrementTable::new(vec![b(0, 0)]), Err(BadIncrement));
        assert_eq!(
            IncrementTable::new(vec![b(0, 5), b(100, 4)]),
            Err(BadIncrement)
        );
        let json = r#"[{"from":0,"increment":5},{"from":100,"increment":1}]"#;
        assert!(serde_json::from_str::<IncrementTable>(json).is_err());
    }

    #[test]
    fn modes_read_well_in_json_and_round_trip_in_bincode() {
        let mode = SaleMode::Timed {
            opens_at_ms: 1,
            closes_at_ms: 2,
            stagger_ms: 3,
        };
        let json = serde_json::to_string(&mode).unwrap();
        assert_eq!(
            json,
            r#"{"type":"timed","opens_at_ms":1,"closes_at_ms":2,"stagger_ms":3}"#
        );
        assert_eq!(serde_json::from_str::<SaleMode>(&json).unwrap(), mode);
        assert_eq!(
            serde_json::to_string(&SaleMode::Live).unwrap(),
            r#"{"type":"live"}"#
        );
        for mode in [mode, SaleMode::Live] {
            let bytes = crate::codec::encode(&mode).unwrap();
            assert_eq!(crate::codec::decode::<SaleMode>(&bytes).unwrap(), mode);
        }
    }
}
