//! The WebSocket messages, both ways, as `docs/protocol.md` describes them.
//!
//! Client messages are parsed in two steps so every mistake gets its own
//! code: first as JSON (`bad_json`), then the `type` (`unknown_type`), then
//! the fields of that type (`bad_message`). A `bid` keeps its raw `max` and
//! `bid_id` so the bid path can say exactly what is wrong with them, and so
//! even a malformed bid gets a `bid_result` with the id it was sent with.

use paddle_proto::auction::{EventRecord, LotView, SaleId, SaleView};
use serde::{Deserialize, Serialize};

use crate::api::bid_result::{BidIn, BidResult};
use crate::api::caller::WhoAmI;
use crate::api::freshness::Freshness;

/// What a client may send. Its `Debug` never shows a token.
#[derive(Clone)]
pub enum ClientMsg {
    Hello {
        token: Option<String>,
        since: Option<u64>,
    },
    Subscribe {
        sale: u64,
        since: Option<u64>,
    },
    Unsubscribe {
        sale: u64,
    },
    Bid {
        lot: u64,
        sale: Option<u64>,
        bid: BidIn,
    },
    Ping {
        client_time: serde_json::Value,
    },
}

impl std::fmt::Debug for ClientMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientMsg::Hello { token, since } => f
                .debug_struct("Hello")
                .field("token", &token.as_ref().map(|_| "<redacted>"))
                .field("since", since)
                .finish(),
            ClientMsg::Subscribe { sale, since } => f
                .debug_struct("Subscribe")
                .field("sale", sale)
                .field("since", since)
                .finish(),
            ClientMsg::Unsubscribe { sale } => {
                f.debug_struct("Unsubscribe").field("sale", sale).finish()
            }
            ClientMsg::Bid { lot, sale, bid } => f
                .debug_struct("Bid")
                .field("lot", lot)
                .field("sale", sale)
                .field("bid_id", &bid.bid_id)
                .field("max", &bid.max)
                .finish(),
            ClientMsg::Ping { client_time } => f
                .debug_struct("Ping")
                .field("client_time", client_time)
                .finish(),
        }
    }
}

/// Why a client message was not understood: `(code, message)`, plus the
/// bid id when the message was a bid (it still gets a `bid_result`).
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub code: &'static str,
    pub message: String,
    pub bid_id: Option<String>,
}

fn bad(code: &'static str, message: impl Into<String>) -> ParseError {
    ParseError {
        code,
        message: message.into(),
        bid_id: None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HelloIn {
    #[serde(rename = "type")]
    _type: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    since: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeIn {
    #[serde(rename = "type")]
    _type: String,
    sale: u64,
    #[serde(default)]
    since: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BidMsgIn {
    #[serde(rename = "type")]
    _type: String,
    #[serde(default)]
    bid_id: serde_json::Value,
    lot: u64,
    #[serde(default)]
    sale: Option<u64>,
    #[serde(default)]
    max: serde_json::Value,
    #[serde(default)]
    buy_now: bool,
}

/// The types a client may send, for error messages.
const TYPES: &str = "hello, subscribe, unsubscribe, bid or ping";

/// Parse one text message.
pub fn parse(text: &str) -> Result<ClientMsg, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| bad("bad_json", format!("the message is not valid JSON: {e}")))?;
    let Some(obj) = value.as_object() else {
        return Err(bad(
            "bad_message",
            "a message is a JSON object with a `type`",
        ));
    };
    let Some(ty) = obj.get("type").and_then(|t| t.as_str()) else {
        return Err(bad(
            "bad_message",
            format!("the message has no string `type`; expected {TYPES}"),
        ));
    };
    let shape = |e: serde_json::Error| bad("bad_message", format!("bad `{ty}` message: {e}"));
    match ty {
        "hello" => {
            let h: HelloIn = serde_json::from_value(value.clone()).map_err(shape)?;
            Ok(ClientMsg::Hello {
                token: h.token,
                since: h.since,
            })
        }
        "subscribe" => {
            let s: SubscribeIn = serde_json::from_value(value.clone()).map_err(shape)?;
            Ok(ClientMsg::Subscribe {
                sale: s.sale,
                since: s.since,
            })
        }
        "unsubscribe" => match obj.get("sale").and_then(|s| s.as_u64()) {
            Some(sale) if obj.len() == 2 => Ok(ClientMsg::Unsubscribe { sale }),
            _ => Err(bad(
                "bad_message",
                "bad `unsubscribe` message: it has a `sale` (an integer) and nothing else",
            )),
        },
        "bid" => {
            let bid_id = obj.get("bid_id").map(|b| match b {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            let b: BidMsgIn = serde_json::from_value(value.clone()).map_err(|e| ParseError {
                bid_id: bid_id.clone(),
                ..shape(e)
            })?;
            Ok(ClientMsg::Bid {
                lot: b.lot,
                sale: b.sale,
                bid: BidIn {
                    bid_id: b.bid_id,
                    max: b.max,
                    buy_now: b.buy_now,
                },
            })
        }
        "ping" => match obj.get("client_time") {
            Some(t @ serde_json::Value::Number(_)) => Ok(ClientMsg::Ping {
                client_time: t.clone(),
            }),
            None if obj.len() == 1 => Ok(ClientMsg::Ping {
                client_time: serde_json::Value::Null,
            }),
            _ => Err(bad(
                "bad_message",
                "bad `ping` message: `client_time` is a number",
            )),
        },
        other => Err(bad(
            "unknown_type",
            format!("unknown message type `{other}`; expected {TYPES}"),
        )),
    }
}

/// The limits a client is told in `welcome`.
#[derive(Debug, Clone, Serialize)]
pub struct WelcomeLimits {
    pub max_message_bytes: usize,
    pub max_subscriptions: usize,
    pub bids_per_second: u32,
    pub max_replay_events: usize,
}

/// A sale with its currency's decimals, so amounts can be shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SaleOut {
    #[serde(flatten)]
    pub sale: SaleView,
    /// Decimals of the currency: 1250 with exponent 2 is 12.50.
    pub currency_exponent: u8,
}

impl From<SaleView> for SaleOut {
    fn from(sale: SaleView) -> Self {
        SaleOut {
            currency_exponent: sale.currency.exponent(),
            sale,
        }
    }
}

/// What the server sends that is not a pre-serialized event frame.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg<'a> {
    Welcome {
        node_id: u64,
        server_time_ms: u64,
        applied_index: u64,
        leader_known: bool,
        #[serde(flatten)]
        who: WhoAmI,
        limits: WelcomeLimits,
    },
    NodeStatus {
        #[serde(flatten)]
        status: Freshness,
        server_time_ms: u64,
    },
    Snapshot {
        reason: &'static str,
        index: u64,
        server_time_ms: u64,
        sale: SaleOut,
        lots: Vec<LotView>,
    },
    Subscribed {
        sale: SaleId,
        index: u64,
        replayed: usize,
    },
    Unsubscribed {
        sale: u64,
    },
    Event {
        sale: SaleId,
        #[serde(flatten)]
        record: &'a EventRecord,
    },
    Events {
        sale: SaleId,
        events: &'a [EventRecord],
    },
    BidResult {
        #[serde(flatten)]
        result: BidResult,
    },
    Pong {
        client_time: serde_json::Value,
        server_time_ms: u64,
    },
    Presence {
        sale: u64,
        watchers: u64,
        nodes: usize,
        server_time_ms: u64,
    },
    Error {
        code: &'static str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        sale: Option<u64>,
    },
}

impl ServerMsg<'_> {
    /// The message as JSON text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("server messages always serialize")
    }

    /// An `error` message.
    pub fn error(code: &'static str, message: impl Into<String>) -> ServerMsg<'static> {
        ServerMsg::Error {
            code,
            message: message.into(),
            sale: None,
        }
    }
}

/// One frame of events of a sale: `event` for one, `events` for several.
pub fn events_text(sale: SaleId, records: &[EventRecord]) -> String {
    match records {
        [one] => ServerMsg::Event { sale, record: one }.to_text(),
        many => ServerMsg::Events { sale, events: many }.to_text(),
    }
}

/// A sale's `snapshot` message at the view's index, with the server (cluster)
/// time `now_ms`, or `None` when the sale does not exist there.
pub fn snapshot_text(
    view: &paddle_consensus::KvView,
    sale: paddle_proto::auction::SaleId,
    reason: &'static str,
    now_ms: u64,
) -> Option<String> {
    let sale_view = paddle_auction::read::get_sale(view, sale).ok().flatten()?;
    let lots = paddle_auction::read::lots(view, sale)
        .ok()
        .flatten()
        .unwrap_or_default();
    Some(
        ServerMsg::Snapshot {
            reason,
            index: view.applied_index(),
            server_time_ms: now_ms,
            sale: sale_view.into(),
            lots,
        }
        .to_text(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> &'static str {
        parse(text).unwrap_err().code
    }

    #[test]
    fn every_mistake_has_its_code() {
        assert_eq!(code("{not json"), "bad_json");
        assert_eq!(code("[1,2]"), "bad_message");
        assert_eq!(code(r#"{"sale":1}"#), "bad_message");
        assert_eq!(code(r#"{"type":"bidd"}"#), "unknown_type");
        assert_eq!(code(r#"{"type":"subscribe","sale":"one"}"#), "bad_message");
        assert_eq!(
            code(r#"{"type":"subscribe","sale":1,"x":2}"#),
            "bad_message"
        );
        assert_eq!(
            code(r#"{"type":"ping","client_time":"now"}"#),
            "bad_message"
        );
        let e = parse(r#"{"type":"bid","bid_id":"b1","lot":"x","max":"1"}"#).unwrap_err();
        assert_eq!((e.code, e.bid_id.as_deref()), ("bad_message", Some("b1")));
    }

    #[test]
    fn tokens_never_show_in_debug_output() {
        let m = parse(r#"{"type":"hello","token":"pdb_secret"}"#).unwrap();
        assert!(!format!("{m:?}").contains("pdb_secret"));
    }

    #[test]
    fn good_messages_parse() {
        assert!(matches!(
            parse(r#"{"type":"hello","token":"t","since":5}"#),
            Ok(ClientMsg::Hello { since: Some(5), .. })
        ));
        assert!(matches!(
            parse(r#"{"type":"subscribe","sale":1}"#),
            Ok(ClientMsg::Subscribe {
                sale: 1,
                since: None
            })
        ));
        assert!(matches!(
            parse(r#"{"type":"unsubscribe","sale":1}"#),
            Ok(ClientMsg::Unsubscribe { sale: 1 })
        ));
        match parse(r#"{"type":"bid","bid_id":"b1","lot":3,"max":12.5}"#) {
            Ok(ClientMsg::Bid { lot: 3, bid, .. }) => assert!(bid.max.is_number()),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"type":"ping","client_time":1.5}"#),
            Ok(ClientMsg::Ping { .. })
        ));
    }
}

#[cfg(test)]
mod serialize_tests {
    use super::*;
    use paddle_proto::auction::{AuctionReply, RejectReason};
    use paddle_proto::Money;

    #[test]
    fn a_refused_bid_result_serializes_with_its_reason() {
        let r = BidResult::from_reply(
            "b1",
            7,
            AuctionReply::rejected(
                RejectReason::TooLow {
                    minimum: Money::from_minor(2200).unwrap(),
                },
                None,
            ),
        );
        let text = ServerMsg::BidResult { result: r }.to_text();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "bid_result");
        assert_eq!(v["reason"]["code"], "too_low");
        assert_eq!(v["reason"]["minimum"], 2200);
    }
}
