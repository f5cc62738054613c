//! A sale's analytics (JSON and one CSV per table) and a bidder's own
//! history.
//!
//! The figures come from the engine's read functions
//! (`paddle_auction::analytics`) over this node's view, so every node at
//! the same applied index answers the same; only the watchers series is
//! this node's own (presence is not in the log). Anyone gets the public
//! subset (paddle numbers only, no per-bidder table); a clerk or operator
//! token adds names and the per-bidder figures.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::Json;
use paddle_auction::analytics::{bidder_history, sale_analytics, Audience};
use paddle_proto::auction::{BidderHistory, SaleAnalytics, SaleId};
use paddle_proto::{Currency, Money};
use serde::{Deserialize, Serialize};

use super::fields::{damaged, sale_currency, Read};
use super::results::{csv_cell, status_name};
use crate::api::auth::{caller, require_bidder};
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::reads::{read_headers, view_for, ReadQuery};
use crate::api::state::AppState;
use crate::api::ws::presence::SAMPLE_EVERY_MS;

/// One sample of a sale's watchers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WatcherSample {
    /// Cluster time of the sample (ms).
    pub at_ms: u64,
    /// Connections following the sale over every node that answered.
    pub watchers: u64,
}

/// Watchers over time as the answering node sampled them: presence is not
/// in the log, so this series is per node (and starts again when it
/// restarts).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WatcherSeries {
    /// The node that sampled it.
    pub node: u64,
    /// Cluster time between samples (ms).
    pub every_ms: u64,
    /// Oldest first (at most six hours).
    pub samples: Vec<WatcherSample>,
}

/// A sale's analytics.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalyticsOut {
    pub applied_index: u64,
    pub currency: Currency,
    pub currency_exponent: u8,
    /// `staff` (names and the per-bidder table) or `public`.
    pub audience: String,
    /// Every figure derived from the replicated state (equal on every node
    /// at the same `applied_index`).
    pub analytics: SaleAnalytics,
    /// This node's samples of the watchers.
    pub watchers: WatcherSeries,
}

async fn audience(s: &AppState, headers: &HeaderMap) -> Result<Audience, ApiError> {
    Ok(match caller(s, headers).await? {
        Some(c) if c.is_staff() => Audience::Staff,
        _ => Audience::Public,
    })
}

/// The figures of `sale` for `who` at the view's index: from the cache, or
/// derived off the async runtime (a large sale takes a while).
async fn load(
    s: &AppState,
    view: &paddle_consensus::KvView,
    sale: u64,
    who: Audience,
) -> Result<Arc<SaleAnalytics>, ApiError> {
    let index = view.applied_index();
    if let Some(a) = s.api.analytics.get(sale, who, index) {
        return Ok(a);
    }
    let v = view.clone();
    let derived = tokio::task::spawn_blocking(move || sale_analytics(&v, SaleId(sale), who))
        .await
        .map_err(|e| ApiError::internal(format!("the analytics task failed: {e}")))?
        .map_err(damaged)?
        .ok_or_else(|| ApiError::not_found("unknown_sale", format!("there is no sale {sale}")))?;
    let a = Arc::new(derived);
    s.api.analytics.put(sale, who, index, a.clone());
    Ok(a)
}

fn watchers(s: &AppState, sale: u64) -> WatcherSeries {
    WatcherSeries {
        node: s.consensus.id(),
        every_ms: SAMPLE_EVERY_MS,
        samples: s
            .api
            .presence
            .samples(sale)
            .into_iter()
            .map(|(at_ms, watchers)| WatcherSample { at_ms, watchers })
            .collect(),
    }
}

/// A sale's dashboard figures: totals, sell-through, bids over time,
/// per-lot and per-bidder figures, leaderboards, and this node's watchers
/// samples. Anyone: the public subset; clerk or operator: with names and
/// the per-bidder table.
#[utoipa::path(get, path = "/api/v1/sales/{sale}/analytics", tag = "results",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery),
    responses((status = 200, body = AnalyticsOut), (status = 401, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn analytics(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<AnalyticsOut> {
    let who = audience(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, SaleId(sale))?;
    let analytics = load(&s, &view, sale, who).await?;
    Ok((
        read_headers(&s, &view),
        Json(AnalyticsOut {
            applied_index: view.applied_index(),
            currency,
            currency_exponent: currency.exponent(),
            audience: match who {
                Audience::Staff => "staff",
                Audience::Public => "public",
            }
            .into(),
            analytics: (*analytics).clone(),
            watchers: watchers(&s, sale),
        }),
    ))
}

/// Which table to download.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TableQuery {
    /// `summary`, `lots`, `bidders` (staff only), `top_spend`, `top_bids`,
    /// `bids_over_time` or `watchers`.
    pub table: String,
}

/// The tables a CSV may be asked for.
pub const TABLES: [&str; 7] = [
    "summary",
    "lots",
    "bidders",
    "top_spend",
    "top_bids",
    "bids_over_time",
    "watchers",
];

/// `bp` basis points as a percentage with two decimals (`1234` → `12.34`).
pub fn percent(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let a = bp.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// One table of the analytics as CSV text, every cell through
/// [`csv_cell`]; `None` for a table name it does not know.
pub fn table_csv(
    table: &str,
    a: &SaleAnalytics,
    w: &WatcherSeries,
    currency: Currency,
) -> Option<String> {
    let money = |m: Money| currency.format(m);
    let opt = |m: Option<Money>| m.map(money).unwrap_or_default();
    let num = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let mut rows: Vec<Vec<String>> = Vec::new();
    match table {
        "summary" => {
            let s = &a.summary;
            rows.push(vec!["figure".into(), "value".into()]);
            let pairs: [(&str, String); 17] = [
                ("lots", s.lots.to_string()),
                ("scheduled", s.scheduled.to_string()),
                ("open", s.open.to_string()),
                ("sold", s.sold.to_string()),
                ("passed", s.passed.to_string()),
                ("withdrawn", s.withdrawn.to_string()),
                (
                    "sell_through_percent",
                    s.sell_through_bp
                        .map(|b| percent(b as i64))
                        .unwrap_or_default(),
                ),
                ("hammer_total", money(s.hammer_total)),
                ("premium_total", money(s.premium_total)),
                ("total", money(s.total)),
                ("bids", s.bids.to_string()),
                ("retracted", s.retracted.to_string()),
                ("active_bidders", s.active_bidders.to_string()),
                ("registered", s.registered.to_string()),
                ("extensions", s.extensions.to_string()),
                ("operator_extensions", s.operator_extensions.to_string()),
                ("currency", currency.code().to_string()),
            ];
            rows.extend(pairs.into_iter().map(|(k, v)| vec![k.to_string(), v]));
        }
        "lots" => {
            rows.push(
                [
                    "lot",
                    "position",
                    "title",
                    "status",
                    "start",
                    "price",
                    "hammer",
                    "bids",
                    "unique_bidders",
                    "rise_percent",
                    "time_to_first_bid_s",
                    "extensions",
                    "winner_paddle",
                    "underbidder_paddle",
                ]
                .map(String::from)
                .to_vec(),
            );
            for l in &a.lots {
                rows.push(vec![
                    l.lot.0.to_string(),
                    (l.position + 1).to_string(),
                    l.title.clone(),
                    status_name(l.status).to_string(),
                    money(l.start),
                    opt(l.price),
                    opt(l.hammer),
                    l.bids.to_string(),
                    l.unique_bidders.to_string(),
                    l.rise_bp.map(percent).unwrap_or_default(),
                    l.time_to_first_bid_ms
                        .map(|ms| format!("{}.{:03}", ms / 1000, ms % 1000))
                        .unwrap_or_default(),
                    l.extensions.to_string(),
                    num(l.winner.map(|p| p.0 as u64)),
                    num(l.underbidder.map(|p| p.0 as u64)),
                ]);
            }
        }
        "bidders" => {
            rows.push(
                [
                    "paddle", "name", "bids", "lots_bid", "wins", "spend", "outbid",
                ]
                .map(String::from)
                .to_vec(),
            );
            for b in &a.bidders {
                rows.push(vec![
                    b.paddle.0.to_string(),
                    b.name.clone().unwrap_or_default(),
                    b.bids.to_string(),
                    b.lots_bid.to_string(),
                    b.wins.to_string(),
                    money(b.spend),
                    b.outbid.to_string(),
                ]);
            }
        }
        "top_spend" | "top_bids" => {
            let list = if table == "top_spend" {
                &a.top_by_spend
            } else {
                &a.top_by_bids
            };
            rows.push(
                ["rank", "paddle", "name", "bids", "wins", "spend"]
                    .map(String::from)
                    .to_vec(),
            );
            for r in list {
                rows.push(vec![
                    r.rank.to_string(),
                    r.paddle.0.to_string(),
                    r.name.clone().unwrap_or_default(),
                    r.bids.to_string(),
                    r.wins.to_string(),
                    money(r.spend),
                ]);
            }
        }
        "bids_over_time" => {
            rows.push(["start_ms", "bucket_ms", "bids"].map(String::from).to_vec());
            for b in &a.bids_over_time.buckets {
                rows.push(vec![
                    b.start_ms.to_string(),
                    a.bids_over_time.bucket_ms.to_string(),
                    b.bids.to_string(),
                ]);
            }
        }
        "watchers" => {
            rows.push(
                ["at_ms", "watchers", "sampled_by_node"]
                    .map(String::from)
                    .to_vec(),
            );
            for s in &w.samples {
                rows.push(vec![
                    s.at_ms.to_string(),
                    s.watchers.to_string(),
                    w.node.to_string(),
                ]);
            }
        }
        _ => return None,
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    for r in rows {
        let _ = out.write_record(r.iter().map(|c| csv_cell(c).into_owned()));
    }
    Some(String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default())
}

/// One table of a sale's analytics as CSV (`table=`): amounts as decimals
/// in the sale's currency, percentages with two decimals, cells that a
/// spreadsheet would run as a formula prefixed with `'`. `bidders` is for
/// clerks and the operator (`403` otherwise); in the others names are
/// empty for the public.
#[utoipa::path(get, path = "/api/v1/sales/{sale}/analytics.csv", tag = "results",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery, TableQuery),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn analytics_csv(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
    Query(tq): Query<TableQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let table = tq.table.as_str();
    if !TABLES.contains(&table) {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("table must be one of {}", TABLES.join(", ")),
        ));
    }
    let who = audience(&s, &headers).await?;
    if table == "bidders" && who != Audience::Staff {
        return Err(ApiError::forbidden(
            "the per-bidder table is for clerks and the operator",
        ));
    }
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, SaleId(sale))?;
    let a = load(&s, &view, sale, who).await?;
    let text = table_csv(table, &a, &watchers(&s, sale), currency).unwrap_or_default();
    let mut out = HeaderMap::new();
    for (k, v) in read_headers(&s, &view) {
        out.insert(k, v);
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"sale-{sale}-{table}.csv\""))
    {
        out.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((out, text))
}

/// A bidder's own history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryOut {
    pub applied_index: u64,
    pub currency: Currency,
    pub currency_exponent: u8,
    pub history: BidderHistory,
}

/// The caller's own history in their sale (bidder token): every bid with
/// its maximum, where they stand on each lot, the lots won and the spend.
#[utoipa::path(get, path = "/api/v1/me/history", tag = "bids", params(ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = HistoryOut), (status = 401, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody)))]
pub async fn history(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<HistoryOut> {
    let who = require_bidder(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, who.sale)?;
    let history = bidder_history(&view, who.sale, who.paddle)
        .map_err(damaged)?
        .ok_or_else(|| {
            ApiError::not_found("unknown_sale", format!("there is no sale {}", who.sale))
        })?;
    Ok((
        read_headers(&s, &view),
        Json(HistoryOut {
            applied_index: view.applied_index(),
            currency,
            currency_exponent: currency.exponent(),
            history,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddle_auction::analytics::timeline;
    use paddle_proto::auction::{
        AnalyticsSummary, LeaderRow, LotAnalytics, LotId, LotStatus, Paddle,
    };

    #[test]
    fn every_table_is_valid_csv_and_formulas_are_neutralised() {
        let m = |v| Money::from_minor(v).unwrap();
        let a = SaleAnalytics {
            sale: SaleId(1),
            summary: AnalyticsSummary {
                sell_through_bp: Some(6_667),
                hammer_total: m(12_345),
                ..Default::default()
            },
            bids_over_time: timeline(&[60_000, 180_000]),
            lots: vec![LotAnalytics {
                lot: LotId(4),
                position: 0,
                title: "=HYPERLINK(\"http://x\"), \"quoted\"".into(),
                status: LotStatus::Sold,
                start: m(1_000),
                price: Some(m(1_500)),
                hammer: Some(m(1_500)),
                bids: 3,
                unique_bidders: 2,
                rise_bp: Some(5_000),
                opened_at_ms: Some(0),
                time_to_first_bid_ms: Some(61_250),
                extensions: 1,
                winner: Some(Paddle(7)),
                underbidder: Some(Paddle(8)),
            }],
            bidders: Vec::new(),
            top_by_spend: vec![LeaderRow {
                rank: 1,
                paddle: Paddle(7),
                name: Some("@Ada".into()),
                bids: 2,
                wins: 1,
                spend: m(1_800),
            }],
            top_by_bids: Vec::new(),
        };
        let w = WatcherSeries {
            node: 2,
            every_ms: SAMPLE_EVERY_MS,
            samples: vec![WatcherSample {
                at_ms: 5,
                watchers: 9,
            }],
        };
        for t in TABLES {
            let text = table_csv(t, &a, &w, Currency::EUR).unwrap();
            let mut r = csv::Reader::from_reader(text.as_bytes());
            let width = r.headers().unwrap().len();
            for rec in r.records() {
                assert_eq!(rec.unwrap().len(), width, "table {t}");
            }
        }
        assert!(table_csv("nope", &a, &w, Currency::EUR).is_none());
        let lots = table_csv("lots", &a, &w, Currency::EUR).unwrap();
        let mut r = csv::Reader::from_reader(lots.as_bytes());
        let row = r.records().next().unwrap().unwrap();
        assert_eq!(&row[2], "'=HYPERLINK(\"http://x\"), \"quoted\"");
        assert_eq!(&row[6], "15.00");
        assert_eq!(&row[9], "50.00");
        assert_eq!(&row[10], "61.250");
        let top = table_csv("top_spend", &a, &w, Currency::EUR).unwrap();
        assert!(top.contains(",'@Ada,"), "{top}");
        let summary = table_csv("summary", &a, &w, Currency::EUR).unwrap();
        assert!(
            summary.contains("sell_through_percent,66.67\n"),
            "{summary}"
        );
        assert!(summary.contains("hammer_total,123.45\n"), "{summary}");
        assert_eq!(percent(-5), "-0.05");
    }
}
