//! One WebSocket connection: a writer (the connection's queue to the
//! socket) and a reader (client messages, answered through the queue)
//! joined by `select!` in one task, so an idle connection costs one task
//! and small buffers. Bids run in their own short tasks so a slow commit
//! never blocks pings or other bids.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::{SinkExt, StreamExt};
use governor::DefaultDirectRateLimiter;
use paddle_proto::auction::{EventRecord, SaleId};
use tokio::sync::mpsc;

use super::hub::{Audience, ConnId, Out, KILL_LAGGED, QUEUE};
use super::messages::snapshot_text;
use super::messages::{self, events_text, ClientMsg, ServerMsg, WelcomeLimits};
use crate::api::auth::{self, Caller, WhoAmI};
use crate::api::bidding::{self, BidIn, BidResult, BidSource};
use crate::api::limits::{ConnectionSlot, MAX_REPLAY_EVENTS};
use crate::api::reads::{freshness, server_time_ms};
use crate::api::state::AppState;
use paddle_auction::read;

/// A client has this long to say `hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for this node to reach a client's `since`.
const CATCH_UP_WAIT: Duration = Duration::from_secs(5);
/// Events per frame of a replay.
const REPLAY_CHUNK: usize = 200;

/// What the reader asks of the writer when it stops.
enum Ending {
    /// The client went away: nothing more to send.
    Gone,
    /// Close after the queued messages.
    Close(u16, &'static str),
}

struct Session {
    s: AppState,
    id: ConnId,
    tx: mpsc::Sender<Out>,
    cookie: Option<String>,
    caller: Option<Caller>,
    hello: bool,
    since: Option<u64>,
    sales: HashSet<SaleId>,
    bids: Option<Arc<DefaultDirectRateLimiter>>,
}

/// Serve one upgraded connection until either side ends it.
pub async fn run(s: AppState, socket: WebSocket, cookie: Option<String>, slot: ConnectionSlot) {
    let _slot = slot;
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Out>(QUEUE);
    let hub = s.api.hub.clone();
    let (id, kill) = hub.connect(tx.clone());
    let mut sess = Session {
        s,
        id,
        tx,
        cookie,
        caller: None,
        hello: false,
        since: None,
        sales: HashSet::new(),
        bids: None,
    };

    let write = async {
        loop {
            tokio::select! {
                out = rx.recv() => {
                    let text = match out {
                        Some(Out::Shared(f)) => f.text.clone(),
                        Some(Out::Own(t)) => t,
                        Some(Out::Close(code, reason)) => {
                            let _ = sink.send(close(code, reason)).await;
                            return;
                        }
                        None => return,
                    };
                    if sink.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                _ = kill.1.notified() => {
                    if kill.0.load(Ordering::Relaxed) == KILL_LAGGED {
                        let text = ServerMsg::error(
                            "lagged",
                            "this connection did not read its messages fast enough; reconnect with `since` to resume",
                        )
                        .to_text();
                        let _ = sink.send(Message::Text(text.into())).await;
                        let _ = sink.send(close(1013, "lagged")).await;
                    }
                    return;
                }
            }
        }
    };
    tokio::pin!(write);
    let ending = tokio::select! {
        _ = &mut write => Ending::Gone,
        e = sess.read(&mut stream) => e,
    };
    if let Ending::Close(code, reason) = ending {
        // Let the writer send what is queued (the error), then close.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = sess.tx.send(Out::Close(code, reason)).await;
            (&mut write).await;
        })
        .await;
    }
    hub.disconnect(id, sess.sales.iter().copied());
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// Was a read error an oversized message?
fn too_large(e: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error as WsError;
    e.into_inner()
        .downcast::<WsError>()
        .is_ok_and(|e| matches!(*e, WsError::Capacity(_)))
}

impl Session {
    /// Queue a message for this connection.
    async fn send(&self, msg: ServerMsg<'_>) {
        let _ = self.tx.send(Out::Own(msg.to_text().into())).await;
    }

    /// A message over the cap: say so, and close (1009).
    async fn too_large(&mut self) -> Ending {
        let max = self.s.api.limits.cfg.ws_max_message_bytes;
        self.error(
            "message_too_large",
            format!("messages are limited to {max} bytes"),
            None,
        )
        .await;
        Ending::Close(1009, "message_too_large")
    }

    async fn error(&self, code: &'static str, message: impl Into<String>, sale: Option<u64>) {
        self.send(ServerMsg::Error {
            code,
            message: message.into(),
            sale,
        })
        .await;
    }

    /// Read client messages until the client leaves or must be closed.
    async fn read(&mut self, stream: &mut futures::stream::SplitStream<WebSocket>) -> Ending {
        let hello_deadline = tokio::time::sleep(HELLO_TIMEOUT);
        tokio::pin!(hello_deadline);
        loop {
            let msg = tokio::select! {
                m = stream.next() => m,
                _ = &mut hello_deadline, if !self.hello => {
                    self.error("hello_timeout", "no `hello` within 10 s", None).await;
                    return Ending::Close(1008, "hello_timeout");
                }
            };
            match msg {
                None | Some(Ok(Message::Close(_))) => return Ending::Gone,
                Some(Err(e)) => {
                    if too_large(e) {
                        return self.too_large().await;
                    }
                    return Ending::Gone;
                }
                Some(Ok(Message::Binary(_))) => {
                    self.error(
                        "binary_not_supported",
                        "send messages as JSON text frames",
                        None,
                    )
                    .await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Text(text))) => {
                    let max = self.s.api.limits.cfg.ws_max_message_bytes;
                    if text.len() > max {
                        return self.too_large().await;
                    }
                    // Boxed: the state of a subscribe or hello lives on the
                    // heap only while one runs, so an idle connection's task
                    // stays small (memory per idle connection).
                    if let Some(end) = Box::pin(self.handle(&text)).await {
                        return end;
                    }
                }
            }
        }
    }

    /// Answer one text message; `Some` ends the connection.
    async fn handle(&mut self, text: &str) -> Option<Ending> {
        let msg = match messages::parse(text) {
            Ok(m) => {
                tracing::debug!(conn = self.id, msg = ?m, "ws message");
                m
            }
            Err(e) => {
                match e.bid_id {
                    Some(id) if self.hello => {
                        let r = BidResult::refused(&id, "bad_message", e.message);
                        self.send(ServerMsg::BidResult { result: r }).await;
                    }
                    _ => self.error(e.code, e.message, None).await,
                }
                return None;
            }
        };
        if !self.hello && !matches!(msg, ClientMsg::Hello { .. }) {
            self.error("hello_required", "the first message must be `hello`", None)
                .await;
            return None;
        }
        match msg {
            ClientMsg::Hello { token, since } => return self.hello(token, since).await,
            ClientMsg::Subscribe { sale, since } => self.subscribe(SaleId(sale), since).await,
            ClientMsg::Unsubscribe { sale } => {
                self.s.api.hub.unsubscribe(self.id, SaleId(sale));
                self.sales.remove(&SaleId(sale));
                self.send(ServerMsg::Unsubscribed { sale }).await;
            }
            ClientMsg::Bid { lot, sale, bid } => self.bid(lot, sale, bid).await,
            ClientMsg::Ping { client_time } => {
                self.send(ServerMsg::Pong {
                    client_time,
                    server_time_ms: server_time_ms(&self.s.consensus),
                })
                .await
            }
        }
        None
    }

    async fn hello(&mut self, token: Option<String>, since: Option<u64>) -> Option<Ending> {
        if self.hello {
            self.error("already_hello", "`hello` was already received", None)
                .await;
            return None;
        }
        if let Some(token) = token.or_else(|| self.cookie.take()) {
            match auth::resolve(&self.s, &token).await {
                Some(c) => self.caller = Some(c),
                None => {
                    self.error(
                        "unauthorized",
                        "the token is not recognised (revoked, mistyped, or from another cluster)",
                        None,
                    )
                    .await;
                    return Some(Ending::Close(1008, "unauthorized"));
                }
            }
        }
        self.hello = true;
        self.since = since;
        let c = &self.s.consensus;
        if let Some(i) = since {
            if c.wait_applied(i, CATCH_UP_WAIT).await.is_err() {
                self.error(
                    "not_caught_up",
                    format!("this node has not reached index {i} yet; what it shows may be older than what you saw"),
                    None,
                )
                .await;
            }
        }
        let cfg = &self.s.api.limits.cfg;
        let f = freshness(c);
        self.send(ServerMsg::Welcome {
            node_id: c.id(),
            server_time_ms: server_time_ms(c),
            applied_index: c.applied_index(),
            leader_known: f.leader_known,
            who: WhoAmI::of(self.caller.as_ref()),
            limits: WelcomeLimits {
                max_message_bytes: cfg.ws_max_message_bytes,
                max_subscriptions: cfg.max_subscriptions_per_connection,
                bids_per_second: cfg.bids_per_second_per_connection,
                max_replay_events: MAX_REPLAY_EVENTS,
            },
        })
        .await;
        self.send(ServerMsg::NodeStatus {
            status: f,
            server_time_ms: server_time_ms(c),
        })
        .await;
        None
    }

    /// Who this connection is in `sale`: one of its bidders, staff, or
    /// anyone.
    fn audience_in(&self, sale: SaleId) -> Audience {
        match &self.caller {
            Some(Caller::Bidder(b)) if b.sale == sale => Audience::Bidder(b.paddle),
            Some(c) if c.is_staff() => Audience::Staff,
            _ => Audience::Public,
        }
    }

    async fn subscribe(&mut self, sale: SaleId, since: Option<u64>) {
        let cap = self.s.api.limits.cfg.max_subscriptions_per_connection;
        if !self.sales.contains(&sale) && self.sales.len() >= cap {
            self.error(
                "too_many_subscriptions",
                format!("one connection follows at most {cap} sales; unsubscribe from one first"),
                Some(sale.0),
            )
            .await;
            return;
        }
        let since = since.or(self.since);
        let hub = self.s.api.hub.clone();
        let audience = self.audience_in(sale);
        let handled = hub.subscribe(self.id, sale, audience);
        self.sales.insert(sale);
        let want = handled.max(since.unwrap_or(0));
        let view = match self.s.consensus.wait_applied(want, CATCH_UP_WAIT).await {
            Ok(v) => v,
            Err(_) => {
                self.drop_sub(sale);
                self.error(
                    "not_caught_up",
                    format!(
                        "this node has not reached index {want} yet; try again or another node"
                    ),
                    Some(sale.0),
                )
                .await;
                return;
            }
        };
        if read::sale_record(&view, sale).ok().flatten().is_none() {
            self.drop_sub(sale);
            self.error("unknown_sale", "there is no such sale", Some(sale.0))
                .await;
            return;
        }
        let upto = view.applied_index();
        let mut replayed = 0;
        let missed = since.map(|s| {
            read::events_after(&view, sale, s)
                .unwrap_or_default()
                .into_iter()
                .filter(|r| super::hub::is_for(r, audience))
                .collect::<Vec<EventRecord>>()
        });
        match missed {
            Some(events) if events.len() <= MAX_REPLAY_EVENTS => {
                replayed = events.len();
                for chunk in events.chunks(REPLAY_CHUNK) {
                    let _ = self
                        .tx
                        .send(Out::Own(events_text(sale, chunk).into()))
                        .await;
                }
            }
            other => {
                let reason = if other.is_some() {
                    "too_far_behind"
                } else {
                    "subscribe"
                };
                if let Some(text) =
                    snapshot_text(&view, sale, reason, server_time_ms(&self.s.consensus))
                {
                    let _ = self.tx.send(Out::Own(text.into())).await;
                }
            }
        }
        let done = ServerMsg::Subscribed {
            sale,
            index: upto,
            replayed,
        }
        .to_text();
        hub.activate(self.id, sale, upto, done.into());
    }

    fn drop_sub(&mut self, sale: SaleId) {
        self.s.api.hub.unsubscribe(self.id, sale);
        self.sales.remove(&sale);
    }

    async fn bid(&mut self, lot: u64, sale: Option<u64>, bid: BidIn) {
        let raw_id = match &bid.bid_id {
            serde_json::Value::String(v) => v.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        let who = match &self.caller {
            Some(Caller::Bidder(b)) => b.clone(),
            Some(other) => {
                let r = BidResult::refused(
                    &raw_id,
                    "forbidden",
                    format!(
                        "bids need a bidder token; a {} places floor bids over REST",
                        other.role()
                    ),
                );
                return self.send(ServerMsg::BidResult { result: r }).await;
            }
            None => {
                let r = BidResult::refused(
                    &raw_id,
                    "unauthorized",
                    "bids need a bidder token in `hello`",
                );
                return self.send(ServerMsg::BidResult { result: r }).await;
            }
        };
        if sale.is_some_and(|s| s != who.sale.0) {
            let r = BidResult::refused(
                &raw_id,
                "wrong_sale",
                format!("your token is for sale {}", who.sale),
            );
            return self.send(ServerMsg::BidResult { result: r }).await;
        }
        let limiter = self
            .bids
            .get_or_insert_with(|| Arc::new(self.s.api.limits.connection_bids()))
            .clone();
        let (s, tx) = (self.s.clone(), self.tx.clone());
        tokio::spawn(async move {
            let result = bidding::place(
                &s,
                &who,
                lot,
                &bid,
                BidSource {
                    connection: Some(&limiter),
                },
            )
            .await;
            tracing::debug!(outcome = ?result.outcome, code = ?result.code, "bid answered");
            let text = ServerMsg::BidResult { result }.to_text();
            let _ = tx.send(Out::Own(text.into())).await;
        });
    }
}
