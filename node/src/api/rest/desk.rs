//! The registration desk (clerk or operator): register a bidder in person
//! with their contact details, search the sale's bidders, edit what the
//! desk knows, and reissue a lost phone's sign-in.
//!
//! Contact details are for staff only: no public event, bid history or
//! bidder-facing reply carries them. A registration hands out a sign-in
//! card ([`SignInCard`]): the bidder's token is made here and never shown;
//! their phone redeems the card's code for a token of its own.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use paddle_proto::auction::{Accepted, AuctionCommand, DeskDetails, Paddle, SaleId};
use paddle_proto::Money;
use serde::{Deserialize, Serialize};

use super::bidders::{Done, BIDDER_PREFIX};
use super::fields::{damaged, opt_amount, sale_currency, Read};
use super::propose::{propose, propose_keyed, write_sale};
use super::sign_in::{code_hash, new_code, SignInCard};
use crate::api::auth::require_staff;
use crate::api::error::ApiError;
use crate::api::extract::{Body, NoFields, OptBody, Path, Query};
use crate::api::reads::{read_headers, view_for, ReadQuery};
use crate::api::state::AppState;
use crate::cluster::secrets;
use paddle_auction::read;

/// A bidder registered in person.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskIn {
    /// The bidder's name (1–100 characters).
    pub name: String,
    /// A chosen paddle number; `null` to take the next free one.
    #[serde(default)]
    pub paddle: Option<u32>,
    /// Approved at once (default true: the desk has seen them).
    #[serde(default)]
    pub approved: Option<bool>,
    /// Spending limit, decimal string; `null` for none.
    #[serde(default)]
    pub limit: Option<String>,
    /// Phone number (≤ 40 characters; staff only).
    #[serde(default)]
    pub phone: String,
    /// E-mail address (≤ 200 characters; staff only).
    #[serde(default)]
    pub email: String,
    /// The desk saw an identity document.
    #[serde(default)]
    pub id_checked: bool,
    /// A deposit taken, in words (≤ 500 characters).
    #[serde(default)]
    pub deposit_note: String,
}

/// A bidder registered at the desk, and their sign-in card (shown once).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeskRegistered {
    pub sale: u64,
    pub paddle: u32,
    pub approved: bool,
    pub index: u64,
    pub sign_in: SignInCard,
}

/// A fresh token nobody is shown and a fresh code: their hashes go into
/// the command, the code onto the card.
fn fresh_sign_in() -> (String, String, String) {
    let hidden = format!("{BIDDER_PREFIX}{}", secrets::random_secret());
    let code = new_code();
    let hash = code_hash(&code).expect("a new code reads as a code");
    (secrets::hash_token(&hidden), code, hash)
}

/// Register a bidder in person (clerk or operator): `409 duplicate` when
/// the chosen paddle is taken.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/desk", tag = "desk", request_body = DeskIn,
    params(("sale" = u64, Path, description = "Sale id")), security(("bearer" = [])),
    responses((status = 201, body = DeskRegistered), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`duplicate`: the paddle is taken")))]
pub async fn register(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Body(d): Body<DeskIn>,
) -> Result<(StatusCode, Json<DeskRegistered>), ApiError> {
    require_staff(&s, &headers).await?;
    let (_, currency) = write_sale(&s, SaleId(sale)).await?;
    let limit = opt_amount(currency, "limit", &d.limit)?;
    let (token_hash, code, code_hash) = fresh_sign_in();
    let approved = d.approved.unwrap_or(true);
    let cmd = AuctionCommand::DeskRegister {
        sale: SaleId(sale),
        name: d.name,
        paddle: d.paddle.map(Paddle),
        token_hash,
        limit,
        approved,
        details: DeskDetails {
            phone: d.phone,
            email: d.email,
            id_checked: d.id_checked,
            deposit_note: d.deposit_note,
        },
        code_hash,
    };
    // The code and token hashes make a repeat of this very command
    // recognisable, so this node may propose it again on an unknown outcome.
    match propose_keyed(&s, cmd).await? {
        (index, Accepted::BidderRegistered { sale, paddle }) => Ok((
            StatusCode::CREATED,
            Json(DeskRegistered {
                sale: sale.0,
                paddle: paddle.0,
                approved,
                index,
                sign_in: SignInCard::new(&headers, s.api.limits.scheme(), sale, &code),
            }),
        )),
        (_, other) => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}

/// A bidder as the desk sees them.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeskRow {
    pub paddle: u32,
    pub name: String,
    pub approved: bool,
    /// Spending limit in minor units.
    pub limit: Option<Money>,
    pub phone: String,
    pub email: String,
    pub id_checked: bool,
    pub deposit_note: String,
    /// A sign-in code was issued and not redeemed yet.
    pub sign_in_pending: bool,
}

/// The desk's list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeskOut {
    pub applied_index: u64,
    pub bidders: Vec<DeskRow>,
}

/// What to look for.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A name (any part, any case), a paddle number, or digits of a phone
    /// number; empty or left out: everyone.
    pub q: Option<String>,
}

/// Does a row match the desk's search text?
fn matches(row: &DeskRow, q: &str) -> bool {
    let q = q.trim();
    if q.is_empty() {
        return true;
    }
    if q.parse::<u32>() == Ok(row.paddle) {
        return true;
    }
    if row.name.to_lowercase().contains(&q.to_lowercase()) {
        return true;
    }
    let digits = |t: &str| t.chars().filter(char::is_ascii_digit).collect::<String>();
    let (qd, pd) = (digits(q), digits(&row.phone));
    qd.len() >= 3 && pd.contains(&qd)
}

/// Search a sale's bidders by name, paddle or phone (clerk or operator).
#[utoipa::path(get, path = "/api/v1/sales/{sale}/desk", tag = "desk",
    params(("sale" = u64, Path, description = "Sale id"), SearchQuery, ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = DeskOut), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
    Query(rq): Query<ReadQuery>,
) -> Read<DeskOut> {
    require_staff(&s, &headers).await?;
    let view = view_for(&s, &rq).await?;
    sale_currency(&view, SaleId(sale))?;
    let text = q.q.unwrap_or_default();
    let bidders = read::desk_rows(&view, SaleId(sale))
        .map_err(damaged)?
        .into_iter()
        .map(|(b, d)| {
            let d = d.unwrap_or_default();
            DeskRow {
                paddle: b.paddle.0,
                name: b.name,
                approved: b.approved,
                limit: b.limit,
                phone: d.details.phone,
                email: d.details.email,
                id_checked: d.details.id_checked,
                deposit_note: d.details.deposit_note,
                sign_in_pending: d.code_hash.is_some(),
            }
        })
        .filter(|row| matches(row, &text))
        .collect();
    Ok((
        read_headers(&s, &view),
        Json(DeskOut {
            applied_index: view.applied_index(),
            bidders,
        }),
    ))
}

/// What the desk knows of a bidder beyond name, approval and limit.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailsIn {
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub id_checked: bool,
    #[serde(default)]
    pub deposit_note: String,
}

/// Replace a bidder's contact details, ID check and deposit note (clerk or
/// operator).
#[utoipa::path(post, path = "/api/v1/sales/{sale}/bidders/{paddle}/details", tag = "desk",
    request_body = DetailsIn, security(("bearer" = [])),
    params(("sale" = u64, Path, description = "Sale id"), ("paddle" = u32, Path, description = "Paddle number")),
    responses((status = 200, body = Done), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 403, body = crate::api::openapi::ErrorBody), (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn details(
    State(s): State<AppState>,
    Path((sale, paddle)): Path<(u64, u32)>,
    headers: HeaderMap,
    Body(d): Body<DetailsIn>,
) -> Result<Json<Done>, ApiError> {
    require_staff(&s, &headers).await?;
    write_sale(&s, SaleId(sale)).await?;
    let cmd = AuctionCommand::SetDeskDetails {
        sale: SaleId(sale),
        paddle: Paddle(paddle),
        details: DeskDetails {
            phone: d.phone,
            email: d.email,
            id_checked: d.id_checked,
            deposit_note: d.deposit_note,
        },
    };
    let (index, _) = propose(&s, cmd).await?;
    Ok(Json(Done { index }))
}

/// A reissued sign-in.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reissued {
    pub sale: u64,
    pub paddle: u32,
    pub index: u64,
    pub sign_in: SignInCard,
}

/// A lost phone (clerk or operator): the bidder's token is replaced, so the
/// old one is refused on every node from this commit on, and a new sign-in
/// card is shown once.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/bidders/{paddle}/reissue", tag = "desk",
    security(("bearer" = [])),
    params(("sale" = u64, Path, description = "Sale id"), ("paddle" = u32, Path, description = "Paddle number")),
    responses((status = 200, body = Reissued), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn reissue(
    State(s): State<AppState>,
    Path((sale, paddle)): Path<(u64, u32)>,
    headers: HeaderMap,
    OptBody(NoFields {}): OptBody<NoFields>,
) -> Result<Json<Reissued>, ApiError> {
    require_staff(&s, &headers).await?;
    write_sale(&s, SaleId(sale)).await?;
    let (token_hash, code, code_hash) = fresh_sign_in();
    let cmd = AuctionCommand::ReissueSignIn {
        sale: SaleId(sale),
        paddle: Paddle(paddle),
        token_hash,
        code_hash,
    };
    match propose_keyed(&s, cmd).await? {
        (index, Accepted::SignIn { sale, paddle }) => Ok(Json(Reissued {
            sale: sale.0,
            paddle: paddle.0,
            index,
            sign_in: SignInCard::new(&headers, s.api.limits.scheme(), sale, &code),
        })),
        (_, other) => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}

/// Whether bidders may register on their own.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfRegistrationIn {
    /// `false`: only the desk registers bidders (anonymous registrations
    /// are refused with `registration_closed`).
    pub open: bool,
}

/// Open or close a sale's self-registration (clerk or operator): a sale
/// whose bidders all come through the desk refuses anonymous sign-ups.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/self-registration", tag = "desk",
    request_body = SelfRegistrationIn, security(("bearer" = [])),
    params(("sale" = u64, Path, description = "Sale id")),
    responses((status = 200, body = super::room::SaleChanged), (status = 403, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody)))]
pub async fn self_registration(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    headers: HeaderMap,
    Body(b): Body<SelfRegistrationIn>,
) -> Result<Json<super::room::SaleChanged>, ApiError> {
    require_staff(&s, &headers).await?;
    let cmd = AuctionCommand::SetSelfRegistration {
        sale: SaleId(sale),
        open: b.open,
    };
    super::room::commit_sale_change(&s, SaleId(sale), cmd).await
}
