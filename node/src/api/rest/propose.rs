//! Proposing a REST write: the view it is checked against (never older
//! than what the cluster has committed, see [`fresh_view`]), the freshness
//! check, and the rules' refusals as clear errors.

use axum::http::StatusCode;
use paddle_consensus::KvView;
use paddle_proto::auction::{Accepted, AuctionCommand, AuctionReply, LotId, RejectReason, SaleId};
use paddle_proto::{Command, Currency, Reply};

use super::fields::{lot_sale, sale_currency};
use crate::api::error::ApiError;
use crate::api::reads::{fresh_view, freshness};
use crate::api::state::AppState;
use paddle_auction::read;

/// The HTTP status of a rule's refusal.
pub fn reject_status(reason: &RejectReason) -> StatusCode {
    use RejectReason::*;
    match reason {
        UnknownSale | UnknownLot | UnknownBid | UnknownSignIn | UnknownConsignor | NothingWon => {
            StatusCode::NOT_FOUND
        }
        InvalidInput { .. } | InvalidAmount => StatusCode::BAD_REQUEST,
        NotRegistered | NotApproved | RegistrationClosed => StatusCode::FORBIDDEN,
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
    answer(c.index, c.reply)
}

/// Propose a command that carries its own idempotency key (a staff bid's
/// bid id): while its outcome is unknown this node proposes it again, and a
/// repeat is answered with the first outcome, so the answer is definite
/// whenever it can be.
pub async fn propose_keyed(s: &AppState, cmd: AuctionCommand) -> Result<(u64, Accepted), ApiError> {
    check_fresh(s)?;
    let c = s
        .consensus
        .propose_idempotent(Command::Auction(cmd), crate::api::bidding::BID_DEADLINE)
        .await?;
    answer(c.index, c.reply)
}

fn answer(index: u64, reply: Reply) -> Result<(u64, Accepted), ApiError> {
    match reply {
        Reply::Auction(AuctionReply::Accepted { accepted }) => Ok((index, accepted)),
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
