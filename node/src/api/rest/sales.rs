//! Sales: list, create, get, reschedule (timed, before they start).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use paddle_proto::auction::{
    Accepted, AuctionCommand, ExtendRule, IncrementBand, IncrementTable, SaleId, SaleMode,
    SaleSpec, SaleStatus, SoftClose,
};
use paddle_proto::Currency;
use serde::{Deserialize, Serialize};

use super::fields::{amount, damaged, json_safe_ms, Read};
use super::propose::propose;
use crate::api::auth::require_operator_role;
use crate::api::error::ApiError;
use crate::api::extract::{Body, Path, Query};
use crate::api::reads::{read_headers, view_for, ReadQuery};
use crate::api::state::AppState;
use crate::api::ws::messages::SaleOut;
use paddle_auction::read;

/// Filters of the sale list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only sales in this phase.
    #[param(value_type = Option<String>, example = "running")]
    pub status: Option<SaleStatus>,
    /// At most this many (1–1000, default 100), lowest ids first.
    pub limit: Option<usize>,
}

/// Sales at one index.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SalesOut {
    pub applied_index: u64,
    pub sales: Vec<SaleOut>,
}

/// One sale at one index.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SaleOne {
    pub applied_index: u64,
    pub sale: SaleOut,
}

/// List sales.
#[utoipa::path(get, path = "/api/v1/sales", tag = "sales",
    params(ReadQuery, ListQuery),
    responses((status = 200, body = SalesOut), (status = 400, body = crate::api::openapi::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Query(rq): Query<ReadQuery>,
    Query(q): Query<ListQuery>,
) -> Read<SalesOut> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_request",
            "limit must be 1 to 1000",
        ));
    }
    let view = view_for(&s, &rq).await?;
    let mut sales = read::list_sales(&view, q.status).map_err(damaged)?;
    sales.truncate(limit);
    Ok((
        read_headers(&s, &view),
        Json(SalesOut {
            applied_index: view.applied_index(),
            sales: sales.into_iter().map(SaleOut::from).collect(),
        }),
    ))
}

/// One sale.
#[utoipa::path(get, path = "/api/v1/sales/{sale}", tag = "sales",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery),
    responses((status = 200, body = SaleOne), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn get_one(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    Query(rq): Query<ReadQuery>,
) -> Read<SaleOne> {
    let view = view_for(&s, &rq).await?;
    let sale = read::get_sale(&view, SaleId(sale))
        .map_err(damaged)?
        .ok_or_else(|| ApiError::not_found("unknown_sale", format!("there is no sale {sale}")))?;
    Ok((
        read_headers(&s, &view),
        Json(SaleOne {
            applied_index: view.applied_index(),
            sale: sale.into(),
        }),
    ))
}

/// Increments as a table name or as bands of decimal strings.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum IncrementsIn {
    /// A named table, e.g. `ebay-2005`.
    Named(String),
    /// Bands, lowest first.
    Bands(Vec<BandIn>),
}

/// One band of an increment table, amounts as decimal strings.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BandIn {
    #[schema(example = "0")]
    pub from: String,
    #[schema(example = "0.50")]
    pub increment: String,
}

/// A new sale.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleIn {
    /// 1–200 characters.
    pub title: String,
    /// ISO 4217 code.
    pub currency: Currency,
    /// `{"type":"live"}` or `{"type":"timed","opens_at_ms":…,"closes_at_ms":…,"stagger_ms":…}`.
    #[serde(deserialize_with = "strict_mode")]
    pub mode: SaleMode,
    /// Default `ebay-2005`.
    #[serde(default)]
    pub increments: Option<IncrementsIn>,
    /// Buyer's premium in basis points (2500 = 25 %).
    #[serde(default)]
    pub premium_bp: u32,
    /// Anti-sniping for timed sales.
    #[serde(default)]
    pub soft_close: Option<SoftClose>,
}

/// A sale's mode, unknown fields refused: `SaleMode` refuses them in
/// `timed`, but serde reads a unit variant (`live`) without looking at the
/// other fields, so those are checked here.
fn strict_mode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SaleMode, D::Error> {
    use serde::de::Error;
    let v = serde_json::Value::deserialize(d)?;
    if v["type"] == "live" {
        if let Some(extra) = v.as_object().and_then(|o| o.keys().find(|k| *k != "type")) {
            return Err(D::Error::unknown_field(extra, &["type"]));
        }
    }
    <SaleMode as Deserialize>::deserialize(v).map_err(D::Error::custom)
}

/// A created sale.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Created {
    pub sale: u64,
    pub index: u64,
}

/// Every time in a new sale's mode and soft close is one a page can hold.
pub(super) fn check_times(mode: &SaleMode, soft_close: Option<&SoftClose>) -> Result<(), ApiError> {
    if let SaleMode::Timed {
        opens_at_ms,
        closes_at_ms,
        stagger_ms,
    } = *mode
    {
        json_safe_ms("mode.opens_at_ms", opens_at_ms)?;
        json_safe_ms("mode.closes_at_ms", closes_at_ms)?;
        json_safe_ms("mode.stagger_ms", stagger_ms)?;
    }
    if let Some(soft) = soft_close {
        json_safe_ms("soft_close.window_ms", soft.window_ms)?;
        if let ExtendRule::Add { extend_ms } = soft.rule {
            json_safe_ms("soft_close.rule.extend_ms", extend_ms)?;
        }
    }
    Ok(())
}

pub(super) fn increments(
    currency: Currency,
    inc: Option<IncrementsIn>,
) -> Result<IncrementTable, ApiError> {
    match inc {
        None => Ok(IncrementTable::ebay_2005()),
        Some(IncrementsIn::Named(name)) => IncrementTable::named(&name).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_input",
                format!(
                    "increments: unknown table `{name}` (known: {})",
                    paddle_proto::auction::INCREMENT_TABLE_NAMES.join(", ")
                ),
            )
        }),
        Some(IncrementsIn::Bands(bands)) => {
            let mut out = Vec::with_capacity(bands.len());
            for (i, b) in bands.iter().enumerate() {
                out.push(IncrementBand {
                    from: amount(currency, &format!("increments[{i}].from"), &b.from)?,
                    increment: amount(
                        currency,
                        &format!("increments[{i}].increment"),
                        &b.increment,
                    )?,
                });
            }
            IncrementTable::new(out)
                .map_err(|e| ApiError::bad_request("invalid_input", format!("increments: {e}")))
        }
    }
}

/// Create a sale (operator).
#[utoipa::path(post, path = "/api/v1/sales", tag = "sales", request_body = SaleIn,
    security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 401, body = crate::api::openapi::ErrorBody), (status = 403, body = crate::api::openapi::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    Body(sale): Body<SaleIn>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    require_operator_role(&s, &headers).await?;
    check_times(&sale.mode, sale.soft_close.as_ref())?;
    let spec = SaleSpec {
        increments: increments(sale.currency, sale.increments)?,
        title: sale.title,
        currency: sale.currency,
        mode: sale.mode,
        premium_bp: sale.premium_bp,
        soft_close: sale.soft_close,
    };
    match propose(&s, AuctionCommand::CreateSale { spec }).await? {
        (index, Accepted::SaleCreated { sale }) => Ok((
            StatusCode::CREATED,
            Json(Created {
                sale: sale.0,
                index,
            }),
        )),
        (_, other) => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}

/// New times for a timed sale (ms since the Unix epoch, like its `mode`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIn {
    /// When every lot opens.
    pub opens_at_ms: u64,
    /// When the first lot closes (after `opens_at_ms`).
    pub closes_at_ms: u64,
    /// Gap between consecutive lots' closes; the sale's current one when
    /// absent.
    #[serde(default)]
    pub stagger_ms: Option<u64>,
}

/// A schedule change, and its index.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scheduled {
    pub sale: u64,
    pub index: u64,
}

/// Move a timed sale's times before it starts (operator): refused with
/// `wrong_status` once any lot has opened, `wrong_mode` for a live sale.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/schedule", tag = "sales", request_body = ScheduleIn,
    params(("sale" = u64, Path, description = "Sale id")), security(("bearer" = [])),
    responses((status = 200, body = Scheduled), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`wrong_status` or `wrong_mode`")))]
pub async fn schedule(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<ScheduleIn>,
) -> Result<Json<Scheduled>, ApiError> {
    require_operator_role(&s, &headers).await?;
    json_safe_ms("opens_at_ms", b.opens_at_ms)?;
    json_safe_ms("closes_at_ms", b.closes_at_ms)?;
    if let Some(ms) = b.stagger_ms {
        json_safe_ms("stagger_ms", ms)?;
    }
    let stagger_ms = match b.stagger_ms {
        Some(ms) => ms,
        None => {
            match read::sale_record(
                &super::propose::write_sale(&s, SaleId(sale)).await?.0,
                SaleId(sale),
            )
            .map_err(damaged)?
            .map(|x| x.spec.mode)
            {
                Some(SaleMode::Timed { stagger_ms, .. }) => stagger_ms,
                _ => 0,
            }
        }
    };
    let cmd = AuctionCommand::ScheduleSale {
        sale: SaleId(sale),
        opens_at_ms: b.opens_at_ms,
        closes_at_ms: b.closes_at_ms,
        stagger_ms,
    };
    match propose(&s, cmd).await? {
        (index, Accepted::SaleScheduled { sale }) => Ok(Json(Scheduled {
            sale: sale.0,
            index,
        })),
        (_, other) => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}
