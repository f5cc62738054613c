//! Bids over REST: place one (the same path as the WebSocket `bid`), and a
//! lot's public history.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use paddle_proto::auction::{BidView, LotId};
use serde::Serialize;

use super::{damaged, lot_sale, Read};
use crate::api::auth::require_bidder;
use crate::api::bidding::{self, BidIn, BidResult, BidSource, Outcome};
use crate::api::extract::{Body, Path, Query};
use crate::api::reads::{read_headers, view_for, ReadQuery};
use crate::api::{ApiError, AppState};
use crate::auction::read;

/// A lot's public history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryOut {
    pub applied_index: u64,
    pub lot: u64,
    /// Oldest first; `shown` is never a standing max.
    pub bids: Vec<BidView>,
}

/// A lot's bid history (maxes hidden).
#[utoipa::path(get, path = "/api/v1/lots/{lot}/bids", tag = "bids",
    params(("lot" = u64, Path, description = "Lot id"), ReadQuery),
    responses((status = 200, body = HistoryOut), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn history(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    Query(rq): Query<ReadQuery>,
) -> Read<HistoryOut> {
    let view = view_for(&s, &rq).await?;
    lot_sale(&view, LotId(lot))?;
    let bids = read::bid_history(&view, LotId(lot)).map_err(damaged)?;
    Ok((
        read_headers(&s, &view),
        Json(HistoryOut {
            applied_index: view.applied_index(),
            lot,
            bids,
        }),
    ))
}

/// Place a bid (bidder token). The body of every answer is a
/// `bid_result`; refusals also carry the usual `error`.
#[utoipa::path(post, path = "/api/v1/lots/{lot}/bids", tag = "bids", request_body = BidIn,
    params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
    responses((status = 200, body = BidResult, description = "accepted"),
              (status = 400, body = crate::api::openapi::ErrorBody, description = "invalid_amount, invalid_bid_id"),
              (status = 401, body = crate::api::openapi::ErrorBody), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "refused by the rules (code says why)"),
              (status = 429, body = crate::api::openapi::ErrorBody), (status = 503, body = crate::api::openapi::ErrorBody),
              (status = 504, body = crate::api::openapi::ErrorBody, description = "outcome_unknown: retry with the same bid id")))]
pub async fn place(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    Body(bid): Body<BidIn>,
) -> Result<Json<BidResult>, ApiError> {
    let who = require_bidder(&s, &headers).await?;
    let r = bidding::place(&s, &who, lot, &bid, BidSource { connection: None }).await;
    if r.outcome == Outcome::Accepted {
        Ok(Json(r))
    } else {
        Err(r.into_error())
    }
}
