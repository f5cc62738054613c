//! The explicit outcome of one bid, as every client gets it (`bid_result`
//! on the WebSocket, the body of `POST /api/v1/lots/{lot}/bids`), and the
//! bid as a client sends it.

use axum::http::StatusCode;
use paddle_proto::auction::{Accepted, AuctionReply, LotState, RejectReason};
use serde::{Deserialize, Serialize};

use crate::api::error::ApiError;

/// A bid as a client sends it (the sale is the bidder token's). Unknown
/// fields are refused (`bad_json`), as on the WebSocket: a `sale` here
/// would otherwise be silently ignored.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BidIn {
    /// Client-chosen id, 1–64 of `[A-Za-z0-9_.:-]`; resending it is safe.
    #[schema(value_type = String)]
    pub bid_id: serde_json::Value,
    /// The most the bidder will pay, a decimal string in the sale's currency.
    #[schema(value_type = String, example = "125.50")]
    pub max: serde_json::Value,
    /// Buy at the lot's buy-now price (`max` must equal it).
    #[serde(default)]
    pub buy_now: bool,
}

/// `accepted`, `rejected` or `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    Rejected,
    Unknown,
}

/// The explicit outcome of one bid.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BidResult {
    /// The bid id as the client sent it.
    pub bid_id: String,
    pub outcome: Outcome,
    /// Log index at which the outcome is in the state; `null` if the bid
    /// never reached the log.
    pub index: Option<u64>,
    /// Stable code of a refusal or of `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub code: Option<&'static str>,
    /// For people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The rules' refusal with its details (e.g. `minimum`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
    /// Accepted: the lot's public state right after the bid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<LotState>,
    /// Accepted: whether the bidder now leads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leading: Option<bool>,
}

impl BidResult {
    /// A refusal by the API (never reached the log).
    pub fn refused(bid_id: &str, code: &'static str, message: impl Into<String>) -> Self {
        BidResult {
            bid_id: bid_id.to_string(),
            outcome: Outcome::Rejected,
            index: None,
            code: Some(code),
            message: Some(message.into()),
            reason: None,
            lot: None,
            leading: None,
        }
    }

    pub fn unknown(bid_id: &str, why: &str) -> Self {
        BidResult {
            outcome: Outcome::Unknown,
            ..Self::refused(
                bid_id,
                "outcome_unknown",
                format!(
                    "the outcome could not be confirmed in time ({why}); send the same bid id again to learn it"
                ),
            )
        }
    }

    /// The engine's answer, at `index`.
    pub fn from_reply(bid_id: &str, index: u64, reply: AuctionReply) -> Self {
        let accepted = |lot, leading| BidResult {
            bid_id: bid_id.to_string(),
            outcome: Outcome::Accepted,
            index: Some(index),
            code: None,
            message: None,
            reason: None,
            lot,
            leading,
        };
        match reply {
            AuctionReply::Accepted {
                accepted: Accepted::Bid { lot, leading },
            } => accepted(Some(lot), Some(leading)),
            AuctionReply::Accepted { .. } => accepted(None, None),
            AuctionReply::Rejected { reason, message } => BidResult {
                bid_id: bid_id.to_string(),
                outcome: Outcome::Rejected,
                index: Some(index),
                code: Some(reason.code()),
                message: Some(message),
                reason: Some(reason),
                lot: None,
                leading: None,
            },
        }
    }

    /// The HTTP status that fits this outcome on the REST route.
    pub fn status(&self) -> StatusCode {
        match (self.outcome, self.code) {
            (Outcome::Accepted, _) => StatusCode::OK,
            (Outcome::Unknown, _) | (_, Some("not_caught_up")) => StatusCode::GATEWAY_TIMEOUT,
            (_, Some("rate_limited")) => StatusCode::TOO_MANY_REQUESTS,
            (_, Some("no_quorum" | "unavailable")) => StatusCode::SERVICE_UNAVAILABLE,
            (_, Some("unauthorized")) => StatusCode::UNAUTHORIZED,
            (_, Some("forbidden" | "not_registered" | "not_approved")) => StatusCode::FORBIDDEN,
            (_, Some("unknown_lot" | "unknown_sale")) => StatusCode::NOT_FOUND,
            (
                _,
                Some(
                    "invalid_amount" | "invalid_bid_id" | "invalid_input" | "wrong_sale"
                    | "bad_message",
                ),
            ) => StatusCode::BAD_REQUEST,
            _ => StatusCode::CONFLICT,
        }
    }

    /// As a REST error (any outcome but accepted).
    pub fn into_error(self) -> ApiError {
        let code = self.code.unwrap_or("rejected");
        let message = self.message.clone().unwrap_or_default();
        let status = self.status();
        let body = serde_json::to_value(&self).unwrap_or_default();
        ApiError::new(status, code, message).with_details("bid_result", body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_http_and_keep_their_codes() {
        let r = BidResult::refused("b1", "rate_limited", "slow down");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let e = r.into_error();
        assert_eq!(e.code, "rate_limited");
        let r = BidResult::from_reply(
            "b1",
            7,
            AuctionReply::rejected(RejectReason::LotClosed, None),
        );
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(r.into_error().code, "lot_closed");
        let r = BidResult::unknown("b1", "timeout");
        assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(r.into_error().code, "outcome_unknown");
    }
}
