//! Bids staff place for a registered bidder: a commission bid (a maximum
//! left with the office) and a phone bid (relayed by a phone clerk on a
//! numbered line). Both carry the clerk's bid id, so a resend returns the
//! first outcome; both are marked with their kind in the log and the
//! events (`commission`, `phone`), and a phone bid's line is for staff only.

use axum::extract::State;
use axum::http::HeaderMap;
use paddle_proto::auction::{AuctionCommand, BidId, Paddle};
use serde::Deserialize;

use super::fields::{amount, opt_amount, sale_currency};
use super::rostrum::{act_keyed, Changed};
use crate::api::error::ApiError;
use crate::api::extract::{Body, Path};
use crate::api::state::AppState;

/// Highest phone line number a venue may use.
pub const MAX_PHONE_LINE: u16 = 999;

fn bid_id(text: &str) -> Result<BidId, ApiError> {
    BidId::new(text.to_string()).map_err(|e| ApiError::bad_request("invalid_bid_id", e.to_string()))
}

/// A maximum left with the office.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionIn {
    /// The bidder's paddle (registered in the lot's sale).
    pub paddle: u32,
    /// The most the bidder will pay (decimal string in the sale's currency).
    #[schema(example = "450.00")]
    pub max: String,
    /// The office's id for this bid (resending it is safe).
    pub bid_id: String,
}

/// Place a commission bid (clerk): before a live lot opens it waits and
/// counts at open with the other absentee maximums, earliest first; while a
/// lot is open it is placed at once as a proxy maximum.
#[utoipa::path(post, path = "/api/v1/lots/{lot}/commission-bids", tag = "clerk", request_body = CommissionIn,
    params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
    responses((status = 200, body = super::rostrum::LotChanged), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "refused by the rules (code says why)")))]
pub async fn commission(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<CommissionIn>,
) -> Changed {
    act_keyed(&s, &headers, lot, |view, sale, lot| {
        let currency = sale_currency(view, sale)?;
        Ok(AuctionCommand::CommissionBid {
            sale,
            lot,
            paddle: Paddle(b.paddle),
            bid_id: bid_id(&b.bid_id)?,
            max: amount(currency, "max", &b.max)?,
        })
    })
    .await
}

/// A bid relayed by a phone clerk.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneBidIn {
    /// The bidder on the phone (registered in the lot's sale).
    pub paddle: u32,
    /// The amount; `null` for the asking price.
    #[serde(default)]
    #[schema(example = "300.00")]
    pub amount: Option<String>,
    /// The phone clerk's id for this bid (resending it is safe).
    pub bid_id: String,
    /// The phone line, 1–999 (seen by staff only).
    pub line: u16,
}

/// Place a phone bid on an open live lot (clerk).
#[utoipa::path(post, path = "/api/v1/lots/{lot}/phone-bids", tag = "clerk", request_body = PhoneBidIn,
    params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
    responses((status = 200, body = super::rostrum::LotChanged), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "refused by the rules (code says why)")))]
pub async fn phone(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<PhoneBidIn>,
) -> Changed {
    act_keyed(&s, &headers, lot, |view, sale, lot| {
        if !(1..=MAX_PHONE_LINE).contains(&b.line) {
            return Err(ApiError::bad_request(
                "invalid_input",
                format!("line: a phone line is 1 to {MAX_PHONE_LINE}"),
            ));
        }
        let currency = sale_currency(view, sale)?;
        Ok(AuctionCommand::PhoneBid {
            sale,
            lot,
            paddle: Paddle(b.paddle),
            bid_id: bid_id(&b.bid_id)?,
            amount: opt_amount(currency, "amount", &b.amount)?,
            line: b.line,
        })
    })
    .await
}
