//! The clerk's rostrum actions on a lot: open, asking increment, floor
//! bid, fair warning, sell, pass, reopen, withdraw; and the operator's
//! retraction of a bid. Each is one command; the reply is the lot's public
//! state after it, with the index it was committed at.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use paddle_proto::auction::{Accepted, AuctionCommand, BidId, LotId, LotState, Paddle, SaleId};
use serde::{Deserialize, Serialize};

use paddle_consensus::KvView;

use super::fields::{opt_amount, sale_currency};
use super::propose::{propose, propose_keyed, write_lot};
use crate::api::auth::{require_operator_role, require_staff};
use crate::api::error::ApiError;
use crate::api::extract::{Body, Path};
use crate::api::state::AppState;

/// A lot after a clerk action.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LotChanged {
    pub index: u64,
    pub lot: LotState,
}

pub(super) type Changed = Result<Json<LotChanged>, ApiError>;

/// Check the role, find the lot's sale, build and propose the command.
pub(super) async fn act(
    s: &AppState,
    headers: &HeaderMap,
    lot: u64,
    operator_only: bool,
    make: impl FnOnce(&KvView, SaleId, LotId) -> Result<AuctionCommand, ApiError>,
) -> Changed {
    let (index, accepted) = act_with(s, headers, lot, operator_only, make).await?;
    changed(index, accepted)
}

/// [`act`] for a command with a bid id: proposed again while its outcome
/// is unknown (see [`propose_keyed`]).
pub(super) async fn act_keyed(
    s: &AppState,
    headers: &HeaderMap,
    lot: u64,
    make: impl FnOnce(&KvView, SaleId, LotId) -> Result<AuctionCommand, ApiError>,
) -> Changed {
    require_staff(s, headers).await?;
    let lot = LotId(lot);
    let (view, sale) = write_lot(s, lot).await?;
    let (index, accepted) = propose_keyed(s, make(&view, sale, lot)?).await?;
    changed(index, accepted)
}

async fn act_with(
    s: &AppState,
    headers: &HeaderMap,
    lot: u64,
    operator_only: bool,
    make: impl FnOnce(&KvView, SaleId, LotId) -> Result<AuctionCommand, ApiError>,
) -> Result<(u64, Accepted), ApiError> {
    if operator_only {
        require_operator_role(s, headers).await?;
    } else {
        require_staff(s, headers).await?;
    }
    let lot = LotId(lot);
    let (view, sale) = write_lot(s, lot).await?;
    propose(s, make(&view, sale, lot)?).await
}

fn changed(index: u64, accepted: Accepted) -> Changed {
    match (index, accepted) {
        (index, Accepted::Lot { lot } | Accepted::Bid { lot, .. }) => {
            Ok(Json(LotChanged { index, lot }))
        }
        (_, other) => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}

macro_rules! plain_action {
    ($name:ident, $path:literal, $variant:ident, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "clerk",
            params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
            responses((status = 200, body = LotChanged), (status = 401, body = crate::api::openapi::ErrorBody),
                      (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
                      (status = 409, body = crate::api::openapi::ErrorBody, description = "refused by the rules (code says why)")))]
        pub async fn $name(State(s): State<AppState>, Path(lot): Path<u64>, headers: HeaderMap) -> Changed {
            act(&s, &headers, lot, false, |_, sale, lot| {
                Ok(AuctionCommand::$variant { sale, lot })
            })
            .await
        }
    };
}

plain_action!(
    open,
    "/api/v1/lots/{lot}/open",
    OpenLot,
    "Open a live lot (clerk)."
);
plain_action!(
    fair_warning,
    "/api/v1/lots/{lot}/fair-warning",
    FairWarning,
    "Fair warning: last call (clerk)."
);
plain_action!(
    sell,
    "/api/v1/lots/{lot}/sell",
    Sell,
    "Hammer down: sold to the leader (clerk)."
);
plain_action!(
    pass,
    "/api/v1/lots/{lot}/pass",
    Pass,
    "Pass the lot: no sale (clerk)."
);
plain_action!(
    reopen,
    "/api/v1/lots/{lot}/reopen",
    Reopen,
    "Reopen a sold or passed live lot (clerk)."
);
plain_action!(
    withdraw,
    "/api/v1/lots/{lot}/withdraw",
    WithdrawLot,
    "Withdraw a lot (clerk)."
);

/// The asking increment (`null`: back to the sale's table).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncrementIn {
    #[schema(example = "25.00")]
    pub increment: Option<String>,
}

/// Override the asking increment of a live lot (clerk).
#[utoipa::path(post, path = "/api/v1/lots/{lot}/asking-increment", tag = "clerk", request_body = IncrementIn,
    params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
    responses((status = 200, body = LotChanged), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody)))]
pub async fn asking_increment(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<IncrementIn>,
) -> Changed {
    act(&s, &headers, lot, false, |view, sale, lot| {
        let currency = sale_currency(view, sale)?;
        Ok(AuctionCommand::SetAskingIncrement {
            sale,
            lot,
            increment: opt_amount(currency, "increment", &b.increment)?,
        })
    })
    .await
}

/// A bid from the room.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FloorBidIn {
    /// The clerk's id for this floor bid (resending it is safe).
    pub bid_id: String,
    /// The bidder's paddle; `null` for the house floor paddle (0).
    #[serde(default)]
    pub paddle: Option<u32>,
    /// The amount; `null` for the asking price.
    #[serde(default)]
    #[schema(example = "300.00")]
    pub amount: Option<String>,
}

/// Enter a floor bid (clerk).
#[utoipa::path(post, path = "/api/v1/lots/{lot}/floor-bid", tag = "clerk", request_body = FloorBidIn,
    params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
    responses((status = 200, body = LotChanged), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody)))]
pub async fn floor_bid(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<FloorBidIn>,
) -> Changed {
    act_keyed(&s, &headers, lot, |view, sale, lot| {
        let currency = sale_currency(view, sale)?;
        let bid_id = BidId::new(b.bid_id.clone())
            .map_err(|e| ApiError::bad_request("invalid_bid_id", e.to_string()))?;
        Ok(AuctionCommand::FloorBid {
            sale,
            lot,
            paddle: b.paddle.map(Paddle),
            bid_id,
            amount: opt_amount(currency, "amount", &b.amount)?,
        })
    })
    .await
}

/// Which bid to retract.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetractIn {
    pub paddle: u32,
    pub bid_id: String,
    /// Why (1–500 characters; kept with the bid, seen by staff only).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Retract one bid (operator): price and leader are recomputed.
#[utoipa::path(post, path = "/api/v1/lots/{lot}/retract", tag = "clerk", request_body = RetractIn,
    params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
    responses((status = 200, body = LotChanged), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody)))]
pub async fn retract(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<RetractIn>,
) -> Changed {
    act(&s, &headers, lot, true, |_, sale, lot| {
        let bid_id = BidId::new(b.bid_id.clone())
            .map_err(|e| ApiError::bad_request("invalid_bid_id", e.to_string()))?;
        let paddle = Paddle(b.paddle);
        Ok(match b.reason {
            Some(reason) => AuctionCommand::RetractBidBecause {
                sale,
                lot,
                paddle,
                bid_id,
                reason,
            },
            None => AuctionCommand::RetractBid {
                sale,
                lot,
                paddle,
                bid_id,
            },
        })
    })
    .await
}
