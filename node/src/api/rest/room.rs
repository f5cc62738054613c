//! The operator's hold on the room: pause and resume a sale, extend one
//! running timed lot, edit a lot before it opens. Each is one command
//! through the log; the rules (`paddle_auction`'s `room`) decide, by the
//! entries' stamps, so every node computes the same deadlines.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use paddle_proto::auction::{Accepted, AuctionCommand, SaleId};
use serde::{Deserialize, Serialize};

use super::fields::{damaged, sale_currency};
use super::lots::{spec, LotIn};
use super::propose::{propose, write_sale};
use super::rostrum::{act, Changed};
use crate::api::auth::require_operator_role;
use crate::api::error::ApiError;
use crate::api::extract::{Body, NoFields, OptBody, Path};
use crate::api::state::AppState;
use crate::api::ws::messages::SaleOut;
use paddle_auction::read;

/// Why the sale is paused (shown to every bidder and on the screen).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseIn {
    /// 1–200 characters, e.g. "Power failure in hall B".
    pub reason: String,
}

/// The sale after a pause or resume, and the index it was committed at.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SaleChanged {
    pub index: u64,
    pub sale: SaleOut,
}

/// Propose a change of a whole sale (pause, resume, self-registration)
/// and answer with the sale as committed.
pub(super) async fn commit_sale_change(
    s: &AppState,
    sale: SaleId,
    cmd: AuctionCommand,
) -> Result<Json<SaleChanged>, ApiError> {
    write_sale(s, sale).await?;
    let (index, accepted) = propose(s, cmd).await?;
    if !matches!(
        accepted,
        Accepted::SalePaused { .. }
            | Accepted::SelfRegistrationSet { .. }
            | Accepted::RivalProfilesSet { .. }
    ) {
        return Err(ApiError::internal(format!(
            "unexpected answer {accepted:?}"
        )));
    }
    // The sale as committed: this node's view once it has applied `index`
    // (a follower learns of the commit from the leader a moment later).
    let view = s
        .consensus
        .wait_applied(index, std::time::Duration::from_secs(10))
        .await?;
    let sale = read::get_sale(&view, sale)
        .map_err(damaged)?
        .ok_or_else(|| ApiError::internal("a paused sale vanished"))?;
    Ok(Json(SaleChanged {
        index,
        sale: sale.into(),
    }))
}

/// Pause a sale (operator): every bid is refused with `sale_paused` and
/// every unfinished lot's clock stands still until the resume.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/pause", tag = "room", request_body = PauseIn,
    params(("sale" = u64, Path, description = "Sale id")), security(("bearer" = [])),
    responses((status = 200, body = SaleChanged), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`pause_state`: already paused")))]
pub async fn pause(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<PauseIn>,
) -> Result<Json<SaleChanged>, ApiError> {
    require_operator_role(&s, &headers).await?;
    let cmd = AuctionCommand::PauseSale {
        sale: SaleId(sale),
        reason: b.reason,
    };
    commit_sale_change(&s, SaleId(sale), cmd).await
}

/// Resume a paused sale (operator): every unfinished lot gets back the
/// time it had left when the sale was paused.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/resume", tag = "room", request_body = NoFields,
    params(("sale" = u64, Path, description = "Sale id")), security(("bearer" = [])),
    responses((status = 200, body = SaleChanged), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`pause_state`: not paused")))]
pub async fn resume(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    OptBody(NoFields {}): OptBody<NoFields>,
) -> Result<Json<SaleChanged>, ApiError> {
    require_operator_role(&s, &headers).await?;
    commit_sale_change(
        &s,
        SaleId(sale),
        AuctionCommand::ResumeSale { sale: SaleId(sale) },
    )
    .await
}

/// More time for one lot.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendIn {
    /// Milliseconds to add to the lot's end: 1 ms to one day.
    #[schema(example = 60000)]
    pub by_ms: u64,
}

/// Give one running timed lot more time (operator).
#[utoipa::path(post, path = "/api/v1/lots/{lot}/extend", tag = "room", request_body = ExtendIn,
    params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
    responses((status = 200, body = super::rostrum::LotChanged), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`wrong_mode` (live), `wrong_status` or `lot_closed`")))]
pub async fn extend(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<ExtendIn>,
) -> Changed {
    act(&s, &headers, lot, true, |_, sale, lot| {
        Ok(AuctionCommand::ExtendLot {
            sale,
            lot,
            by_ms: b.by_ms,
        })
    })
    .await
}

/// Change a lot's terms while it is scheduled and has no bid (operator).
#[utoipa::path(put, path = "/api/v1/lots/{lot}", tag = "lots", request_body = LotIn,
    params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
    responses((status = 200, body = super::rostrum::LotChanged), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`wrong_status`: opened already")))]
pub async fn edit_lot(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<LotIn>,
) -> Changed {
    if b.consignor.is_some() {
        return Err(ApiError::bad_request(
            "invalid_input",
            "consignor: an edit keeps the lot's consignor; name it with POST /api/v1/sales/{sale}/lot-consignors",
        ));
    }
    act(&s, &headers, lot, true, |view, sale, lot| {
        let currency = sale_currency(view, sale)?;
        let spec = spec(currency, "lot", &b)?;
        Ok(AuctionCommand::EditLot { sale, lot, spec })
    })
    .await
}
