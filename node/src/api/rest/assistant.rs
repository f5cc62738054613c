//! The assistant's routes: the operator's "Suggest" for a lot, an outbid
//! bidder's rival profile, and the sale setting that turns rival profiles
//! off. Suggestions and profiles change nothing: the operator applies a
//! suggestion through the ordinary lot edit (`PUT /api/v1/lots/{lot}`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::Engine;
use paddle_proto::auction::{AuctionCommand, AuctionEvent, LotId, Paddle, SaleId};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::fields::{damaged, sale_currency};
use crate::api::auth::{require_bidder, require_operator_role, require_staff};
use crate::api::error::ApiError;
use crate::api::extract::{Body, NoFields, OptBody, Path};
use crate::api::state::AppState;
use crate::assistant::appraise::{self, Appraisal, Source, Subject};
use crate::assistant::rival::{self, RivalProfile};
use paddle_auction::{read, MAX_BID};

/// A suggestion for one lot, to review before applying it as an edit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuggestionOut {
    pub sale: u64,
    pub lot: u64,
    /// Decimals of the sale's currency (amounts are minor units).
    pub currency_exponent: u8,
    pub suggestion: Appraisal,
}

/// A rival profile, for an outbid bidder.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RivalOut {
    pub sale: u64,
    pub lot: u64,
    pub currency_exponent: u8,
    pub rival: RivalProfile,
}

/// Whether outbid bidders may ask about the leading paddle.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RivalProfilesIn {
    pub on: bool,
}

fn assistant_on(s: &AppState) -> Result<(), ApiError> {
    if s.api.assistant.enabled() {
        return Ok(());
    }
    Err(ApiError::conflict(
        "assistant_off",
        "the assistant is off on this node ([assistant] enabled = false)",
    ))
}

/// The lot, checked to belong to `sale`.
fn lot_in_sale(
    view: &paddle_consensus::KvView,
    sale: SaleId,
    lot: LotId,
) -> Result<paddle_auction::Lot, ApiError> {
    sale_currency(view, sale)?;
    read::lot_record(view, lot)
        .map_err(damaged)?
        .filter(|l| l.sale == sale)
        .ok_or_else(|| ApiError::not_found("unknown_lot", format!("sale {sale} has no lot {lot}")))
}

/// Suggest a title, description, estimate and start price for a lot with
/// a photo (operator). The model server appraises the photo when one is
/// configured and answers in time with sound JSON; otherwise comparable
/// sold lots of this cluster do, and `note` says why. Nothing is applied.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/lots/{lot}/suggest", tag = "assistant",
    params(("sale" = u64, Path, description = "Sale id"), ("lot" = u64, Path, description = "Lot id")),
    security(("bearer" = [])),
    responses((status = 200, body = SuggestionOut),
              (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody, description = "`unknown_sale`, `unknown_lot` (also: a lot of another sale)"),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`assistant_off`, `no_image`")))]
pub async fn suggest(
    State(s): State<AppState>,
    Path((sale, lot)): Path<(u64, u64)>,
    headers: HeaderMap,
    OptBody(NoFields {}): OptBody<NoFields>,
) -> Result<Json<SuggestionOut>, ApiError> {
    require_operator_role(&s, &headers).await?;
    assistant_on(&s)?;
    let (sale, lot) = (SaleId(sale), LotId(lot));
    let view = s.consensus.view();
    let l = lot_in_sale(&view, sale, lot)?;
    let currency = sale_currency(&view, sale)?;
    let Some((image, bytes)) = read::lot_image(&view, lot).map_err(damaged)? else {
        return Err(ApiError::conflict(
            "no_image",
            format!("lot {lot} has no photo: upload one, then ask for a suggestion"),
        ));
    };
    let subject = Subject {
        title: l.spec.title.clone(),
        description: l.spec.description.clone(),
        start: l.spec.start,
        currency,
    };
    let sold = crate::assistant::sold::sold_lots(&view, currency, Some(lot));
    drop(view);
    let suggestion = match s.api.assistant.model() {
        None => appraise::fallback(&subject, &sold, "no model server is configured"),
        Some(model) => {
            let url = format!(
                "data:{};base64,{}",
                image.kind.mime(),
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            );
            let ask = format!(
                "Appraise this auction lot from its photo and catalogue entry. Catalogue: {}. \
                 Answer with one JSON object and nothing else: {{\"title\": string (at most 200 \
                 characters), \"description\": string, \"estimate_low\": number, \
                 \"estimate_high\": number, \"start\": number}}, amounts as plain numbers in {} \
                 (major units, at most {} decimals).",
                json!({"title": subject.title, "description": subject.description}),
                currency.code(),
                currency.exponent()
            );
            let messages = json!([
                {"role": "system", "content": "You are a careful auction-house cataloguer. You answer JSON only."},
                {"role": "user", "content": [
                    {"type": "text", "text": ask},
                    {"type": "image_url", "image_url": {"url": url}},
                ]},
            ]);
            let answer = model
                .chat(messages, true)
                .await
                .map_err(|e| e.to_string())
                .and_then(|t| {
                    appraise::read_model_answer(&t, currency, MAX_BID)
                        .map_err(|e| format!("the model's answer was unusable: {e}"))
                });
            match answer {
                Ok((title, description, low, high, start)) => Appraisal {
                    source: Source::Model,
                    note: format!("Model \"{}\" appraised the photo.", model.name()),
                    title,
                    description,
                    estimate_low: Some(low),
                    estimate_high: Some(high),
                    start,
                    comparables: appraise::comparables(&subject.title, &sold),
                },
                Err(why) => {
                    tracing::warn!(lot = lot.0, %why, "appraisal falls back to comparables");
                    appraise::fallback(&subject, &sold, &why)
                }
            }
        }
    };
    Ok(Json(SuggestionOut {
        sale: sale.0,
        lot: lot.0,
        currency_exponent: currency.exponent(),
        suggestion,
    }))
}

/// The style of the paddle leading a lot, for a bidder it outbid: from the
/// sale's public history only, by paddle number, never a name.
#[utoipa::path(get, path = "/api/v1/sales/{sale}/lots/{lot}/rival", tag = "assistant",
    params(("sale" = u64, Path, description = "Sale id"), ("lot" = u64, Path, description = "Lot id")),
    security(("bearer" = [])),
    responses((status = 200, body = RivalOut),
              (status = 403, body = crate::api::openapi::ErrorBody, description = "`forbidden` (not a bidder of this sale), `rival_profiles_off`"),
              (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`assistant_off`, `not_outbid`"),
              (status = 429, body = crate::api::openapi::ErrorBody, description = "`rate_limited`: more than 3 profiles at once, then one per 2 s, per bidder and node")))]
pub async fn rival(
    State(s): State<AppState>,
    Path((sale, lot)): Path<(u64, u64)>,
    headers: HeaderMap,
) -> Result<Json<RivalOut>, ApiError> {
    let me = require_bidder(&s, &headers).await?;
    assistant_on(&s)?;
    let (sale, lot) = (SaleId(sale), LotId(lot));
    if me.sale != sale {
        return Err(ApiError::forbidden(format!(
            "this token is for sale {}, not sale {sale}",
            me.sale
        )));
    }
    let view = s.consensus.view();
    let l = lot_in_sale(&view, sale, lot)?;
    let currency = sale_currency(&view, sale)?;
    let on = read::get_sale(&view, sale)
        .map_err(damaged)?
        .is_some_and(|v| v.rival_profiles);
    if !on {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "rival_profiles_off",
            "this sale does not show rival profiles",
        ));
    }
    let events = read::events_after(&view, sale, 0).map_err(damaged)?;
    let bid_here = events.iter().any(|r| {
        matches!(r.event, AuctionEvent::BidAccepted { lot: l2, paddle, .. } if l2 == lot && paddle == me.paddle)
    });
    let leader: Option<Paddle> = l.book.top.map(|t| t.paddle);
    let leader = match leader {
        Some(p) if bid_here && p != me.paddle => p,
        Some(p) if p == me.paddle => {
            return Err(ApiError::conflict(
                "not_outbid",
                "you lead this lot: no rival to profile",
            ))
        }
        _ => {
            return Err(ApiError::conflict(
                "not_outbid",
                "a rival profile is for a bidder outbid on this lot",
            ))
        }
    };
    if !s.api.assistant.allow_profile(sale.0, me.paddle.0) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "you asked about your rival a moment ago; ask again in a few seconds",
        ));
    }
    let profile = rival::profile(
        &events,
        leader,
        s.consensus.clock().now_ms(),
        currency,
        lot.0,
    );
    Ok(Json(RivalOut {
        sale: sale.0,
        lot: lot.0,
        currency_exponent: currency.exponent(),
        rival: profile,
    }))
}

/// Allow or forbid rival profiles in a sale (clerk or operator); through
/// the log, so every node answers the same.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/rival-profiles", tag = "assistant",
    request_body = RivalProfilesIn, security(("bearer" = [])),
    params(("sale" = u64, Path, description = "Sale id")),
    responses((status = 200, body = super::room::SaleChanged), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn rival_profiles(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<RivalProfilesIn>,
) -> Result<Json<super::room::SaleChanged>, ApiError> {
    require_staff(&s, &headers).await?;
    let cmd = AuctionCommand::SetRivalProfiles {
        sale: SaleId(sale),
        on: b.on,
    };
    super::room::commit_sale_change(&s, SaleId(sale), cmd).await
}
