//! Sign-in codes: what the desk hands a bidder instead of a token.
//!
//! The desk registers a bidder (or reissues a lost phone's sign-in) with a
//! random token nobody is shown and a short code printed on a card and as
//! a QR. The bidder's phone redeems the code for a token of its own
//! (`POST /api/v1/sales/{sale}/sign-in`); the code is spent. Only hashes
//! of tokens and codes go into the log.
//!
//! A code is 10 Crockford base32 characters (50 bits, shown `XXXXX-XXXXX`):
//! too many to guess through a rate-limited API within the code's week of
//! validity, few enough to type. Reading it forgives case, spaces, dashes
//! and the letters people confuse with digits (I, L → 1; O → 0).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use paddle_proto::auction::{Accepted, AuctionCommand, SaleId};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::bidders::BIDDER_PREFIX;
use super::fields::damaged;
use super::propose::propose_keyed;
use crate::api::error::ApiError;
use crate::api::extract::{Body, Path};
use crate::api::reads::fresh_view;
use crate::api::state::AppState;
use crate::cluster::secrets;
use paddle_auction::read;

/// Crockford's base32 alphabet: no I, L, O, U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code.
const CODE_LEN: usize = 10;

/// A fresh code, as printed (`XXXXX-XXXXX`).
pub fn new_code() -> String {
    let mut rng = rand::thread_rng();
    let chars: String = (0..CODE_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..32)] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// A typed code in its one canonical spelling, or `None` when it cannot be
/// a code at all.
pub fn normalise(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_LEN);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == CODE_LEN).then_some(out)
}

/// What the log keeps of a code: the hash of its canonical spelling.
pub fn code_hash(code: &str) -> Option<String> {
    normalise(code).map(|c| secrets::hash_token(&format!("pdc_{c}")))
}

/// A bidder's sign-in as the desk shows it, once.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignInCard {
    /// The code to type (`XXXXX-XXXXX`); not stored anywhere.
    pub code: String,
    /// The bidder page on this node, signing in with the code.
    pub url: String,
    /// The URL as a QR code: an SVG document made by the server.
    pub qr_svg: String,
}

impl SignInCard {
    /// The card for `code`, pointing at the node the desk reached (the
    /// page's origin, or the Host it asked for under this node's `scheme`,
    /// `https` when it serves TLS), as phones on the same network reach it
    /// too.
    pub fn new(headers: &HeaderMap, scheme: &str, sale: SaleId, code: &str) -> SignInCard {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .filter(|o| o.starts_with("http://") || o.starts_with("https://"))
            .map(str::to_string)
            .or_else(|| {
                headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .map(|h| format!("{scheme}://{h}"))
            })
            .unwrap_or_default();
        let url = format!("{origin}/?sale={}&code={code}", sale.0);
        let qr_svg =
            qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
                .map(|q| {
                    q.render::<qrcode::render::svg::Color<'_>>()
                        .min_dimensions(240, 240)
                        .quiet_zone(true)
                        .build()
                })
                .unwrap_or_default();
        SignInCard {
            code: code.to_string(),
            url,
            qr_svg,
        }
    }
}

/// A code from the desk.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemIn {
    /// As printed (`XXXXX-XXXXX`); case, spaces and dashes do not matter.
    #[schema(example = "K7QMT-4ZPXC")]
    pub code: String,
}

/// A bidder signed in: their token from now on (shown once).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedIn {
    pub sale: u64,
    pub paddle: u32,
    /// The bidder's bearer token; any earlier one of theirs is refused now.
    pub token: String,
    pub index: u64,
}

/// Redeem a sign-in code from the desk (anyone holding it): the bidder's
/// token becomes a new one, returned once; the code is spent.
#[utoipa::path(post, path = "/api/v1/sales/{sale}/sign-in", tag = "bidders", request_body = RedeemIn,
    params(("sale" = u64, Path, description = "Sale id")),
    responses((status = 200, body = SignedIn), (status = 400, body = crate::api::openapi::ErrorBody),
              (status = 404, body = crate::api::openapi::ErrorBody, description = "`unknown_sign_in`"),
              (status = 409, body = crate::api::openapi::ErrorBody, description = "`sign_in_expired`")))]
pub async fn redeem(
    State(s): State<AppState>,
    Path(sale): Path<u64>,
    Body(b): Body<RedeemIn>,
) -> Result<Json<SignedIn>, ApiError> {
    let unknown = || {
        ApiError::not_found(
            "unknown_sign_in",
            "no sign-in matches that code (mistyped, used already, or replaced at the desk)",
        )
    };
    let code_hash = code_hash(&b.code).ok_or_else(unknown)?;
    // Only a code this cluster issued reaches the log.
    let view = fresh_view(&s, |v| matches!(read::sign_in(v, &code_hash), Ok(Some(_)))).await?;
    match read::sign_in(&view, &code_hash).map_err(damaged)? {
        Some((of, _)) if of.0 == sale => {}
        _ => return Err(unknown()),
    }
    let token = format!("{BIDDER_PREFIX}{}", secrets::random_secret());
    let cmd = AuctionCommand::RedeemSignIn {
        sale: SaleId(sale),
        code_hash,
        token_hash: secrets::hash_token(&token),
    };
    match propose_keyed(&s, cmd).await? {
        (index, Accepted::SignIn { sale, paddle }) => Ok(Json(SignedIn {
            sale: sale.0,
            paddle: paddle.0,
            token,
            index,
        })),
        (_, other) => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_forgivingly_and_only_as_codes() {
        let code = new_code();
        assert_eq!(code.len(), 11);
        let canon = normalise(&code).unwrap();
        assert_eq!(
            normalise(&code.to_lowercase().replace('-', " ")),
            Some(canon.clone())
        );
        assert_eq!(normalise("OIL00-11111"), Some("0110011111".into()));
        assert_eq!(normalise("ABCDE-FGHJ"), None, "too short");
        assert_eq!(normalise("ABCDE-FGHJKU"), None, "U is not in the alphabet");
        assert_eq!(normalise("ÄBCDE-FGHJK"), None);
        assert_eq!(code_hash(&code).unwrap().len(), 64);
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn the_card_points_at_the_node_the_desk_reached() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "10.0.0.5:8080".parse().unwrap());
        let card = SignInCard::new(&h, "http", SaleId(3), "ABCDE-FGHJK");
        assert_eq!(card.url, "http://10.0.0.5:8080/?sale=3&code=ABCDE-FGHJK");
        let card = SignInCard::new(&h, "https", SaleId(3), "ABCDE-FGHJK");
        assert_eq!(card.url, "https://10.0.0.5:8080/?sale=3&code=ABCDE-FGHJK");
        assert!(card.qr_svg.contains("<svg"));
        h.insert(header::ORIGIN, "https://venue.local".parse().unwrap());
        let card = SignInCard::new(&h, "http", SaleId(3), "ABCDE-FGHJK");
        assert!(card.url.starts_with("https://venue.local/?sale=3&code="));
    }
}
