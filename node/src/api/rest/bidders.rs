//! Bidders: register (→ token and paddle), list, approve, set a limit.
//!
//! The bidder token is made here, shown once in the reply, and only its
//! SHA-256 goes into the log, so no node and no backup holds it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use axum::Json;
use paddle_proto::auction::{Accepted, AuctionCommand, Paddle, RejectReason, SaleId};
use paddle_proto::Money;
use serde::{Deserialize, Serialize};

use super::fields::{damaged, opt_amount, sale_currency, Read};
use super::propose::{propose, write_sale};
use crate::api::auth::{caller, require_staff};
use crate::api::error::ApiError;
use crate::api::extract::{Body, Path, Query};
use crate::api::reads::{read_headers, view_for, ReadQuery};
use crate::api::state::AppState;
use crate::cluster::secrets;
use paddle_auction::records::{scan_all, tree};
use paddle_auction::{read, Bidder};

/// Prefix of bidder tokens, so a leaked string is recognisable.
pub const BIDDER_PREFIX: &str = "pdb_";

/// A registration.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIn {
    /// The bidder's name (shown to staff and to themselves only).
    pub name: String,
    /// Staff only: a chosen paddle number (refused when taken).
    #[serde(default)]
    pub paddle: Option<u32>,
    /// Staff only: approved at once.
    #[serde(default)]
    pub approved: Option<bool>,
    /// Staff only: a spending limit, decimal string.
    #[serde(default)]
    pub limit: Option<String>,
}

/// A registered bidder and their token (shown once).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Registered {
    pub sale: u64,
    pub paddle: u32,
    /// The bidder's bearer token. Not stored anywhere; keep it.
    pub token: String,
    pub approved: bool,
    pub index: u64,
}

/// Register for a sale: anyone (waits for approval; limited per client
/// address and per sale, and refused once staff closed the sale's
/// self-registration), or the desk (staff may choose the paddle, approve
/// at once and set a limit).
#[utoipa::path(post, path = "/api/v1/sales/{sale}/bidders", tag = "bidders", request_body = RegisterIn,
    params(("sale" = u64, Path, description = "Sale id")),
    responses((status = 201, body = Registered), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody),
              (status = 429, body = crate::api::openapi::ErrorBody, description = "`rate_limited`: too many self-registrations")))]
pub async fn register(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    // Absent when the router runs without a socket (in-process tests).
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Body(r): Body<RegisterIn>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let staff = caller(&s, &headers).await?.is_some_and(|c| c.is_staff());
    if !staff && (r.paddle.is_some() || r.approved.is_some() || r.limit.is_some()) {
        return Err(ApiError::forbidden(
            "only the desk (a clerk or the operator) may choose a paddle, approve or set a limit",
        ));
    }
    let (view, currency) = write_sale(&s, SaleId(sale)).await?;
    let limit = opt_amount(currency, "limit", &r.limit)?;
    let token = format!("{BIDDER_PREFIX}{}", secrets::random_secret());
    let token_hash = secrets::hash_token(&token);
    let approved = r.approved.unwrap_or(false);
    let cmd = if staff {
        AuctionCommand::RegisterBidder {
            sale: SaleId(sale),
            name: r.name,
            paddle: r.paddle.map(Paddle),
            token_hash,
            limit,
            approved,
        }
    } else {
        // Checked here first so a closed sale costs no log entry (the rules
        // check again at apply); then the allowances.
        if matches!(read::get_sale(&view, SaleId(sale)), Ok(Some(v)) if !v.self_registration) {
            return Err(super::propose::reject_error(
                RejectReason::RegistrationClosed,
                RejectReason::RegistrationClosed.message(None),
            ));
        }
        if !s
            .api
            .limits
            .self_registration(peer.map(|p| p.0 .0.ip()), sale)
        {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many registrations from here just now; wait a minute, or register at the desk",
            ));
        }
        AuctionCommand::SelfRegister {
            sale: SaleId(sale),
            name: r.name,
            token_hash,
        }
    };
    match propose(&s, cmd).await? {
        (index, Accepted::BidderRegistered { sale, paddle }) => Ok((
            StatusCode::CREATED,
            Json(Registered {
                sale: sale.0,
                paddle: paddle.0,
                token,
                approved,
                index,
            }),
        )),
        (_, other) => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}

/// A registered bidder as staff see them.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BidderRow {
    pub paddle: u32,
    pub name: String,
    pub approved: bool,
    /// Spending limit in minor units.
    pub limit: Option<Money>,
}

/// Registered bidders.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BiddersOut {
    pub applied_index: u64,
    pub bidders: Vec<BidderRow>,
}

/// A sale's registered bidders (clerk or operator).
#[utoipa::path(get, path = "/api/v1/sales/{sale}/bidders", tag = "bidders",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = BiddersOut), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<BiddersOut> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    sale_currency(&view, SaleId(sale))?;
    let bidders = scan_all::<Bidder>(&view, tree::BIDDERS, &sale.to_be_bytes())
        .map_err(damaged)?
        .into_iter()
        .map(|(_, b)| BidderRow {
            paddle: b.paddle.0,
            name: b.name,
            approved: b.approved,
            limit: b.limit,
        })
        .collect();
    Ok((
        read_headers(&s, &view),
        Json(BiddersOut {
            applied_index: view.applied_index(),
            bidders,
        }),
    ))
}

/// Approve or un-approve.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveIn {
    pub approved: bool,
}

/// The index a write was committed at.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Done {
    pub index: u64,
}

/// Approve (or un-approve) a bidder (clerk or operator).
#[utoipa::path(post, path = "/api/v1/sales/{sale}/bidders/{paddle}/approve", tag = "bidders",
    request_body = ApproveIn, security(("bearer" = [])),
    params(("sale" = u64, Path, description = "Sale id"), ("paddle" = u32, Path, description = "Paddle number")),
    responses((status = 200, body = Done), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn approve(
    State(s): State<AppState>,
    Path((sale, paddle)): Path<(u64, u32)>,
    headers: HeaderMap,
    Body(a): Body<ApproveIn>,
) -> Result<Json<Done>, ApiError> {
    require_staff(&s, &headers).await?;
    let cmd = AuctionCommand::ApproveBidder {
        sale: SaleId(sale),
        paddle: Paddle(paddle),
        approved: a.approved,
    };
    let (index, _) = propose(&s, cmd).await?;
    Ok(Json(Done { index }))
}

/// A spending limit (`null` clears it).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitIn {
    #[schema(example = "5000.00")]
    pub limit: Option<String>,
}

/// Set or clear a bidder's spending limit (clerk or operator: the desk).
#[utoipa::path(post, path = "/api/v1/sales/{sale}/bidders/{paddle}/limit", tag = "bidders",
    request_body = LimitIn, security(("bearer" = [])),
    params(("sale" = u64, Path, description = "Sale id"), ("paddle" = u32, Path, description = "Paddle number")),
    responses((status = 200, body = Done), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn limit(
    State(s): State<AppState>,
    Path((sale, paddle)): Path<(u64, u32)>,
    headers: HeaderMap,
    Body(l): Body<LimitIn>,
) -> Result<Json<Done>, ApiError> {
    require_staff(&s, &headers).await?;
    let (_, currency) = write_sale(&s, SaleId(sale)).await?;
    let cmd = AuctionCommand::SetLimit {
        sale: SaleId(sale),
        paddle: Paddle(paddle),
        limit: opt_amount(currency, "limit", &l.limit)?,
    };
    let (index, _) = propose(&s, cmd).await?;
    Ok(Json(Done { index }))
}
