//! The bid path shared by the WebSocket `bid` message and `POST
//! /api/v1/lots/{lot}/bids`: check, propose, and always answer with an
//! explicit [`BidResult`].
//!
//! Order of checks (each refusal changes nothing): bid id, sale, rate
//! (connection, then bidder), lot, amount, an outcome already known for
//! this bid id, freshness. A sale or lot this node does not know yet is
//! looked up again at the leader's read index before it is refused (it may
//! have been created through another node a moment ago). Then the bid is
//! proposed, forwarded to the leader if need be. An outcome that cannot be
//! learned (timeout while leadership moves) is proposed again with the same
//! bid id until the deadline: the engine keeps the first outcome per bid
//! id, so a retry never makes a second bid. Past the deadline the answer is
//! `unknown` — also when a later retry found no leader: once a bid may have
//! reached a leader it may still commit, so only a bid that certainly never
//! left this node is refused `no_quorum`.

use std::time::Duration;

use axum::http::StatusCode;
use governor::DefaultDirectRateLimiter;
use paddle_consensus::ProposeError;
use paddle_proto::auction::{
    Accepted, AuctionCommand, AuctionReply, BidId, BidderIdentity, LotId, LotState, RejectReason,
};
use paddle_proto::{Command, Reply};
use serde::{Deserialize, Serialize};

use super::reads::{fresh_view, freshness};
use super::{ApiError, AppState};
use paddle_auction::read;

/// How long a bid may keep being retried before its outcome is `unknown`.
pub const BID_DEADLINE: Duration = Duration::from_secs(10);

/// A bid as a client sends it (the sale is the bidder token's).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
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

    fn unknown(bid_id: &str, why: &str) -> Self {
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
        match reply {
            AuctionReply::Accepted {
                accepted: Accepted::Bid { lot, leading },
            } => BidResult {
                bid_id: bid_id.to_string(),
                outcome: Outcome::Accepted,
                index: Some(index),
                code: None,
                message: None,
                reason: None,
                lot: Some(lot),
                leading: Some(leading),
            },
            AuctionReply::Accepted { .. } => BidResult {
                bid_id: bid_id.to_string(),
                outcome: Outcome::Accepted,
                index: Some(index),
                code: None,
                message: None,
                reason: None,
                lot: None,
                leading: None,
            },
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

/// Where a bid came from, for the connection's own rate.
pub struct BidSource<'a> {
    /// The WebSocket connection's allowance (`None` over REST).
    pub connection: Option<&'a DefaultDirectRateLimiter>,
}

/// Place one bid for `who` on `lot`: always an explicit outcome.
pub async fn place(
    s: &AppState,
    who: &BidderIdentity,
    lot: u64,
    bid: &BidIn,
    source: BidSource<'_>,
) -> BidResult {
    let raw_id = match &bid.bid_id {
        serde_json::Value::String(v) => v.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let bid_id = match &bid.bid_id {
        serde_json::Value::String(v) => match BidId::new(v.clone()) {
            Ok(b) => b,
            Err(e) => return BidResult::refused(&raw_id, "invalid_bid_id", e.to_string()),
        },
        _ => {
            return BidResult::refused(
                &raw_id,
                "invalid_bid_id",
                "bid_id must be a string of 1 to 64 characters of [A-Za-z0-9_.:-]",
            )
        }
    };
    let (sale, paddle) = (who.sale, who.paddle);
    if source.connection.is_some_and(|l| l.check().is_err())
        || !s.api.limits.bidder_bid(sale.0, paddle.0)
    {
        return BidResult::refused(
            &raw_id,
            "rate_limited",
            "too many bids too fast; wait a moment and send it again (same bid id)",
        );
    }
    let in_sale = |v: &paddle_consensus::KvView| matches!(read::lot_record(v, LotId(lot)), Ok(Some(l)) if l.sale == sale);
    let view = match fresh_view(s, in_sale).await {
        Ok(v) => v,
        Err(e) => return BidResult::refused(&raw_id, e.code, e.message),
    };
    let lot_record = read::lot_record(&view, LotId(lot)).ok().flatten();
    let Some(sale_record) = read::sale_record(&view, sale).ok().flatten() else {
        return BidResult::refused(&raw_id, "unknown_sale", "there is no such sale");
    };
    if lot_record.as_ref().is_none_or(|l| l.sale != sale) {
        return BidResult::refused(&raw_id, "unknown_lot", "there is no such lot in your sale");
    }
    let currency = sale_record.spec.currency;
    let max = match &bid.max {
        serde_json::Value::String(text) => match currency.parse(text) {
            Ok(m) => m,
            Err(e) => {
                return BidResult::refused(
                    &raw_id,
                    "invalid_amount",
                    format!("`{text}` is not an amount in {currency}: {e}"),
                )
            }
        },
        other => {
            return BidResult::refused(
                &raw_id,
                "invalid_amount",
                format!(
                "send the amount as a decimal string in {currency}, e.g. \"12.50\" (got {other})"
            ),
            )
        }
    };
    if let Ok(Some(first)) = read::bid_outcome(&view, sale, paddle, false, &bid_id) {
        return BidResult::from_reply(&raw_id, view.applied_index(), first);
    }
    if freshness(&s.consensus).stale {
        return BidResult::refused(
            &raw_id,
            "no_quorum",
            "this node has lost contact with the cluster's leader, so it did not send this bid (try another node); \
             a bid sent before with the same id keeps its outcome: send it again to a node in contact to learn it",
        );
    }
    let cmd = Command::Auction(AuctionCommand::PlaceBid {
        sale,
        lot: LotId(lot),
        paddle,
        bid_id,
        max,
        buy_now: bid.buy_now,
    });
    propose_bid(s, &raw_id, cmd).await
}

/// Propose until the outcome is known or the deadline passes; see
/// [`paddle_consensus::Consensus::propose_idempotent`] for why a refusal
/// after an unknown attempt is still `unknown`.
async fn propose_bid(s: &AppState, raw_id: &str, cmd: Command) -> BidResult {
    match s.consensus.propose_idempotent(cmd, BID_DEADLINE).await {
        Ok(c) => match c.reply {
            Reply::Auction(r) => BidResult::from_reply(raw_id, c.index, r),
            other => BidResult::unknown(raw_id, &format!("unexpected reply {other:?}")),
        },
        Err(ProposeError::NoLeader) => BidResult::refused(
            raw_id,
            "no_quorum",
            "no leader is reachable right now; this bid never left this node, so it was not placed",
        ),
        Err(ProposeError::Refused(m)) => BidResult::refused(
            raw_id,
            "unavailable",
            format!("the cluster refused the bid before it was appended ({m}); it was not placed"),
        ),
        Err(ProposeError::Unknown(m)) => BidResult::unknown(raw_id, &m),
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
