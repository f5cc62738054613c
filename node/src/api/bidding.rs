//! The bid path shared by the WebSocket `bid` message and `POST
//! /api/v1/lots/{lot}/bids`: check, propose, and always answer with an
//! explicit [`BidResult`].
//!
//! Order of checks (each refusal changes nothing): bid id; an outcome this
//! node already knows for this bid id (answered before any rate, so a
//! resend meant to learn an outcome is never `rate_limited`: it places
//! nothing); rate (connection, then bidder on this node); sale and lot;
//! amount; the known outcome again on the view the bid is judged on (it may
//! be newer); freshness. A sale or lot this node does not know yet is
//! looked up again at the leader's read index before it is refused (it may
//! have been created through another node a moment ago). Then the bid is
//! proposed, forwarded to the leader if need be. An outcome that cannot be
//! learned (timeout while leadership moves) is proposed again with the same
//! bid id until the deadline: the engine keeps the first outcome per bid
//! id, so a retry never makes a second bid. Past the deadline the answer is
//! `unknown` — also when a later retry found no leader: once a bid may have
//! reached a leader it may still commit, so only a bid that certainly never
//! left this node is refused `no_quorum`.

use std::time::Duration;

use governor::DefaultDirectRateLimiter;
use paddle_consensus::KvView;
use paddle_consensus::ProposeError;
use paddle_proto::auction::{AuctionCommand, BidId, LotId, SaleId};

use crate::api::auth::SignedIn;
use paddle_proto::{Command, Reply};
use paddle_proto::{Currency, Money};

use super::reads::{fresh_view, freshness};
pub use crate::api::bid_result::{BidIn, BidResult, Outcome};
use crate::api::state::AppState;
use paddle_auction::read;

/// How long a bid may keep being retried before its outcome is `unknown`.
pub const BID_DEADLINE: Duration = Duration::from_secs(10);

/// Where a bid came from, for the connection's own rate.
pub struct BidSource<'a> {
    /// The WebSocket connection's allowance (`None` over REST).
    pub connection: Option<&'a DefaultDirectRateLimiter>,
}

/// Place one bid for `who` on `lot`: always an explicit outcome.
pub async fn place(
    s: &AppState,
    who: &SignedIn,
    lot: u64,
    bid: &BidIn,
    source: BidSource<'_>,
) -> BidResult {
    let raw_id = match &bid.bid_id {
        serde_json::Value::String(v) => v.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    match checked(s, who, lot, bid, source, &raw_id).await {
        Ok(cmd) => propose_bid(s, &raw_id, cmd).await,
        Err(answer) => answer,
    }
}

/// Every check before proposing, in the order of the module docs: the
/// command to propose, or the answer (a refusal, or the first outcome of a
/// bid id already decided).
async fn checked(
    s: &AppState,
    who: &SignedIn,
    lot: u64,
    bid: &BidIn,
    source: BidSource<'_>,
    raw_id: &str,
) -> Result<Command, BidResult> {
    let bid_id = match &bid.bid_id {
        serde_json::Value::String(v) => BidId::new(v.clone())
            .map_err(|e| BidResult::refused(raw_id, "invalid_bid_id", e.to_string()))?,
        _ => {
            return Err(BidResult::refused(
                raw_id,
                "invalid_bid_id",
                "bid_id must be a string of 1 to 64 characters of [A-Za-z0-9_.:-]",
            ))
        }
    };
    let (sale, paddle) = (who.sale, who.paddle);
    {
        // A view is dropped as soon as it is read: while one is held, the
        // next apply batch copies the map's paths it writes (`Published`).
        let local = s.consensus.view();
        if let Ok(Some(first)) = read::bid_outcome(&local, sale, paddle, false, &bid_id) {
            return Err(BidResult::from_reply(raw_id, local.applied_index(), first));
        }
    }
    if source.connection.is_some_and(|l| l.check().is_err())
        || !s.api.limits.bidder_bid(sale.0, paddle.0)
    {
        return Err(BidResult::refused(
            raw_id,
            "rate_limited",
            "too many bids too fast; wait a moment and send it again (same bid id)",
        ));
    }
    let (view, currency) = lot_in_sale(s, sale, LotId(lot), raw_id).await?;
    let max = parse_max(currency, &bid.max, raw_id)?;
    if let Ok(Some(first)) = read::bid_outcome(&view, sale, paddle, false, &bid_id) {
        return Err(BidResult::from_reply(raw_id, view.applied_index(), first));
    }
    if freshness(&s.consensus).stale {
        return Err(BidResult::refused(
            raw_id,
            "no_quorum",
            "this node has lost contact with the cluster's leader, so it did not send this bid (try another node); \
             a bid sent before with the same id keeps its outcome: send it again to a node in contact to learn it",
        ));
    }
    Ok(Command::Auction(AuctionCommand::SignedBid {
        sale,
        lot: LotId(lot),
        paddle,
        bid_id,
        max,
        buy_now: bid.buy_now,
        token_tag: who.token_tag,
    }))
}

/// The view to judge the bid on (looked up again at the leader's read index
/// when this node does not know the lot yet) and the sale's currency.
async fn lot_in_sale(
    s: &AppState,
    sale: SaleId,
    lot: LotId,
    raw_id: &str,
) -> Result<(KvView, Currency), BidResult> {
    let in_sale = |v: &KvView| matches!(read::lot_record(v, lot), Ok(Some(l)) if l.sale == sale);
    let view = fresh_view(s, in_sale)
        .await
        .map_err(|e| BidResult::refused(raw_id, e.code, e.message))?;
    let Some(sale_record) = read::sale_record(&view, sale).ok().flatten() else {
        return Err(BidResult::refused(
            raw_id,
            "unknown_sale",
            "there is no such sale",
        ));
    };
    if !in_sale(&view) {
        return Err(BidResult::refused(
            raw_id,
            "unknown_lot",
            "there is no such lot in your sale",
        ));
    }
    Ok((view, sale_record.spec.currency))
}

/// The bid's `max`: a decimal string in the sale's currency.
pub(crate) fn parse_max(
    currency: Currency,
    max: &serde_json::Value,
    raw_id: &str,
) -> Result<Money, BidResult> {
    match max {
        serde_json::Value::String(text) => currency.parse(text).map_err(|e| {
            BidResult::refused(
                raw_id,
                "invalid_amount",
                format!("`{text}` is not an amount in {currency}: {e}"),
            )
        }),
        other => Err(BidResult::refused(
            raw_id,
            "invalid_amount",
            format!(
                "send the amount as a decimal string in {currency}, e.g. \"12.50\" (got {other})"
            ),
        )),
    }
}

/// Propose until the outcome is known or the deadline passes; see
/// [`paddle_consensus::Consensus::propose_idempotent`] for why a refusal
/// after an unknown attempt is still `unknown`.
async fn propose_bid(s: &AppState, raw_id: &str, cmd: Command) -> BidResult {
    match s.consensus.propose_idempotent(cmd, BID_DEADLINE).await {
        Ok(c) => match c.reply {
            Reply::Auction(r) => BidResult::from_reply(raw_id, c.index, r),
            other => BidResult::unknown(raw_id, &format!("unexpected reply {other:?}")),
        },
        Err(ProposeError::NoLeader) => BidResult::refused(
            raw_id,
            "no_quorum",
            "no leader is reachable right now; this bid never left this node, so it was not placed",
        ),
        Err(ProposeError::Refused(m)) => BidResult::refused(
            raw_id,
            "unavailable",
            format!("the cluster refused the bid before it was appended ({m}); it was not placed"),
        ),
        Err(ProposeError::Unknown(m)) => BidResult::unknown(raw_id, &m),
    }
}
