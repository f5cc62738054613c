//! Lots: list a sale's catalogue, add lots (JSON or CSV), get one.
//!
//! A CSV import is one command: every row is checked first and the whole
//! file is added at once or not at all, so a typo in row 400 does not
//! leave 399 lots behind.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use paddle_proto::auction::{
    Accepted, AuctionCommand, LotConsignor, LotId, LotSpec, LotView, Paddle, SaleId,
};
use paddle_proto::{Currency, Money};
use serde::{Deserialize, Serialize};

use super::fields::{damaged, opt_amount, sale_currency, Read};
use super::propose::{propose, write_sale};
use crate::api::auth::{caller, require_operator_role, Caller};
use crate::api::error::ApiError;
use crate::api::extract::{Body, Path, Query};
use crate::api::reads::{read_headers, view_for, ReadQuery};
use crate::api::state::AppState;
use paddle_auction::{read, MAX_LOTS_PER_COMMAND};

/// A sale's lots at one index.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LotsOut {
    pub applied_index: u64,
    pub sale: u64,
    /// Decimals of the sale's currency.
    pub currency_exponent: u8,
    pub lots: Vec<LotView>,
}

/// One lot at one index.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LotOne {
    pub applied_index: u64,
    pub lot: LotView,
    /// Operator only: the terms the public view hides, so an edit before
    /// the lot opens can keep them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms: Option<LotTerms>,
}

/// A lot's hidden terms (operator only).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LotTerms {
    /// The reserve in minor units (`null`: none).
    pub reserve: Option<Money>,
    /// The consignor's paddle (`null`: none).
    pub seller: Option<u32>,
}

/// A new lot, amounts as decimal strings in the sale's currency.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotIn {
    /// 1–200 characters.
    pub title: String,
    /// At most 4 000 characters.
    #[serde(default)]
    pub description: String,
    /// The least a first bid may be.
    #[schema(example = "10.00")]
    pub start: String,
    /// Hidden reserve (≥ start).
    #[serde(default)]
    pub reserve: Option<String>,
    /// Buy-now price (timed sales).
    #[serde(default)]
    pub buy_now: Option<String>,
    /// The consignor's paddle, if they are registered in the sale.
    #[serde(default)]
    pub seller: Option<u32>,
    /// Adding lots only: the id of the consignor (`GET /api/v1/consignors`)
    /// whose statement the lot goes on.
    #[serde(default)]
    pub consignor: Option<u32>,
}

/// Lots to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotsIn {
    pub lots: Vec<LotIn>,
}

/// Lots added, in catalogue order.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LotsAdded {
    pub lots: Vec<u64>,
    pub index: u64,
}

/// A sale's lots.
#[utoipa::path(get, path = "/api/v1/sales/{sale}/lots", tag = "lots",
    params(("sale" = u64, Path, description = "Sale id"), ReadQuery),
    responses((status = 200, body = LotsOut), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    Query(rq): Query<ReadQuery>,
) -> Read<LotsOut> {
    let view = view_for(&s, &rq).await?;
    let currency = sale_currency(&view, SaleId(sale))?;
    let lots = read::lots(&view, SaleId(sale))
        .map_err(damaged)?
        .unwrap_or_default();
    Ok((
        read_headers(&s, &view),
        Json(LotsOut {
            applied_index: view.applied_index(),
            sale,
            currency_exponent: currency.exponent(),
            lots,
        }),
    ))
}

/// One lot.
#[utoipa::path(get, path = "/api/v1/lots/{lot}", tag = "lots",
    params(("lot" = u64, Path, description = "Lot id"), ReadQuery),
    responses((status = 200, body = LotOne), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn get_one(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    Query(rq): Query<ReadQuery>,
) -> Read<LotOne> {
    let operator = matches!(caller(&s, &headers).await, Ok(Some(Caller::Operator)));
    let view = view_for(&s, &rq).await?;
    let id = LotId(lot);
    let lot = read::get_lot(&view, id)
        .map_err(damaged)?
        .ok_or_else(|| ApiError::not_found("unknown_lot", format!("there is no lot {lot}")))?;
    let terms = match operator {
        true => read::lot_record(&view, id)
            .map_err(damaged)?
            .map(|l| LotTerms {
                reserve: l.spec.reserve,
                seller: l.spec.seller.map(|p| p.0),
            }),
        false => None,
    };
    Ok((
        read_headers(&s, &view),
        Json(LotOne {
            applied_index: view.applied_index(),
            lot,
            terms,
        }),
    ))
}

pub(super) fn spec(currency: Currency, at: &str, l: &LotIn) -> Result<LotSpec, ApiError> {
    Ok(LotSpec {
        title: l.title.clone(),
        description: l.description.clone(),
        seller: l.seller.map(Paddle),
        start: super::fields::amount(currency, &format!("{at}.start"), &l.start)?,
        reserve: opt_amount(currency, &format!("{at}.reserve"), &l.reserve)?,
        buy_now: opt_amount(currency, &format!("{at}.buy_now"), &l.buy_now)?,
    })
}

async fn add(
    s: &AppState,
    sale: u64,
    lots: Vec<LotSpec>,
    consignors: Vec<Option<u32>>,
) -> Result<(StatusCode, Json<LotsAdded>), ApiError> {
    if lots.is_empty() || lots.len() > MAX_LOTS_PER_COMMAND {
        return Err(ApiError::bad_request(
            "invalid_input",
            format!("send 1 to {MAX_LOTS_PER_COMMAND} lots at a time"),
        ));
    }
    match propose(
        s,
        AuctionCommand::AddLots {
            sale: SaleId(sale),
            lots,
        },
    )
    .await?
    {
        (index, Accepted::LotsAdded { lots, .. }) => {
            // The lots' consignors, checked to exist before the lots were
            // added, follow as a second command.
            let owners: Vec<LotConsignor> = lots
                .iter()
                .zip(&consignors)
                .filter_map(|(l, c)| {
                    c.map(|c| LotConsignor {
                        lot: *l,
                        consignor: Some(c),
                    })
                })
                .collect();
            let index = match owners.is_empty() {
                true => index,
                false => {
                    let cmd = AuctionCommand::SetLotConsignors {
                        sale: SaleId(sale),
                        lots: owners,
                    };
                    propose(s, cmd).await?.0
                }
            };
            Ok((
                StatusCode::CREATED,
                Json(LotsAdded {
                    lots: lots.into_iter().map(|l| l.0).collect(),
                    index,
                }),
            ))
        }
        (_, other) => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}

/// Add lots (operator).
#[utoipa::path(post, path = "/api/v1/sales/{sale}/lots", tag = "lots", request_body = LotsIn,
    params(("sale" = u64, Path, description = "Sale id")), security(("bearer" = [])),
    responses((status = 201, body = LotsAdded), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Body(body): Body<LotsIn>,
) -> Result<(StatusCode, Json<LotsAdded>), ApiError> {
    require_operator_role(&s, &headers).await?;
    let (view, currency) = write_sale(&s, SaleId(sale)).await?;
    let specs = body
        .lots
        .iter()
        .enumerate()
        .map(|(i, l)| spec(currency, &format!("lots[{i}]"), l))
        .collect::<Result<Vec<_>, _>>()?;
    let known = consignor_ids(&view)?;
    let mut owners = Vec::with_capacity(body.lots.len());
    for (i, l) in body.lots.iter().enumerate() {
        if let Some(c) = l.consignor.filter(|c| !known.iter().any(|(id, _)| id == c)) {
            return Err(ApiError::not_found(
                "unknown_consignor",
                format!("lots[{i}].consignor: there is no consignor {c}"),
            ));
        }
        owners.push(l.consignor);
    }
    add(&s, sale, specs, owners).await
}

/// Every consignor's id and name.
fn consignor_ids(view: &paddle_consensus::KvView) -> Result<Vec<(u32, String)>, ApiError> {
    Ok(paddle_auction::settle::read::consignors(view)
        .map_err(damaged)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

/// A CSV `consignor` cell: a consignor's id, or their name (any case).
fn consignor_of(known: &[(u32, String)], row: usize, text: &str) -> Result<u32, ApiError> {
    let by_id = text
        .parse::<u32>()
        .ok()
        .filter(|n| known.iter().any(|(id, _)| id == n));
    let by_name = || {
        known
            .iter()
            .find(|(_, name)| name.to_lowercase() == text.trim().to_lowercase())
            .map(|(id, _)| *id)
    };
    by_id.or_else(by_name).ok_or_else(|| {
        ApiError::bad_request(
            "bad_csv",
            format!("row {row}, column consignor: there is no consignor `{text}`"),
        )
    })
}

/// Parse a CSV catalogue (see `docs/protocol.md`): the lots, and each
/// row's `consignor` cell (an id or a name) when it has one.
pub fn parse_csv(text: &str) -> Result<Vec<(LotIn, Option<String>)>, ApiError> {
    let bad = |m: String| ApiError::bad_request("bad_csv", m);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| bad(format!("the header row cannot be read: {e}")))?
        .clone();
    let known = [
        "title",
        "description",
        "start",
        "reserve",
        "buy_now",
        "seller",
        "consignor",
    ];
    for h in headers.iter() {
        if !known.contains(&h) {
            return Err(bad(format!(
                "unknown column `{h}` (columns: {})",
                known.join(", ")
            )));
        }
    }
    for need in ["title", "start"] {
        if !headers.iter().any(|h| h == need) {
            return Err(bad(format!("the header row has no `{need}` column")));
        }
    }
    let mut lots = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let rec = rec.map_err(|e| bad(format!("row {row}: {e}")))?;
        if lots.len() == MAX_LOTS_PER_COMMAND {
            return Err(bad(format!(
                "more than {MAX_LOTS_PER_COMMAND} rows; split the file"
            )));
        }
        let mut lot = LotIn::default();
        let mut consignor = None;
        for (h, v) in headers.iter().zip(rec.iter()) {
            let opt = (!v.is_empty()).then(|| v.to_string());
            match h {
                "title" => lot.title = v.to_string(),
                "description" => lot.description = v.to_string(),
                "start" => lot.start = v.to_string(),
                "reserve" => lot.reserve = opt,
                "buy_now" => lot.buy_now = opt,
                "consignor" => consignor = opt,
                "seller" => {
                    lot.seller = opt.map(|p| p.parse::<u32>()).transpose().map_err(|_| {
                        bad(format!(
                            "row {row}, column seller: `{v}` is not a paddle number"
                        ))
                    })?
                }
                _ => {}
            }
        }
        lots.push((lot, consignor));
    }
    if lots.is_empty() {
        return Err(bad("the file has no rows after the header".into()));
    }
    Ok(lots)
}

/// Add lots from CSV (operator): all rows or none.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/lots/import", tag = "lots",
    request_body(content = String, content_type = "text/csv",
        description = "Header row `title,description,start,reserve,buy_now,seller,consignor` (title and start required; consignor: an id or a name), at most 1000 rows"),
    params(("sale" = u64, Path, description = "Sale id")), security(("bearer" = [])),
    responses((status = 201, body = LotsAdded), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 415, body = crate::api::openapi::ErrorBody)))]
pub async fn import(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<LotsAdded>), ApiError> {
    require_operator_role(&s, &headers).await?;
    let csv_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    if !csv_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the catalogue with `Content-Type: text/csv`",
        ));
    }
    let (view, currency) = write_sale(&s, SaleId(sale)).await?;
    let text = std::str::from_utf8(&body).map_err(|e| {
        ApiError::bad_request(
            "bad_csv",
            format!(
                "the file is not UTF-8 text (bad bytes at byte {}); save it as CSV UTF-8 and send it again",
                e.valid_up_to()
            ),
        )
    })?;
    let rows = parse_csv(text)?;
    let known = consignor_ids(&view)?;
    let owners = rows
        .iter()
        .enumerate()
        .map(|(i, (_, c))| {
            c.as_deref()
                .map(|c| consignor_of(&known, i + 2, c))
                .transpose()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let specs = rows
        .iter()
        .map(|(l, _)| l)
        .enumerate()
        .map(|(i, l)| {
            spec(currency, &format!("row {}", i + 2), l)
                .map_err(|e| ApiError::bad_request("bad_csv", e.message))
        })
        .collect::<Result<Vec<_>, _>>()?;
    add(&s, sale, specs, owners).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_and_their_mistakes() {
        let lots = parse_csv("title,start,reserve\nClock,10.00,150\n\"Vase, blue\",5,\n").unwrap();
        assert_eq!(lots.len(), 2);
        assert_eq!(lots[1].0.title, "Vase, blue");
        assert_eq!(lots[1].0.reserve, None);
        let lots = parse_csv("title,start,consignor\nA,1,Ann\nB,2,\n").unwrap();
        assert_eq!(
            (lots[0].1.as_deref(), lots[1].1.as_deref()),
            (Some("Ann"), None)
        );
        let known = [(1, "Ann".to_string()), (2, "Bo".to_string())];
        assert_eq!(consignor_of(&known, 2, "ann").unwrap(), 1);
        assert_eq!(consignor_of(&known, 2, "2").unwrap(), 2);
        assert_eq!(consignor_of(&known, 3, "Cy").unwrap_err().code, "bad_csv");
        assert_eq!(parse_csv("title,price\nA,1\n").unwrap_err().code, "bad_csv");
        assert_eq!(parse_csv("title\nA\n").unwrap_err().code, "bad_csv");
        assert_eq!(parse_csv("title,start\n").unwrap_err().code, "bad_csv");
        let e = parse_csv("title,start,seller\nA,1,x\n").unwrap_err();
        assert!(e.message.contains("row 2"), "{}", e.message);
    }
}
