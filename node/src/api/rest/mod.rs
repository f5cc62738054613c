//! REST `/api/v1`: sales, lots, bidders, bids, clerk actions, results,
//! statistics, clerk tokens. Every route is registered through utoipa's
//! router, so the OpenAPI document is built from the same list the server
//! routes by and cannot forget one.
//!
//! Writes check everything first (role, ids, amounts) and then propose one
//! command: a refusal changes nothing. Reads answer from this node's state
//! (see [`super::reads`]) and say which index they reflect.

mod bidders;
mod bids;
mod clerk;
mod clerks;
mod images;
mod lots;
mod results;
mod sales;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::Json;
use paddle_consensus::KvView;
use paddle_proto::auction::{Accepted, AuctionCommand, AuctionReply, LotId, RejectReason, SaleId};
use paddle_proto::{Command, Currency, Reply};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::reads::{fresh_view, freshness};
use super::{ApiError, AppState};
use paddle_auction::read;

/// A read reply: the index headers and a JSON body.
pub type Read<T> = Result<([(HeaderName, HeaderValue); 2], Json<T>), ApiError>;

/// Every `/api/v1` route of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sales::list, sales::create))
        .routes(routes!(sales::get_one))
        .routes(routes!(sales::schedule))
        .routes(routes!(lots::list, lots::create))
        .routes(routes!(lots::import))
        .routes(routes!(lots::get_one))
        .routes(routes!(images::put, images::delete, images::get))
        .routes(routes!(bids::history, bids::place))
        .routes(routes!(bids::own))
        .routes(routes!(bids::own_one))
        .routes(routes!(bidders::list, bidders::register))
        .routes(routes!(bidders::approve))
        .routes(routes!(bidders::limit))
        .routes(routes!(clerks::me))
        .routes(routes!(clerks::time))
        .routes(routes!(clerks::list, clerks::create))
        .routes(routes!(clerks::revoke))
        .routes(routes!(clerk::open))
        .routes(routes!(clerk::asking_increment))
        .routes(routes!(clerk::floor_bid))
        .routes(routes!(clerk::fair_warning))
        .routes(routes!(clerk::sell))
        .routes(routes!(clerk::pass))
        .routes(routes!(clerk::reopen))
        .routes(routes!(clerk::withdraw))
        .routes(routes!(clerk::retract))
        .routes(routes!(results::results))
        .routes(routes!(results::results_csv))
        .routes(routes!(results::stats))
        .routes(routes!(results::events))
}

/// The HTTP status of a rule's refusal.
fn reject_status(reason: &RejectReason) -> StatusCode {
    use RejectReason::*;
    match reason {
        UnknownSale | UnknownLot | UnknownBid => StatusCode::NOT_FOUND,
        InvalidInput { .. } | InvalidAmount => StatusCode::BAD_REQUEST,
        NotRegistered | NotApproved => StatusCode::FORBIDDEN,
        _ => StatusCode::CONFLICT,
    }
}

/// A rule's refusal as a REST error, its details under `reason`.
pub fn reject_error(reason: RejectReason, message: String) -> ApiError {
    let details = serde_json::to_value(&reason).unwrap_or_default();
    ApiError::new(reject_status(&reason), reason.code(), message).with_details("reason", details)
}

/// Refuse writes on a node that lost the leader, at once and clearly.
fn check_fresh(s: &AppState) -> Result<(), ApiError> {
    if freshness(&s.consensus).stale {
        return Err(ApiError::unavailable(
            "no_quorum",
            "this node has lost contact with the cluster's leader; nothing was changed (try another node)",
        ));
    }
    Ok(())
}

/// Propose one auction command: its index and what it produced, or the
/// rules' refusal.
pub async fn propose(s: &AppState, cmd: AuctionCommand) -> Result<(u64, Accepted), ApiError> {
    check_fresh(s)?;
    let c = s.consensus.propose(Command::Auction(cmd)).await?;
    match c.reply {
        Reply::Auction(AuctionReply::Accepted { accepted }) => Ok((c.index, accepted)),
        Reply::Auction(AuctionReply::Rejected { reason, message }) => {
            Err(reject_error(reason, message))
        }
        other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
    }
}

/// Propose a cluster command (clerk tokens).
pub async fn propose_cluster(
    s: &AppState,
    cmd: paddle_proto::ClusterCommand,
) -> Result<u64, ApiError> {
    check_fresh(s)?;
    Ok(s.consensus.propose(Command::Cluster(cmd)).await?.index)
}

/// A stored read that failed: the state is damaged, not the request.
fn damaged(e: paddle_auction::LoadError) -> ApiError {
    ApiError::internal(format!("the stored auction state could not be read: {e}"))
}

/// The currency of an existing sale.
pub fn sale_currency(view: &KvView, sale: SaleId) -> Result<Currency, ApiError> {
    read::sale_record(view, sale)
        .map_err(damaged)?
        .map(|s| s.spec.currency)
        .ok_or_else(|| ApiError::not_found("unknown_sale", format!("there is no sale {sale}")))
}

/// For a write: the view to check it against (see [`fresh_view`]) and the
/// sale's currency, waiting for the leader's read index when this node does
/// not know the sale yet.
pub async fn write_sale(s: &AppState, sale: SaleId) -> Result<(KvView, Currency), ApiError> {
    let view = fresh_view(s, |v| matches!(read::sale_record(v, sale), Ok(Some(_)))).await?;
    let currency = sale_currency(&view, sale)?;
    Ok((view, currency))
}

/// For a write: the view to check it against and the sale of `lot`,
/// waiting for the leader's read index when this node does not know the
/// lot yet.
pub async fn write_lot(s: &AppState, lot: LotId) -> Result<(KvView, SaleId), ApiError> {
    let view = fresh_view(s, |v| matches!(read::lot_record(v, lot), Ok(Some(_)))).await?;
    let sale = lot_sale(&view, lot)?;
    Ok((view, sale))
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
