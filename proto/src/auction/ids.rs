//! Auction identifiers.
//!
//! Sales, lots and paddles are numbered by the state machine while it applies
//! the log (counters in the replicated state), never by a client, so every
//! node hands out the same number for the same command. Bid ids are the one
//! exception: the client picks them, because they exist to make a retried
//! bid recognisable as the same bid.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A sale (one auction event: a catalogue of lots). Assigned in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct SaleId(pub u64);

/// A lot. Numbered across all sales, so a lot id alone finds its lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct LotId(pub u64);

/// A bidder's paddle number within one sale: what the auctioneer calls and
/// the only bidder identity ever shown to other bidders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Paddle(pub u32);

impl Paddle {
    /// The house floor paddle: a bid from someone in the room whom the clerk
    /// does not identify. Never registered to a bidder; paddle numbers handed
    /// out at registration start at 1.
    pub const HOUSE: Paddle = Paddle(0);
}

impl fmt::Display for SaleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for LotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Paddle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Longest bid id accepted.
pub const MAX_BID_ID_LEN: usize = 64;

/// A client-chosen bid id: 1 to 64 characters of `[A-Za-z0-9_.:-]`.
///
/// A double click or a retry after a lost reply sends the same id again, and
/// the engine answers with the first outcome instead of bidding twice. The
/// alphabet is small so ids are safe in keys, logs and URLs. Validated on
/// construction and on deserialization, so a `BidId` value is always valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BidId(String);

/// Why a string is not a bid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BidIdError {
    #[error("bid id is empty")]
    Empty,
    #[error("bid id is longer than {MAX_BID_ID_LEN} characters")]
    TooLong,
    #[error("bid id has a character outside [A-Za-z0-9_.:-] at position {0}")]
    InvalidCharacter(usize),
}

impl BidId {
    /// Validate and wrap a client's bid id.
    pub fn new(s: impl Into<String>) -> Result<BidId, BidIdError> {
        let s = s.into();
        if s.is_empty() {
            return Err(BidIdError::Empty);
        }
        if s.len() > MAX_BID_ID_LEN {
            return Err(BidIdError::TooLong);
        }
        if let Some(i) = s
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')))
        {
            return Err(BidIdError::InvalidCharacter(i));
        }
        Ok(BidId(s))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BidId {
    type Error = BidIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        BidId::new(s)
    }
}

impl From<BidId> for String {
    fn from(b: BidId) -> String {
        b.0
    }
}

impl fmt::Display for BidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bid_ids_are_validated_everywhere() {
        assert!(BidId::new("web-42:a.b_c").is_ok());
        assert_eq!(BidId::new(""), Err(BidIdError::Empty));
        assert_eq!(BidId::new("x".repeat(65)), Err(BidIdError::TooLong));
        assert!(BidId::new("x".repeat(64)).is_ok());
        assert_eq!(BidId::new("a b"), Err(BidIdError::InvalidCharacter(1)));
        assert_eq!(BidId::new("é"), Err(BidIdError::InvalidCharacter(0)));
        assert!(serde_json::from_str::<BidId>("\"a/b\"").is_err());
        let bytes = crate::codec::encode("bad id").unwrap();
        assert!(crate::codec::decode::<BidId>(&bytes).is_err());
        let ok = BidId::new("b1").unwrap();
        let bytes = crate::codec::encode(&ok).unwrap();
        assert_eq!(crate::codec::decode::<BidId>(&bytes).unwrap(), ok);
    }
}
