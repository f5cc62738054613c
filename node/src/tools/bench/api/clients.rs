//! The bench's WebSocket clients: bidders that bid at a fixed rate and
//! time their results, watchers that time every `bid_accepted` (a sample
//! of them) or the first one after the fan-out bid.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::local;
use crate::tools::bench::plot::points_of;

/// The fields of a `bid_result` the bench reads (borrowed: no copies).
#[derive(serde::Deserialize)]
struct ResultIn<'a> {
    #[serde(borrow)]
    bid_id: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    outcome: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    index: Option<u64>,
}

/// Shared by bidders and watchers.
#[derive(Default)]
pub(super) struct Shared {
    /// `(lot, paddle)` → when that bidder last sent a bid.
    pub(super) sent: Mutex<HashMap<(u64, u64), Instant>>,
    pub(super) watcher_us: Mutex<Option<Histogram<u64>>>,
    pub(super) result_us: Mutex<Option<Histogram<u64>>>,
    pub(super) accepted: AtomicU64,
    pub(super) rejected: AtomicU64,
    pub(super) unknown: AtomicU64,
    /// Bids sent.
    pub(super) sent_count: AtomicU64,
    /// Set for the fan-out bid: watchers report the first `bid_accepted`
    /// (and sampled watchers stop timing: that bid is not the run's).
    pub(super) armed: AtomicBool,
}

impl Shared {
    pub(super) fn answered(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
            + self.rejected.load(Ordering::Relaxed)
            + self.unknown.load(Ordering::Relaxed)
    }
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds")
}

fn record(h: &Mutex<Option<Histogram<u64>>>, us: u64) {
    let mut g = h.lock().unwrap_or_else(|p| p.into_inner());
    let _ = g.get_or_insert_with(hist).record(us.max(1));
}

pub(super) fn quantile_ms(h: &Mutex<Option<Histogram<u64>>>, q: f64) -> (f64, u64) {
    let g = h.lock().unwrap_or_else(|p| p.into_inner());
    g.as_ref().map_or((0.0, 0), |h| {
        (h.value_at_quantile(q) as f64 / 1000.0, h.len())
    })
}

pub(super) fn points(h: &Mutex<Option<Histogram<u64>>>) -> Vec<(f64, f64)> {
    points_of(h.lock().unwrap_or_else(|p| p.into_inner()).as_ref())
}

/// One watcher: subscribe, then read forever; a sampled one times every
/// `bid_accepted`, every one reports its first event after `armed`.
pub(super) async fn watcher(
    node: std::net::SocketAddr,
    i: usize,
    sale: u64,
    since: Option<u64>,
    sampled: bool,
    shared: Arc<Shared>,
    fanout: mpsc::UnboundedSender<Instant>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut ws = local::connect(node, i).await?;
    ws.send(Message::Text(json!({"type": "hello"}).to_string().into()))
        .await?;
    let mut sub = json!({"type": "subscribe", "sale": sale});
    if let Some(s) = since {
        sub["since"] = json!(s);
    }
    ws.send(Message::Text(sub.to_string().into())).await?;
    while let Some(m) = ws.next().await {
        if let Message::Text(t) = m? {
            if t.contains("\"subscribed\"") {
                break;
            }
        }
    }
    Ok(tokio::spawn(async move {
        let mut reported = false;
        while let Some(Ok(m)) = ws.next().await {
            let Message::Text(t) = m else { continue };
            let now = Instant::now();
            if !t.contains("bid_accepted") {
                continue;
            }
            if !reported && shared.armed.load(Ordering::Relaxed) {
                reported = true;
                let _ = fanout.send(now);
            }
            if sampled && !shared.armed.load(Ordering::Relaxed) {
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                let recs = match v["type"].as_str() {
                    Some("event") => vec![v],
                    _ => v["events"].as_array().cloned().unwrap_or_default(),
                };
                for r in recs {
                    let e = &r["event"];
                    if e["type"] != "bid_accepted" {
                        continue;
                    }
                    let key = (
                        e["lot"].as_u64().unwrap_or(0),
                        e["paddle"].as_u64().unwrap_or(0),
                    );
                    let sent = shared
                        .sent
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&key)
                        .copied();
                    if let Some(t0) = sent {
                        record(
                            &shared.watcher_us,
                            now.duration_since(t0).as_micros() as u64,
                        );
                    }
                }
            }
        }
    }))
}

/// How a bidder paces its bids.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pace {
    /// Open loop: a bid every so often, whatever came back.
    Every(Duration),
    /// Closed loop: the next bid when the last one's result arrived (or
    /// after [`CLOSED_LOOP_PATIENCE`] without it).
    Closed,
}

/// How long a closed-loop bidder waits for a result before bidding again.
const CLOSED_LOOP_PATIENCE: Duration = Duration::from_secs(10);

/// One bidder: bids paced by `pace`, raising its pair partner by a cent.
#[allow(clippy::too_many_arguments)]
pub(super) async fn bidder(
    node: std::net::SocketAddr,
    i: usize,
    token: String,
    lot: u64,
    parity: u64,
    pace: Pace,
    until: Instant,
    shared: Arc<Shared>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let ws = local::connect(node, 100_000 + i).await?;
    let (mut tx, mut rx) = ws.split();
    tx.send(Message::Text(
        json!({"type": "hello", "token": token}).to_string().into(),
    ))
    .await?;
    let mut paddle = 0;
    while let Some(m) = rx.next().await {
        if let Message::Text(t) = m? {
            let v: Value = serde_json::from_str(&t)?;
            if v["type"] == "welcome" {
                paddle = v["bidder"]["paddle"].as_u64().unwrap_or(0);
                break;
            }
        }
    }
    let pending: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let answered = Arc::new(tokio::sync::Notify::new());
    let reader = {
        let (pending, shared, answered) = (pending.clone(), shared.clone(), answered.clone());
        tokio::spawn(async move {
            while let Some(Ok(m)) = rx.next().await {
                let Message::Text(t) = m else { continue };
                if !t.contains("\"bid_result\"") {
                    continue;
                }
                let Ok(r) = serde_json::from_str::<ResultIn<'_>>(&t) else {
                    continue;
                };
                if let Some(t0) = pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(r.bid_id.as_ref())
                {
                    record(&shared.result_us, t0.elapsed().as_micros() as u64);
                }
                let counter = match r.outcome.as_deref() {
                    Some("accepted") => &shared.accepted,
                    Some("rejected") if r.index.is_some() => &shared.rejected,
                    _ => &shared.unknown,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                answered.notify_one();
            }
        })
    };
    let mut tick = match pace {
        Pace::Every(every) => {
            let phase = every.mul_f64((i as f64 * 0.618_034) % 1.0);
            tokio::time::sleep(phase).await;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            Some(tick)
        }
        Pace::Closed => None,
    };
    let mut n = 0u64;
    while Instant::now() < until {
        match tick.as_mut() {
            Some(tick) => {
                tick.tick().await;
            }
            // The first bid goes at once; each later one after the last
            // one's result (a permit stored by `notify_one` if it came first).
            None if n > 0 => {
                let _ = tokio::time::timeout(CLOSED_LOOP_PATIENCE, answered.notified()).await;
            }
            None => {}
        }
        n += 1;
        let max = 200 + 2 * n + parity;
        let id = format!("b{i}-{n}");
        let now = Instant::now();
        pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), now);
        shared
            .sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((lot, paddle), now);
        // Written by hand: the client's cost is part of what is measured.
        let msg = format!(
            r#"{{"type":"bid","bid_id":"{id}","lot":{lot},"max":"{}.{:02}"}}"#,
            max / 100,
            max % 100
        );
        tx.send(Message::Text(msg.into())).await?;
        shared.sent_count.fetch_add(1, Ordering::Relaxed);
    }
    // Results still on their way are counted by the reader until the run
    // has waited for them (see `run`).
    Ok(reader)
}
