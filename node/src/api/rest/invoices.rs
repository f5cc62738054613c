//! Settlement reads: invoices (staff, or a bidder their own), consignors,
//! statements, the operator's summary, and CSV exports of invoices,
//! payments and statements (every cell through [`csv_cell`]).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::Json;
use paddle_consensus::KvView;
use paddle_proto::auction::{
    Consignor, Invoice, InvoiceStatus, Paddle, SaleId, SettlementSummary, SettlementTerms,
    Statement,
};
use paddle_proto::{Currency, Money};
use serde::{Deserialize, Serialize};

use super::fields::{damaged, sale_currency, Read};
use super::results::csv_cell;
use crate::api::auth::{require_caller, require_staff, Caller};
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::reads::{read_headers, view_for, ReadQuery};
use crate::api::state::AppState;
use paddle_auction::settle::read as settle_read;

/// A sale's invoices.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvoicesOut {
    pub applied_index: u64,
    pub sale: u64,
    pub currency_exponent: u8,
    /// One per buyer, by paddle.
    pub invoices: Vec<Invoice>,
}

/// Which invoices.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceFilter {
    /// `unpaid`, `part_paid`, `paid` or `credit`; left out: all.
    pub status: Option<InvoiceStatus>,
}

fn invoices_of(view: &KvView, sale: u64) -> Result<Vec<Invoice>, ApiError> {
    settle_read::invoices(view, SaleId(sale))
        .map_err(damaged)?
        .ok_or_else(|| ApiError::not_found("unknown_sale", format!("there is no sale {sale}")))
}

/// Every buyer's invoice (clerk or operator), optionally by status.
#[utoipa::path(get, path = "/api/v1/sales/{sale}/invoices", tag = "settlement",
    params(("sale" = u64, Path, description = "Sale id"), InvoiceFilter, ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = InvoicesOut), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(f): Query<InvoiceFilter>,
    Query(rq): Query<ReadQuery>,
) -> Read<InvoicesOut> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, SaleId(sale))?;
    let invoices = invoices_of(&view, sale)?
        .into_iter()
        .filter(|i| f.status.is_none_or(|st| st == i.status))
        .collect();
    Ok((
        read_headers(&s, &view),
        Json(InvoicesOut {
            applied_index: view.applied_index(),
            sale,
            currency_exponent: currency.exponent(),
            invoices,
        }),
    ))
}

/// One invoice.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvoiceOut {
    pub applied_index: u64,
    pub currency_exponent: u8,
    pub invoice: Invoice,
}

/// One buyer's invoice: staff, or the bidder with their own token.
/// `404 nothing_won` when the buyer won (and paid) nothing.
#[utoipa::path(get, path = "/api/v1/sales/{sale}/invoices/{paddle}", tag = "settlement",
    params(("sale" = u64, Path, description = "Sale id"), ("paddle" = u32, Path, description = "Buyer's paddle"), ReadQuery),
    security(("bearer" = [])),
    responses((status = 200, body = InvoiceOut), (status = 401, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn one(
    State(s): State<AppState>,
    Path((sale, paddle)): Path<(u64, u32)>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<InvoiceOut> {
    match require_caller(&s, &headers).await? {
        Caller::Bidder(b) if b.sale != SaleId(sale) || b.paddle != Paddle(paddle) => {
            return Err(ApiError::forbidden(
                "a bidder token may read its own invoice only",
            ))
        }
        _ => {}
    }
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, SaleId(sale))?;
    let invoice = settle_read::invoice(&view, SaleId(sale), Paddle(paddle))
        .map_err(damaged)?
        .ok_or_else(|| {
            ApiError::not_found(
                "nothing_won",
                format!("paddle {paddle} won nothing in sale {sale}: there is no invoice"),
            )
        })?;
    Ok((
        read_headers(&s, &view),
        Json(InvoiceOut {
            applied_index: view.applied_index(),
            currency_exponent: currency.exponent(),
            invoice,
        }),
    ))
}

/// A sale's settlement terms and the operator's summary.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SettlementOut {
    pub applied_index: u64,
    pub currency_exponent: u8,
    pub terms: SettlementTerms,
    pub summary: SettlementSummary,
}

/// Terms and summary: total hammer, premium, tax, commission, sell-through,
/// paid and outstanding (clerk or operator).
#[utoipa::path(get, path = "/api/v1/sales/{sale}/settlement", tag = "settlement",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = SettlementOut), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn settlement(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<SettlementOut> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, SaleId(sale))?;
    let summary = settle_read::summary(&view, SaleId(sale))
        .map_err(damaged)?
        .ok_or_else(|| ApiError::not_found("unknown_sale", format!("there is no sale {sale}")))?;
    Ok((
        read_headers(&s, &view),
        Json(SettlementOut {
            applied_index: view.applied_index(),
            currency_exponent: currency.exponent(),
            terms: settle_read::terms(&view, SaleId(sale)).map_err(damaged)?,
            summary,
        }),
    ))
}

/// Every consignor.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsignorsOut {
    pub applied_index: u64,
    pub consignors: Vec<Consignor>,
}

/// The house's consignors (clerk or operator).
#[utoipa::path(get, path = "/api/v1/consignors", tag = "settlement", params(ReadQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ConsignorsOut), (status = 403, body = crate::api::openapi::ErrorBody)))]
pub async fn consignors(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<ConsignorsOut> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    Ok((
        read_headers(&s, &view),
        Json(ConsignorsOut {
            applied_index: view.applied_index(),
            consignors: settle_read::consignors(&view).map_err(damaged)?,
        }),
    ))
}

/// A sale's consignor statements.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementsOut {
    pub applied_index: u64,
    pub currency_exponent: u8,
    pub statements: Vec<Statement>,
}

/// The statement of every consignor with lots in the sale (clerk or operator).
#[utoipa::path(get, path = "/api/v1/sales/{sale}/statements", tag = "settlement",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = StatementsOut), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn statements(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<StatementsOut> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, SaleId(sale))?;
    let statements = settle_read::statements(&view, SaleId(sale))
        .map_err(damaged)?
        .unwrap_or_default();
    Ok((
        read_headers(&s, &view),
        Json(StatementsOut {
            applied_index: view.applied_index(),
            currency_exponent: currency.exponent(),
            statements,
        }),
    ))
}

/// One statement.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementOut {
    pub applied_index: u64,
    pub currency_exponent: u8,
    pub statement: Statement,
}

/// One consignor's statement for a sale: lots sold and passed, hammer,
/// commission, net proceeds (clerk or operator).
#[utoipa::path(get, path = "/api/v1/sales/{sale}/consignors/{id}/statement", tag = "settlement",
    params(("sale" = u64, Path, description = "Sale id"), ("id" = u32, Path, description = "Consignor id"), ReadQuery),
    security(("bearer" = [])),
    responses((status = 200, body = StatementOut), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn statement(
    State(s): State<AppState>,
    Path((sale, id)): Path<(u64, u32)>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<StatementOut> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, SaleId(sale))?;
    let statement = settle_read::statement(&view, SaleId(sale), id)
        .map_err(damaged)?
        .ok_or_else(|| {
            ApiError::not_found("unknown_consignor", format!("there is no consignor {id}"))
        })?;
    Ok((
        read_headers(&s, &view),
        Json(StatementOut {
            applied_index: view.applied_index(),
            currency_exponent: currency.exponent(),
            statement,
        }),
    ))
}

fn status_name(s: InvoiceStatus) -> &'static str {
    match s {
        InvoiceStatus::Unpaid => "unpaid",
        InvoiceStatus::PartPaid => "part_paid",
        InvoiceStatus::Paid => "paid",
        InvoiceStatus::Credit => "credit",
    }
}

/// A signed amount in minor units as a decimal in the currency.
fn signed(c: Currency, v: i64) -> String {
    let m = Money::clamped(v.unsigned_abs().min(i64::MAX as u64) as i64);
    match v < 0 {
        true => format!("-{}", c.format(m)),
        false => c.format(m),
    }
}

/// Rows as CSV text, every cell through [`csv_cell`].
fn csv_text(head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(head);
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| csv_cell(c).into_owned()));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The invoices as CSV: one row per invoice line, then none for buyers
/// with payments only.
pub fn invoices_csv_text(c: Currency, invoices: &[Invoice]) -> String {
    let head = [
        "paddle",
        "name",
        "lot",
        "title",
        "hammer",
        "premium",
        "tax",
        "line_total",
        "collected",
        "invoice_total",
        "paid",
        "balance",
        "status",
    ];
    let mut rows = Vec::new();
    for i in invoices {
        for l in &i.lines {
            rows.push(vec![
                i.paddle.0.to_string(),
                i.name.clone(),
                l.lot.0.to_string(),
                l.title.clone(),
                c.format(l.hammer),
                c.format(l.premium),
                c.format(l.tax),
                c.format(l.total),
                l.collected.to_string(),
                c.format(i.total),
                signed(c, i.paid),
                signed(c, i.balance),
                status_name(i.status).to_string(),
            ]);
        }
    }
    csv_text(&head, rows)
}

/// The payments as CSV, buyer by buyer in the order recorded.
pub fn payments_csv_text(c: Currency, invoices: &[Invoice]) -> String {
    let head = [
        "paddle",
        "name",
        "payment_id",
        "amount",
        "method",
        "reference",
        "reason",
        "at_ms",
    ];
    let rows = invoices.iter().flat_map(|i| {
        i.payments.iter().map(move |p| {
            vec![
                i.paddle.0.to_string(),
                i.name.clone(),
                p.payment_id.clone(),
                signed(c, p.amount),
                serde_json::to_value(p.method)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                p.reference.clone(),
                p.reason.clone(),
                p.at_ms.to_string(),
            ]
        })
    });
    csv_text(&head, rows)
}

/// The statements as CSV: one row per lot of each consignor.
pub fn statements_csv_text(c: Currency, statements: &[Statement]) -> String {
    let head = [
        "consignor",
        "consignor_name",
        "lot",
        "title",
        "status",
        "hammer",
        "commission_bp",
        "commission",
        "net",
    ];
    let rows = statements.iter().flat_map(|s| {
        s.lines.iter().map(move |l| {
            vec![
                s.consignor.id.to_string(),
                s.consignor.name.clone(),
                l.lot.0.to_string(),
                l.title.clone(),
                serde_json::to_value(l.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                c.format(l.hammer),
                l.commission_bp.to_string(),
                c.format(l.commission),
                c.format(l.net),
            ]
        })
    });
    csv_text(&head, rows)
}

fn csv_response(s: &AppState, view: &KvView, name: String, body: String) -> impl IntoResponse {
    let mut headers = HeaderMap::new();
    for (k, v) in read_headers(s, view) {
        headers.insert(k, v);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    (headers, body)
}

/// Invoices as CSV (clerk or operator).
#[utoipa::path(get, path = "/api/v1/sales/{sale}/invoices.csv", tag = "settlement",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn invoices_csv(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Result<impl IntoResponse, ApiError> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let c = sale_currency(&view, SaleId(sale))?;
    let text = invoices_csv_text(c, &invoices_of(&view, sale)?);
    Ok(csv_response(
        &s,
        &view,
        format!("sale-{sale}-invoices.csv"),
        text,
    ))
}

/// Payments and refunds as CSV (clerk or operator).
#[utoipa::path(get, path = "/api/v1/sales/{sale}/payments.csv", tag = "settlement",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn payments_csv(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Result<impl IntoResponse, ApiError> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let c = sale_currency(&view, SaleId(sale))?;
    let text = payments_csv_text(c, &invoices_of(&view, sale)?);
    Ok(csv_response(
        &s,
        &view,
        format!("sale-{sale}-payments.csv"),
        text,
    ))
}

/// Consignor statements as CSV (clerk or operator).
#[utoipa::path(get, path = "/api/v1/sales/{sale}/statements.csv", tag = "settlement",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn statements_csv(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Result<impl IntoResponse, ApiError> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let c = sale_currency(&view, SaleId(sale))?;
    let statements = settle_read::statements(&view, SaleId(sale))
        .map_err(damaged)?
        .unwrap_or_default();
    let text = statements_csv_text(c, &statements);
    Ok(csv_response(
        &s,
        &view,
        format!("sale-{sale}-statements.csv"),
        text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddle_proto::auction::{InvoiceLine, LotId, Payment, PaymentMethod, TaxBasis};

    #[test]
    fn csv_exports_neutralise_formulas_and_keep_decimals() {
        let m = |v| Money::from_minor(v).unwrap();
        let inv = Invoice {
            sale: SaleId(1),
            paddle: Paddle(7),
            name: "=HYPERLINK(\"x\")".into(),
            currency: Currency::BHD,
            premium_bp: 1_000,
            tax_bp: 0,
            tax_on: TaxBasis::None,
            house_name: String::new(),
            house_address: String::new(),
            lines: vec![InvoiceLine {
                lot: LotId(3),
                position: 0,
                title: "+cmd|' /C calc'!A0".into(),
                hammer: m(1_005),
                premium: m(101),
                tax: m(0),
                total: m(1_106),
                collected: false,
            }],
            hammer: m(1_005),
            premium: m(101),
            tax: m(0),
            total: m(1_106),
            payments: vec![Payment {
                payment_id: "p1".into(),
                amount: -5,
                method: PaymentMethod::Cash,
                reference: "@SUM(A1)".into(),
                reason: "-refund".into(),
                at_ms: 9,
            }],
            paid: -5,
            balance: 1_111,
            status: InvoiceStatus::Unpaid,
        };
        let text = invoices_csv_text(Currency::BHD, std::slice::from_ref(&inv));
        assert!(text.contains("'=HYPERLINK"), "{text}");
        assert!(text.contains("'+cmd"), "{text}");
        assert!(
            text.contains("1.005,0.101,0.000,1.106,false,1.106,'-0.005,1.111,unpaid"),
            "{text}"
        );
        let text = payments_csv_text(Currency::BHD, &[inv]);
        assert!(text.contains("'-0.005,cash,'@SUM(A1),'-refund,9"), "{text}");
    }
}
