//! Lot photos: the operator uploads one (`PUT`, the raw image as the body),
//! replaces or removes it; anyone fetches it from any node (`GET`).
//!
//! The photo is one Raft command, so it is on every node once committed
//! and needs no file server or internet. The declared `Content-Type` must
//! match what the bytes are (see `paddle_proto::auction::image`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use paddle_proto::auction::{AuctionCommand, ImageKind, LotId, LotImage, MAX_IMAGE_BYTES};

use super::fields::damaged;
use super::rostrum::{act, Changed};
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::api::state::AppState;
use paddle_auction::read;

/// Set a lot's photo (operator). Body: the image, ≤ 256 KiB, as
/// `image/jpeg`, `image/png`, `image/webp` or `image/gif`.
#[utoipa::path(put, path = "/api/v1/lots/{lot}/image", tag = "lots",
    request_body(content = Vec<u8>, content_type = "image/jpeg",
        description = "The photo's bytes: JPEG, PNG, WebP or GIF (Content-Type must match), at most 262144 bytes"),
    params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
    responses((status = 200, body = super::rostrum::LotChanged),
              (status = 400, body = crate::api::openapi::ErrorBody, description = "`invalid_image`"),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 413, body = crate::api::openapi::ErrorBody), (status = 415, body = crate::api::openapi::ErrorBody)))]
pub async fn put(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
    body: Bytes,
) -> Changed {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let checked = move || -> Result<LotImage, ApiError> {
        let kind = ImageKind::from_mime(declared).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "send the photo as image/jpeg, image/png, image/webp or image/gif, not {declared:?}"
                ),
            )
        })?;
        if body.len() > MAX_IMAGE_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "image_too_large",
                format!(
                    "the photo has {} bytes; at most {MAX_IMAGE_BYTES} are accepted (shrink it for phones)",
                    body.len()
                ),
            ));
        }
        let image = LotImage {
            kind,
            bytes: body.to_vec(),
        };
        image
            .check()
            .map_err(|why| ApiError::bad_request("invalid_image", why))?;
        Ok(image)
    };
    // Role first (a bidder learns nothing about the body), then the photo.
    act(&s, &headers, lot, true, move |_, sale, lot| {
        Ok(AuctionCommand::SetLotImage {
            sale,
            lot,
            image: Some(checked()?),
        })
    })
    .await
}

/// Remove a lot's photo (operator).
#[utoipa::path(delete, path = "/api/v1/lots/{lot}/image", tag = "lots",
    params(("lot" = u64, Path, description = "Lot id")), security(("bearer" = [])),
    responses((status = 200, body = super::rostrum::LotChanged),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
) -> Changed {
    act(&s, &headers, lot, true, |_, sale, lot| {
        Ok(AuctionCommand::SetLotImage {
            sale,
            lot,
            image: None,
        })
    })
    .await
}

/// A lot's photo, from this node's state. The ETag is the upload's log
/// index; the URL in `LotView.image` carries it too, so a new photo is a
/// new URL.
#[utoipa::path(get, path = "/api/v1/lots/{lot}/image", tag = "lots",
    params(("lot" = u64, Path, description = "Lot id")),
    responses((status = 200, description = "The photo", content_type = "image/jpeg"),
              (status = 304, description = "Not modified (If-None-Match)"),
              (status = 404, body = crate::api::openapi::ErrorBody, description = "`unknown_lot` or `no_image`")))]
pub async fn get(
    State(s): State<AppState>,
    Path(lot): Path<u64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let view = s.consensus.view();
    let lot = LotId(lot);
    if read::get_lot(&view, lot).map_err(damaged)?.is_none() {
        return Err(ApiError::not_found(
            "unknown_lot",
            format!("there is no lot {lot}"),
        ));
    }
    let Some((image, bytes)) = read::lot_image(&view, lot).map_err(damaged)? else {
        return Err(ApiError::not_found(
            "no_image",
            format!("lot {lot} has no photo"),
        ));
    };
    let etag = format!("\"img-{}\"", image.index);
    let etag_value = HeaderValue::from_str(&etag).expect("ascii");
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), cache],
        )
            .into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(image.kind.mime()),
            ),
            (header::ETAG, etag_value),
            cache,
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes.to_vec(),
    )
        .into_response())
}
