//! Fuzz targets of what clients send (bolero; see `fuzz/support.rs` and
//! RELIABILITY.md): WebSocket messages, REST bodies with the checks their
//! handlers run before proposing, and CSV catalogues. For any bytes: no
//! panic, and every refusal carries a stable code and a message. These run
//! inside the library's unit tests because the request types and checks
//! are private to their handlers' modules.

#[macro_use]
#[path = "../../../../fuzz/support.rs"]
mod support;

use paddle_proto::Currency;

use super::{bidders, clerk_tokens, desk, lots, office, room, rostrum, sales, sign_in};
use crate::api::error::ApiError;
use crate::api::ws::messages;

/// A refusal a client can switch on: a snake_case code and a message.
fn coded(code: &str, message: &str) {
    assert!(!code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    assert!(!message.is_empty());
}

fn refused(e: &ApiError) {
    coded(e.code, &e.message);
}

fn currency(pick: u8) -> Currency {
    Currency::all()[pick as usize % Currency::all().len()]
}

/// One WebSocket text message, as the session reads it.
fn parse_ws_message(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if let Err(e) = messages::parse(text) {
        coded(e.code, &e.message);
    }
}

/// A REST body: the first byte picks the route's request type, the second
/// the sale's currency; the body goes through the same JSON extractor
/// types and the checks the handler makes before it proposes anything.
fn check_rest_body(input: &[u8]) {
    let [pick, cur, body @ ..] = input else {
        return;
    };
    let currency = currency(*cur);
    fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
        serde_json::from_slice(body).ok()
    }
    match pick % 16 {
        0 => {
            if let Some(s) = json::<sales::SaleIn>(body) {
                if let Err(e) = sales::check_times(&s.mode, s.soft_close.as_ref()) {
                    refused(&e);
                }
                if let Err(e) = sales::increments(s.currency, s.increments) {
                    refused(&e);
                }
            }
        }
        1 => {
            if let Some(l) = json::<lots::LotsIn>(body) {
                for (i, lot) in l.lots.iter().enumerate() {
                    if let Err(e) = lots::spec(currency, &format!("lots[{i}]"), lot) {
                        refused(&e);
                    }
                }
            }
        }
        2 => {
            if let Some(l) = json::<lots::LotIn>(body) {
                if let Err(e) = lots::spec(currency, "lot", &l) {
                    refused(&e);
                }
            }
        }
        3 => {
            if let Some(b) = json::<crate::api::bid_result::BidIn>(body) {
                if let Err(r) = crate::api::bidding::parse_max(currency, &b.max, "fuzz") {
                    refused(&r.into_error());
                }
            }
        }
        4 => drop(json::<bidders::RegisterIn>(body)),
        5 => drop(json::<bidders::ApproveIn>(body)),
        6 => drop(json::<bidders::LimitIn>(body)),
        7 => drop(json::<clerk_tokens::ClerkIn>(body)),
        8 => drop(json::<desk::DeskIn>(body)),
        9 => drop(json::<desk::DetailsIn>(body)),
        10 => drop(json::<office::CommissionIn>(body)),
        11 => drop(json::<office::PhoneBidIn>(body)),
        12 => drop(json::<room::PauseIn>(body)),
        13 => drop(json::<room::ExtendIn>(body)),
        14 => {
            drop(json::<rostrum::IncrementIn>(body));
            drop(json::<rostrum::FloorBidIn>(body));
            drop(json::<rostrum::RetractIn>(body));
        }
        _ => {
            drop(json::<sales::ScheduleIn>(body));
            drop(json::<sign_in::RedeemIn>(body));
            drop(json::<desk::SelfRegistrationIn>(body));
        }
    }
}

/// A CSV catalogue, as `POST /api/v1/sales/{sale}/lots/import` reads it:
/// the first byte picks the sale's currency. Every accepted row goes
/// through the same lot checks as a JSON lot.
fn import_csv(input: &[u8]) {
    let Some((&cur, text)) = input.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    match lots::parse_csv(text) {
        Ok(rows) => {
            assert!(rows.len() <= paddle_auction::MAX_LOTS_PER_COMMAND);
            for (i, (row, _consignor)) in rows.iter().enumerate() {
                if let Err(e) = lots::spec(currency(cur), &format!("row {}", i + 2), row) {
                    refused(&e);
                }
            }
        }
        Err(e) => refused(&e),
    }
}

fuzz_target!(ws_messages, parse_ws_message);
fuzz_target!(rest_bodies, check_rest_body);
fuzz_target!(csv_import, import_csv);
