//! Settlement writes: a sale's terms and consignors (operator), lots'
//! consignors (operator), payments and goods released (clerk; refunds and
//! releases with a balance: operator, with a reason).
//!
//! Each is one command through the log, checked for role and shape here
//! and for the rules at apply; a refusal changes nothing. Answers are read
//! back once this node has applied the write, so a page shows the invoice
//! as committed whichever node took the payment.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use paddle_proto::auction::{
    Accepted, AuctionCommand, Consignor, Invoice, LotConsignor, LotId, Paddle, PaymentMethod,
    SaleId, SettlementTerms,
};
use paddle_proto::Currency;
use serde::{Deserialize, Serialize};

use super::fields::{amount, damaged};
use super::propose::{propose, propose_keyed, write_sale};
use crate::api::auth::{require_operator_role, require_staff, Caller};
use crate::api::error::ApiError;
use crate::api::extract::{Body, Path};
use crate::api::reads::fresh_view;
use crate::api::state::AppState;
use paddle_auction::records::{bidder_key, tree};
use paddle_auction::settle::read as settle_read;

/// How long a write's answer waits for this node to apply it.
const APPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Set a sale's settlement terms (operator).
#[utoipa::path(post, path = "/api/v1/sales/{sale}/settlement", tag = "settlement",
    request_body = SettlementTerms, security(("bearer" = [])),
    params(("sale" = u64, Path, description = "Sale id")),
    responses((status = 200, body = super::bidders::Done), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn set_terms(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Body(terms): Body<SettlementTerms>,
) -> Result<Json<super::bidders::Done>, ApiError> {
    require_operator_role(&s, &headers).await?;
    write_sale(&s, SaleId(sale)).await?;
    let cmd = AuctionCommand::SetSettlementTerms {
        sale: SaleId(sale),
        terms,
    };
    let (index, _) = propose(&s, cmd).await?;
    Ok(Json(super::bidders::Done { index }))
}

/// A consignor's details.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsignorIn {
    /// Unique (ignoring case), 1–100 characters.
    pub name: String,
    /// Phone, e-mail, bank details (≤ 500 characters).
    #[serde(default)]
    pub contact: String,
    /// Their own commission in basis points; `null`: the sale's.
    #[serde(default)]
    pub commission_bp: Option<u32>,
}

/// A consignor as saved.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsignorSaved {
    pub consignor: Consignor,
    pub index: u64,
}

async fn saved(s: &AppState, index: u64, id: u32) -> Result<Json<ConsignorSaved>, ApiError> {
    let view = s.consensus.wait_applied(index, APPLY_WAIT).await?;
    let consignor = settle_read::consignor(&view, id)
        .map_err(damaged)?
        .ok_or_else(|| ApiError::internal("a saved consignor vanished"))?;
    Ok(Json(ConsignorSaved { consignor, index }))
}

/// Add a consignor (operator): `409 duplicate` when the name is taken.
#[utoipa::path(post, path = "/api/v1/consignors", tag = "settlement", request_body = ConsignorIn,
    security(("bearer" = [])),
    responses((status = 201, body = ConsignorSaved), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`duplicate`: the name is taken")))]
pub async fn create_consignor(
    State(s): State<AppState>,
    headers: HeaderMap,
    Body(c): Body<ConsignorIn>,
) -> Result<(StatusCode, Json<ConsignorSaved>), ApiError> {
    require_operator_role(&s, &headers).await?;
    let cmd = AuctionCommand::CreateConsignor {
        name: c.name,
        contact: c.contact,
        commission_bp: c.commission_bp,
    };
    match propose(&s, cmd).await? {
        (index, Accepted::ConsignorSaved { consignor }) => {
            Ok((StatusCode::CREATED, saved(&s, index, consignor).await?))
        }
        (_, other) => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}

/// Change a consignor's details (operator).
#[utoipa::path(put, path = "/api/v1/consignors/{id}", tag = "settlement", request_body = ConsignorIn,
    security(("bearer" = [])), params(("id" = u32, Path, description = "Consignor id")),
    responses((status = 200, body = ConsignorSaved), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody)))]
pub async fn edit_consignor(
    State(s): State<AppState>,
    Path(id): Path<u32>,
    headers: HeaderMap,
    Body(c): Body<ConsignorIn>,
) -> Result<Json<ConsignorSaved>, ApiError> {
    require_operator_role(&s, &headers).await?;
    let cmd = AuctionCommand::EditConsignor {
        id,
        name: c.name,
        contact: c.contact,
        commission_bp: c.commission_bp,
    };
    let (index, _) = propose(&s, cmd).await?;
    saved(&s, index, id).await
}

/// One lot's consignor.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotConsignorIn {
    pub lot: u64,
    /// `null` clears it.
    pub consignor: Option<u32>,
}

/// Lots' consignors.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotConsignorsIn {
    /// 1 to 1 000 lots of the sale.
    pub lots: Vec<LotConsignorIn>,
}

/// Name the consignor of lots (operator).
#[utoipa::path(post, path = "/api/v1/sales/{sale}/lot-consignors", tag = "settlement",
    request_body = LotConsignorsIn, security(("bearer" = [])),
    params(("sale" = u64, Path, description = "Sale id")),
    responses((status = 200, body = super::bidders::Done), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn lot_consignors(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<LotConsignorsIn>,
) -> Result<Json<super::bidders::Done>, ApiError> {
    require_operator_role(&s, &headers).await?;
    write_sale(&s, SaleId(sale)).await?;
    let lots = b
        .lots
        .into_iter()
        .map(|l| LotConsignor {
            lot: LotId(l.lot),
            consignor: l.consignor,
        })
        .collect();
    let (index, _) = propose(
        &s,
        AuctionCommand::SetLotConsignors {
            sale: SaleId(sale),
            lots,
        },
    )
    .await?;
    Ok(Json(super::bidders::Done { index }))
}

/// A payment (or a refund) on a buyer's invoice.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    /// The client's id for this payment (1–64 of `A-Z a-z 0-9 _ - . :`):
    /// sending it again changes nothing.
    pub payment_id: String,
    /// Decimal string in the sale's currency; a leading `-` is a refund
    /// (operator only, with a `reason`).
    #[schema(example = "120.50")]
    pub amount: String,
    pub method: PaymentMethod,
    /// Card slip or transfer reference (≤ 100 characters).
    #[serde(default)]
    pub reference: Option<String>,
    /// Why (required for a refund; ≤ 500 characters).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The invoice after a write.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvoiceChanged {
    pub index: u64,
    pub invoice: Invoice,
}

/// A signed amount in the sale's currency: `-` then an amount.
pub fn signed_amount(currency: Currency, field: &str, text: &str) -> Result<i64, ApiError> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let m = amount(currency, field, digits)?.minor();
    if m == 0 {
        return Err(ApiError::bad_request(
            "invalid_amount",
            format!("{field}: a payment of zero changes nothing"),
        ));
    }
    Ok(if neg { -m } else { m })
}

async fn invoice_after(
    s: &AppState,
    index: u64,
    sale: SaleId,
    paddle: Paddle,
) -> Result<Json<InvoiceChanged>, ApiError> {
    let view = s.consensus.wait_applied(index, APPLY_WAIT).await?;
    let invoice = settle_read::invoice(&view, sale, paddle)
        .map_err(damaged)?
        .ok_or_else(|| ApiError::internal("the invoice vanished"))?;
    Ok(Json(InvoiceChanged { index, invoice }))
}

/// Take a payment (clerk or operator; a refund, negative: operator only,
/// with a reason). Idempotent by `payment_id`.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/invoices/{paddle}/payments", tag = "settlement",
    request_body = PaymentIn, security(("bearer" = [])),
    params(("sale" = u64, Path, description = "Sale id"), ("paddle" = u32, Path, description = "Buyer's paddle")),
    responses((status = 201, body = InvoiceChanged), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody, description = "a bidder token; a refund without the operator's; `not_registered`"),
              (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`nothing_won`; `duplicate`: the payment id was used with other fields")))]
pub async fn pay(
    State(s): State<AppState>,
    Path((sale, paddle)): Path<(u64, u32)>,
    headers: HeaderMap,
    Body(p): Body<PaymentIn>,
) -> Result<(StatusCode, Json<InvoiceChanged>), ApiError> {
    let who = require_staff(&s, &headers).await?;
    let (_, currency) = write_sale(&s, SaleId(sale)).await?;
    let amount = signed_amount(currency, "amount", p.amount.trim())?;
    if amount < 0 && who != Caller::Operator {
        return Err(ApiError::forbidden(
            "a refund (a negative amount) is for the operator",
        ));
    }
    // A buyer registered through another node a moment ago.
    fresh_view(&s, |v| {
        v.get(tree::BIDDERS, &bidder_key(SaleId(sale), Paddle(paddle)))
            .is_some()
    })
    .await?;
    let cmd = AuctionCommand::RecordPayment {
        sale: SaleId(sale),
        paddle: Paddle(paddle),
        payment_id: p.payment_id,
        amount,
        method: p.method,
        reference: p.reference.unwrap_or_default(),
        reason: p.reason.unwrap_or_default(),
    };
    // The payment id makes a repeat harmless, so an unknown outcome is
    // proposed again.
    let (index, _) = propose_keyed(&s, cmd).await?;
    Ok((
        StatusCode::CREATED,
        invoice_after(&s, index, SaleId(sale), Paddle(paddle)).await?,
    ))
}

/// Goods released.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectedIn {
    pub lot: u64,
    /// Operator only: release although the invoice has a balance, saying why.
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// Mark a lot's goods released to its buyer (clerk or operator): refused
/// `409 balance_due` while the invoice has a balance unless the operator
/// gives `override_reason`; `409 already_collected` the second time.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/invoices/{paddle}/collected", tag = "settlement",
    request_body = CollectedIn, security(("bearer" = [])),
    params(("sale" = u64, Path, description = "Sale id"), ("paddle" = u32, Path, description = "Buyer's paddle")),
    responses((status = 200, body = InvoiceChanged), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`balance_due`, `already_collected`, `wrong_status`")))]
pub async fn collected(
    State(s): State<AppState>,
    Path((sale, paddle)): Path<(u64, u32)>,
    headers: HeaderMap,
    Body(c): Body<CollectedIn>,
) -> Result<Json<InvoiceChanged>, ApiError> {
    let who = require_staff(&s, &headers).await?;
    if c.override_reason.is_some() && who != Caller::Operator {
        return Err(ApiError::forbidden(
            "releasing goods with a balance is for the operator",
        ));
    }
    let (view, _) = write_sale(&s, SaleId(sale)).await?;
    let lot = paddle_auction::read::lot_record(&view, LotId(c.lot))
        .map_err(damaged)?
        .filter(|l| l.sale == SaleId(sale));
    let winner = lot.and_then(|l| l.result).and_then(|r| r.winner);
    if winner.is_some_and(|w| w != Paddle(paddle)) {
        return Err(ApiError::conflict(
            "not_buyer",
            format!("lot {} was not bought by paddle {paddle}", c.lot),
        ));
    }
    let cmd = AuctionCommand::MarkCollected {
        sale: SaleId(sale),
        lot: LotId(c.lot),
        override_reason: c.override_reason,
    };
    match propose(&s, cmd).await? {
        (index, Accepted::Collected { paddle: p, .. }) => {
            invoice_after(&s, index, SaleId(sale), p).await
        }
        (_, other) => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}
