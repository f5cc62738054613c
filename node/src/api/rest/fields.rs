//! Fields of REST requests and replies: amounts in a sale's currency,
//! times a page can hold, the sale of a lot, damaged-state errors, the read
//! reply type.

use axum::http::{HeaderName, HeaderValue};
use axum::Json;
use paddle_consensus::KvView;
use paddle_proto::auction::{LotId, SaleId};
use paddle_proto::Currency;

use crate::api::error::ApiError;
use paddle_auction::read;

/// A read reply: the index headers and a JSON body.
pub type Read<T> = Result<([(HeaderName, HeaderValue); 2], Json<T>), ApiError>;

/// The largest integer a JSON number carries exactly to a page: 2^53 − 1.
pub const MAX_JSON_INT: u64 = (1 << 53) - 1;

/// A time (`*_ms`) a client sent, refused with `400 invalid_input` past
/// [`MAX_JSON_INT`]: a page would read it back rounded, and no sale lasts
/// 285 000 years.
pub fn json_safe_ms(field: &str, ms: u64) -> Result<u64, ApiError> {
    if ms > MAX_JSON_INT {
        return Err(ApiError::bad_request(
            "invalid_input",
            format!(
                "{field}: {ms} is past 2^53 - 1, the largest integer a JSON number holds exactly"
            ),
        ));
    }
    Ok(ms)
}

/// A stored read that failed: the state is damaged, not the request.
pub fn damaged(e: paddle_auction::LoadError) -> ApiError {
    ApiError::internal(format!("the stored auction state could not be read: {e}"))
}

/// The currency of an existing sale.
pub fn sale_currency(view: &KvView, sale: SaleId) -> Result<Currency, ApiError> {
    read::sale_record(view, sale)
        .map_err(damaged)?
        .map(|s| s.spec.currency)
        .ok_or_else(|| ApiError::not_found("unknown_sale", format!("there is no sale {sale}")))
}

/// The sale a lot belongs to.
pub fn lot_sale(view: &KvView, lot: LotId) -> Result<SaleId, ApiError> {
    read::lot_record(view, lot)
        .map_err(damaged)?
        .map(|l| l.sale)
        .ok_or_else(|| ApiError::not_found("unknown_lot", format!("there is no lot {lot}")))
}

/// Parse an amount field in a sale's currency.
pub fn amount(
    currency: Currency,
    field: &str,
    text: &str,
) -> Result<paddle_proto::Money, ApiError> {
    currency.parse(text).map_err(|e| {
        ApiError::bad_request(
            "invalid_amount",
            format!("{field}: `{text}` is not an amount in {currency}: {e}"),
        )
    })
}

/// An optional amount field.
pub fn opt_amount(
    currency: Currency,
    field: &str,
    text: &Option<String>,
) -> Result<Option<paddle_proto::Money>, ApiError> {
    text.as_deref()
        .map(|t| amount(currency, field, t))
        .transpose()
}
