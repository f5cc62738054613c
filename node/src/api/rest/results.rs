//! Results (JSON and CSV), statistics and the stored event stream of a sale.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::Json;
use paddle_proto::auction::{EventRecord, LotResult, LotStatus, SaleId, SaleStats};
use paddle_proto::Currency;
use serde::{Deserialize, Serialize};

use super::fields::{damaged, sale_currency, Read};
use crate::api::auth::require_staff;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::reads::{read_headers, view_for, ReadQuery};
use crate::api::state::AppState;
use crate::api::ws::hub::{is_for, Audience};
use paddle_auction::read;

/// How each finished lot of a sale ended.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResultsOut {
    pub applied_index: u64,
    pub sale: u64,
    pub currency_exponent: u8,
    /// Sold and passed lots, in catalogue order.
    pub results: Vec<LotResult>,
}

/// A sale's results.
#[utoipa::path(get, path = "/api/v1/sales/{sale}/results", tag = "results",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery),
    responses((status = 200, body = ResultsOut), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn results(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    Query(rq): Query<ReadQuery>,
) -> Read<ResultsOut> {
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, SaleId(sale))?;
    let results = read::results(&view, SaleId(sale)).map_err(damaged)?;
    Ok((
        read_headers(&s, &view),
        Json(ResultsOut {
            applied_index: view.applied_index(),
            sale,
            currency_exponent: currency.exponent(),
            results,
        }),
    ))
}

pub(crate) fn status_name(s: LotStatus) -> &'static str {
    match s {
        LotStatus::Scheduled => "scheduled",
        LotStatus::Open => "open",
        LotStatus::FairWarning => "fair_warning",
        LotStatus::Sold => "sold",
        LotStatus::Passed => "passed",
        LotStatus::Withdrawn => "withdrawn",
    }
}

/// A cell as a spreadsheet may read it safely: a cell that starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
/// LibreOffice and Google Sheets (CSV injection, OWASP), so it gets a
/// leading `'`, which they show as text. Every other cell is unchanged; the
/// csv crate still quotes what needs quoting, so the file stays valid CSV.
pub fn csv_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// The results as CSV, amounts as decimals in the sale's currency; every
/// cell through [`csv_cell`].
pub fn results_csv_text(currency: Currency, rows: &[(LotResult, String)]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "lot",
        "title",
        "status",
        "winner_paddle",
        "hammer",
        "buyers_premium",
        "total",
    ]);
    let fmt = |m: Option<paddle_proto::Money>| m.map(|m| currency.format(m)).unwrap_or_default();
    for (r, title) in rows {
        let cells = [
            r.lot.0.to_string(),
            title.clone(),
            status_name(r.status).to_string(),
            r.winner.map(|p| p.0.to_string()).unwrap_or_default(),
            fmt(r.hammer),
            fmt(r.premium),
            fmt(r.total),
        ];
        let _ = w.write_record(cells.iter().map(|c| csv_cell(c).into_owned()));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A sale's results as CSV: lot, title, status, winner paddle, hammer,
/// buyer's premium, total.
#[utoipa::path(get, path = "/api/v1/sales/{sale}/results.csv", tag = "results",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn results_csv(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    Query(rq): Query<ReadQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, SaleId(sale))?;
    let lots = read::lots(&view, SaleId(sale))
        .map_err(damaged)?
        .unwrap_or_default();
    let rows: Vec<(LotResult, String)> = lots
        .into_iter()
        .filter_map(|l| l.result.map(|r| (r, l.title)))
        .collect();
    let mut headers = HeaderMap::new();
    for (k, v) in read_headers(&s, &view) {
        headers.insert(k, v);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"sale-{sale}-results.csv\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, results_csv_text(currency, &rows)))
}

/// Statistics of a sale.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsOut {
    pub applied_index: u64,
    pub stats: SaleStats,
}

/// Per-bidder (bids, wins, spend) and per-lot (bids, unique bidders, price
/// rise) statistics (clerk or operator).
#[utoipa::path(get, path = "/api/v1/sales/{sale}/stats", tag = "results",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = StatsOut), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn stats(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<StatsOut> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    sale_currency(&view, SaleId(sale))?;
    let stats = read::stats(&view, SaleId(sale)).map_err(damaged)?;
    Ok((
        read_headers(&s, &view),
        Json(StatsOut {
            applied_index: view.applied_index(),
            stats,
        }),
    ))
}

/// Which events to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events with a log index strictly after this (default 0: all).
    pub since: Option<u64>,
    /// At most this many (1–10000, default 1000).
    pub limit: Option<usize>,
}

/// Stored public events of a sale.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventsOut {
    pub applied_index: u64,
    pub events: Vec<EventRecord>,
    /// True when `limit` cut the list: ask again with `since` = the last index.
    pub more: bool,
}

/// A sale's public events after `since`, in order (never `outbid`).
#[utoipa::path(get, path = "/api/v1/sales/{sale}/events", tag = "results",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery, EventsQuery),
    responses((status = 200, body = EventsOut), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn events(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    Query(rq): Query<ReadQuery>,
    Query(q): Query<EventsQuery>,
) -> Read<EventsOut> {
    let limit = q.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_request",
            "limit must be 1 to 10000",
        ));
    }
    let view = view_for(&s, &rq).await?;
    sale_currency(&view, SaleId(sale))?;
    let mut events: Vec<EventRecord> =
        read::events_after(&view, SaleId(sale), q.since.unwrap_or(0))
            .map_err(damaged)?
            .into_iter()
            .filter(|r| is_for(r, Audience::Public))
            .collect();
    // Never cut inside one index: `since` resumes after a whole index.
    let mut more = false;
    if events.len() > limit {
        let cut_index = events[limit].index;
        events.retain(|e| e.index < cut_index);
        more = true;
        if events.is_empty() {
            return Err(ApiError::bad_request(
                "bad_request",
                "limit is smaller than the events of one log index; raise it",
            ));
        }
    }
    Ok((
        read_headers(&s, &view),
        Json(EventsOut {
            applied_index: view.applied_index(),
            events,
            more,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddle_proto::auction::{LotId, Paddle};
    use paddle_proto::Money;

    #[test]
    fn formula_cells_are_neutralised_and_the_csv_stays_valid() {
        for bad in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(csv_cell(bad), format!("'{bad}"));
        }
        assert_eq!(csv_cell("Clock, brass"), "Clock, brass");
        assert_eq!(csv_cell(""), "");
        let row = LotResult {
            lot: LotId(3),
            status: LotStatus::Sold,
            winner: Some(Paddle(7)),
            hammer: Money::from_minor(12_500).ok(),
            premium: None,
            total: None,
            pass_reason: None,
            buy_now: false,
            at_ms: 0,
        };
        let text = results_csv_text(Currency::EUR, &[(row, "=cmd|' /C calc'!A0, \"x\"".into())]);
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let rec = rdr.records().next().unwrap().unwrap();
        assert_eq!(&rec[1], "'=cmd|' /C calc'!A0, \"x\"");
        assert_eq!(&rec[4], "125.00");
    }
}
