//! Bids over REST: place one (the same path as the WebSocket `bid`), a
//! lot's public history, and a bidder's own bids with their bid ids (what a
//! client looks up after an `unknown` outcome, without placing anything).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use paddle_proto::auction::{BidId, BidKind, BidView, LotId};
use serde::Serialize;

use super::fields::{damaged, lot_sale, Read};
use crate::api::auth::{caller, require_bidder};
use crate::api::bidding::{self, BidIn, BidResult, BidSource, Outcome};
use crate::api::caller::Caller;
use crate::api::error::ApiError;
use crate::api::extract::{Body, Path, Query};
use crate::api::reads::{read_headers, view_for, ReadQuery};
use crate::api::state::AppState;
use paddle_auction::read;

/// A lot's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryOut {
    pub applied_index: u64,
    pub lot: u64,
    /// Oldest first; `shown` is never a standing max.
    pub bids: Vec<HistoryRow>,
}

/// One bid of a lot's history: the public view, and for staff (a clerk or
/// operator token) also what only they may see.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryRow {
    #[serde(flatten)]
    pub bid: BidView,
    /// Staff only: the bid's place in the lot (as in `bid_accepted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
    /// Staff: the bid id (what a retraction names); a bidder: the bid id of
    /// each of their own bids (never of anyone else's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bid_id: Option<String>,
    /// Staff only: the phone line of a phone bid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u16>,
    /// Staff only: why the operator retracted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retract_reason: Option<String>,
}

impl From<BidView> for HistoryRow {
    fn from(bid: BidView) -> Self {
        HistoryRow {
            bid,
            seq: None,
            bid_id: None,
            line: None,
            retract_reason: None,
        }
    }
}

/// A lot's bid history (maxes hidden; staff also see bid ids, phone lines
/// and retraction reasons; a bidder sees the bid ids of their own bids,
/// and only theirs, so a client finds its bids in the history).
#[utoipa::path(get, path = "/api/v1/lots/{lot}/bids", tag = "bids",
    params(("lot" = u64, Path, description = "Lot id"), ReadQuery),
    responses((status = 200, body = HistoryOut), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn history(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<HistoryOut> {
    // A bad or replaced token reads the public history, as no token does.
    let who = caller(&s, &headers).await;
    let staff = matches!(&who, Ok(Some(c)) if c.is_staff());
    let view = view_for(&s, &rq).await?;
    let sale = lot_sale(&view, LotId(lot))?;
    let own = match &who {
        Ok(Some(Caller::Bidder(b))) if b.who.sale == sale => Some(b.who.paddle),
        _ => None,
    };
    let bids: Vec<HistoryRow> = if let Some(paddle) = own {
        read::staff_history(&view, LotId(lot))
            .map_err(damaged)?
            .into_iter()
            .map(|b| {
                let mine = b.view.paddle == paddle;
                HistoryRow {
                    bid_id: mine.then(|| b.bid_id.as_str().to_string()),
                    ..HistoryRow::from(b.view)
                }
            })
            .collect()
    } else if staff {
        read::staff_history(&view, LotId(lot))
            .map_err(damaged)?
            .into_iter()
            .map(|b| HistoryRow {
                bid: b.view,
                seq: Some(b.seq),
                bid_id: Some(b.bid_id.as_str().to_string()),
                line: b.line,
                retract_reason: b.retract_reason,
            })
            .collect()
    } else {
        read::bid_history(&view, LotId(lot))
            .map_err(damaged)?
            .into_iter()
            .map(HistoryRow::from)
            .collect()
    };
    Ok((
        read_headers(&s, &view),
        Json(HistoryOut {
            applied_index: view.applied_index(),
            lot,
            bids,
        }),
    ))
}

/// One of the caller's own bids.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnBid {
    pub bid_id: String,
    pub lot: u64,
    /// Their max (minor units): only they see it.
    pub max: i64,
    /// What the public history shows (minor units).
    pub shown: i64,
    #[schema(value_type = String)]
    pub kind: BidKind,
    /// The log index it was committed at, and its stamp.
    pub index: u64,
    pub stamp_ms: u64,
    /// An absentee bid not yet counted (its live lot has not opened).
    pub pending: bool,
    pub retracted: bool,
}

/// The caller's own bids in their sale.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnBidsOut {
    pub applied_index: u64,
    pub sale: u64,
    pub paddle: u32,
    /// Lot by lot, oldest first. Refused bids are not listed: look one up
    /// by its id for its outcome.
    pub bids: Vec<OwnBid>,
}

/// The caller's own accepted bids (bidder token), with their bid ids.
#[utoipa::path(get, path = "/api/v1/me/bids", tag = "bids", params(ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = OwnBidsOut), (status = 401, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody)))]
pub async fn own(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<OwnBidsOut> {
    let who = require_bidder(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let bids = read::own_bids(&view, who.sale, who.paddle)
        .map_err(damaged)?
        .into_iter()
        .map(|(lot, b)| OwnBid {
            bid_id: b.bid_id.as_str().to_string(),
            lot: lot.0,
            max: b.max.minor(),
            shown: b.shown.minor(),
            kind: b.kind,
            index: b.index,
            stamp_ms: b.stamp_ms,
            pending: !b.applied,
            retracted: b.retracted,
        })
        .collect();
    Ok((
        read_headers(&s, &view),
        Json(OwnBidsOut {
            applied_index: view.applied_index(),
            sale: who.sale.0,
            paddle: who.paddle.0,
            bids,
        }),
    ))
}

/// The outcome of one of the caller's bids by its id (bidder token): the
/// first outcome the cluster recorded for it, as a resend would get, but
/// never placing anything. `404 unknown_bid` when no bid with this id has
/// reached the log as of the answer's index (ask with
/// `consistency=linearizable` to be sure of the latest).
#[utoipa::path(get, path = "/api/v1/me/bids/{bid_id}", tag = "bids",
    params(("bid_id" = String, Path, description = "The client's bid id"), ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = BidResult, description = "accepted or rejected: the recorded outcome"),
              (status = 400, body = crate::api::openapi::ErrorBody, description = "invalid_bid_id"),
              (status = 401, body = crate::api::openapi::ErrorBody), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody, description = "unknown_bid: never reached the log")))]
pub async fn own_one(
    State(s): State<AppState>,
    Path(bid_id): Path<String>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<BidResult> {
    let who = require_bidder(&s, &headers).await?;
    let id = BidId::new(bid_id.clone())
        .map_err(|e| ApiError::bad_request("invalid_bid_id", e.to_string()))?;
    let view = view_for(&s, &rq).await?;
    match read::bid_outcome(&view, who.sale, who.paddle, false, &id).map_err(damaged)? {
        Some(reply) => Ok((
            read_headers(&s, &view),
            Json(BidResult::from_reply(&bid_id, view.applied_index(), reply)),
        )),
        None => Err(ApiError::not_found(
            "unknown_bid",
            format!(
                "no bid `{bid_id}` of yours had reached the log as of index {}",
                view.applied_index()
            ),
        )),
    }
}

/// Place a bid (bidder token). An accepted bid's body is its `bid_result`;
/// every other answer is the usual `error` with the `bid_result` beside
/// it: `{"error": {code, message}, "bid_result": {…}}`.
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
