//! `GET /api/v1/me`: who the request's token belongs to (a bidder also
//! sees their own standing maximums).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;

use crate::api::auth::{require_caller, WhoAmI};
use crate::api::error::ApiError;
use crate::api::state::AppState;

/// Who the request's token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = WhoAmI), (status = 401, body = crate::api::openapi::ErrorBody)))]
pub async fn me(State(s): State<AppState>, headers: HeaderMap) -> Result<Json<WhoAmI>, ApiError> {
    let c = require_caller(&s, &headers).await?;
    let mut who = WhoAmI::of(Some(&c));
    if let Some(b) = &who.bidder {
        let maxes = paddle_auction::read::own_maxes(&s.consensus.view(), b.sale, b.paddle)
            .map_err(super::fields::damaged)?;
        who.maxes = Some(
            maxes
                .into_iter()
                .map(|(lot, max)| crate::api::auth::OwnMax {
                    lot: lot.0,
                    max: max.minor(),
                })
                .collect(),
        );
    }
    Ok(Json(who))
}
