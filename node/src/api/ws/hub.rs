//! The fan-out of committed events to this node's WebSocket connections.
//!
//! One task ([`run`]) reads the node's event channel (one message per
//! applied batch, sent once the batch is committed (its entries on a
//! majority's disks) and applied) and hands each sale's
//! events to the connections following it ("rooms"). Each group of events
//! is serialized once and the same bytes are shared by every watcher; only
//! a paddle that was outbid gets a frame of its own (`outbid` goes to that
//! paddle only).
//!
//! A hot room (watchers × events/s over [`HOT_DELIVERIES_PER_SEC`]) is
//! coalesced: its events are held for one [`COALESCE_TICK`] and sent as one
//! `events` frame, so a watcher costs one write per tick instead of one per
//! event. Nothing is dropped or reordered.
//!
//! # Gap-free subscribe
//!
//! A subscriber is registered as *pending* first: frames for it are held
//! in the registry. The session then reads a view at an index `A` at least
//! the last batch the hub handled when it registered, replays or snapshots
//! from that view, and [`Hub::activate`]s: held frames at or below `A` are
//! dropped, later ones sent, all under the registry lock, so the client
//! sees every event exactly once and in order.
//!
//! # When the hub cannot follow
//!
//! If the hub lags the event channel, or the node installs a snapshot
//! (the machine sends an empty batch), events were not seen: every room
//! gets a fresh `snapshot` (reason `resync`) at the current index.
//!
//! A connection whose queue is full is told `lagged` and closed; it resumes
//! elsewhere or here with `since` and loses nothing.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use paddle_consensus::KvView;
use paddle_proto::auction::{AuctionEvent, EventRecord, Paddle, SaleId};
use tokio::sync::{mpsc, Notify};

use super::messages::events_text;
use crate::machine::EventBatch;

/// Per-connection queue length; a connection this far behind is closed.
pub const QUEUE: usize = 1024;
/// Above this many deliveries per second a room is coalesced.
pub const HOT_DELIVERIES_PER_SEC: u64 = 200_000;
/// How long a hot room's events wait to be sent together.
pub const COALESCE_TICK: Duration = Duration::from_millis(10);
/// Frames held for a pending subscriber before it is given up as lagged.
const MAX_PENDING: usize = 4096;

/// A connection's id on this node.
pub type ConnId = u64;

/// Pre-serialized events of one sale, shared by every connection it goes to.
#[derive(Debug)]
pub struct Frame {
    pub sale: SaleId,
    /// Smallest and largest log index in the frame.
    pub first_index: u64,
    pub last_index: u64,
    /// The events, to cut the frame at a resume boundary (rare).
    pub records: Arc<[EventRecord]>,
    pub text: Utf8Bytes,
}

impl Frame {
    fn new(sale: SaleId, records: Vec<EventRecord>) -> Arc<Frame> {
        let text = events_text(sale, &records).into();
        Arc::new(Frame {
            sale,
            first_index: records.first().map_or(0, |r| r.index),
            last_index: records.last().map_or(0, |r| r.index),
            records: records.into(),
            text,
        })
    }

    /// A frame of prepared text (a snapshot) standing at one index.
    pub fn at(sale: SaleId, index: u64, text: String) -> Arc<Frame> {
        Arc::new(Frame {
            sale,
            first_index: index,
            last_index: index,
            records: Arc::from(Vec::new()),
            text: text.into(),
        })
    }

    /// The part of this frame after `index`, if any.
    fn after(self: &Arc<Frame>, index: u64) -> Option<Arc<Frame>> {
        if self.last_index <= index {
            None
        } else if self.first_index > index || self.records.is_empty() {
            Some(self.clone())
        } else {
            let rest: Vec<EventRecord> = self
                .records
                .iter()
                .filter(|r| r.index > index)
                .cloned()
                .collect();
            Some(Frame::new(self.sale, rest))
        }
    }
}

/// What a connection's writer sends, in order.
#[derive(Debug, Clone)]
pub enum Out {
    /// Shared with other connections.
    Shared(Arc<Frame>),
    /// For this connection only.
    Own(Utf8Bytes),
    /// Close the connection with this code and reason (after what is queued).
    Close(u16, &'static str),
}

/// Why the hub wants a connection closed.
pub const KILL_NONE: u8 = 0;
pub const KILL_LAGGED: u8 = 1;

/// The hub's handle on one connection.
pub struct ConnHandle {
    tx: mpsc::Sender<Out>,
    /// Set with a `KILL_*` reason, then notified: the session closes.
    pub kill: Arc<(AtomicU8, Notify)>,
}

/// Who follows a sale, and so which of its events they may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone: the public events.
    Public,
    /// A bidder of the sale: the public events and their own `outbid`.
    Bidder(Paddle),
    /// A clerk or the operator: the public events and the staff-only ones
    /// (a phone bid's line).
    Staff,
}

struct Sub {
    audience: Audience,
    /// Frames held until the subscriber's catch-up is done.
    pending: Option<Vec<Arc<Frame>>>,
}

#[derive(Default)]
struct Room {
    subs: HashMap<ConnId, Sub>,
    /// Hot rooms: events waiting for the tick.
    held: Vec<EventRecord>,
    hot: bool,
    events_this_second: u64,
}

#[derive(Default)]
struct Registry {
    /// Applied index of the last batch handled.
    last_index: u64,
    rooms: HashMap<SaleId, Room>,
    conns: HashMap<ConnId, ConnHandle>,
}

/// The registry of rooms and connections. Shared by the sessions and the
/// fan-out task.
#[derive(Default)]
pub struct Hub {
    inner: Mutex<Registry>,
    next_id: AtomicU64,
}

impl Hub {
    /// Register a connection; its frames go to `tx`.
    pub fn connect(&self, tx: mpsc::Sender<Out>) -> (ConnId, Arc<(AtomicU8, Notify)>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let kill = Arc::new((AtomicU8::new(KILL_NONE), Notify::new()));
        self.lock().conns.insert(
            id,
            ConnHandle {
                tx,
                kill: kill.clone(),
            },
        );
        (id, kill)
    }

    /// Forget a connection and its subscriptions.
    pub fn disconnect(&self, conn: ConnId, sales: impl IntoIterator<Item = SaleId>) {
        let mut r = self.lock();
        r.conns.remove(&conn);
        for sale in sales {
            remove_sub(&mut r, sale, conn);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start following `sale` (pending until [`Hub::activate`]). Returns
    /// the applied index of the last batch handled: the catch-up view must
    /// be at least there.
    pub fn subscribe(&self, conn: ConnId, sale: SaleId, audience: Audience) -> u64 {
        let mut r = self.lock();
        let last = r.last_index;
        r.rooms.entry(sale).or_default().subs.insert(
            conn,
            Sub {
                audience,
                pending: Some(Vec::new()),
            },
        );
        last
    }

    /// The catch-up of `sale` covered everything up to `upto`: send
    /// `first` (the `subscribed` message), then the held frames after
    /// `upto`, and go live. False when the subscription is gone.
    pub fn activate(&self, conn: ConnId, sale: SaleId, upto: u64, first: Utf8Bytes) -> bool {
        let mut r = self.lock();
        let Some(tx) = r.conns.get(&conn).map(|c| c.tx.clone()) else {
            return false;
        };
        let Some(sub) = r
            .rooms
            .get_mut(&sale)
            .and_then(|room| room.subs.get_mut(&conn))
        else {
            return false;
        };
        let held = sub.pending.take().unwrap_or_default();
        let mut ok = tx.try_send(Out::Own(first)).is_ok();
        for f in held {
            if let Some(f) = f.after(upto) {
                ok &= tx.try_send(Out::Shared(f)).is_ok();
            }
        }
        if !ok {
            kill(&r, conn, KILL_LAGGED);
        }
        ok
    }

    /// Stop following `sale`.
    pub fn unsubscribe(&self, conn: ConnId, sale: SaleId) {
        remove_sub(&mut self.lock(), sale, conn);
    }

    /// Connections following each sale on this node.
    pub fn local_counts(&self) -> Vec<(SaleId, u64)> {
        self.lock()
            .rooms
            .iter()
            .map(|(s, r)| (*s, r.subs.len() as u64))
            .collect()
    }

    /// Send a connection-specific text to every connection (node status).
    pub fn broadcast_own(&self, text: &str) {
        let r = self.lock();
        let text: Utf8Bytes = text.into();
        for c in r.conns.values() {
            let _ = c.tx.try_send(Out::Own(text.clone()));
        }
    }

    /// Send one shared text to every connection following `sale`.
    pub fn to_room(&self, sale: SaleId, text: String) {
        let r = self.lock();
        let Some(room) = r.rooms.get(&sale) else {
            return;
        };
        let text: Utf8Bytes = text.into();
        for (id, sub) in &room.subs {
            if sub.pending.is_none() {
                if let Some(c) = r.conns.get(id) {
                    let _ = c.tx.try_send(Out::Own(text.clone()));
                }
            }
        }
    }

    /// Hand one committed batch to the rooms.
    pub fn publish(&self, batch: &EventBatch) {
        let mut r = self.lock();
        if batch.applied_index <= r.last_index {
            // Already covered by a resync snapshot.
            return;
        }
        r.last_index = batch.applied_index;
        let mut by_sale: HashMap<SaleId, Vec<EventRecord>> = HashMap::new();
        for rec in &batch.events {
            if r.rooms.contains_key(&rec.event.sale()) {
                by_sale
                    .entry(rec.event.sale())
                    .or_default()
                    .push(rec.clone());
            }
        }
        for (sale, records) in by_sale {
            let Some(room) = r.rooms.get_mut(&sale) else {
                continue;
            };
            room.events_this_second += records.len() as u64;
            if room.hot {
                room.held.extend(records);
            } else {
                fan_out(&mut r, sale, records);
            }
        }
    }

    /// Send what hot rooms held during the last tick.
    pub fn flush_hot(&self) {
        let mut r = self.lock();
        let ready: Vec<SaleId> = r
            .rooms
            .iter()
            .filter(|(_, room)| !room.held.is_empty())
            .map(|(s, _)| *s)
            .collect();
        for sale in ready {
            let held = r
                .rooms
                .get_mut(&sale)
                .map(|room| std::mem::take(&mut room.held))
                .unwrap_or_default();
            fan_out(&mut r, sale, held);
        }
    }

    /// Once a second: decide which rooms are hot from the last second.
    pub fn rate_tick(&self) {
        let mut r = self.lock();
        for room in r.rooms.values_mut() {
            let deliveries = room.events_this_second * room.subs.len() as u64;
            room.hot = deliveries > HOT_DELIVERIES_PER_SEC;
            room.events_this_second = 0;
        }
    }

    /// The hub missed batches (or the state was replaced): every room
    /// starts over from `view` with a snapshot made by `snapshot`.
    pub fn resync(&self, view: &KvView, snapshot: impl Fn(&KvView, SaleId) -> Option<String>) {
        let mut r = self.lock();
        let index = view.applied_index();
        r.last_index = index;
        let sales: Vec<SaleId> = r.rooms.keys().copied().collect();
        for sale in sales {
            let Some(text) = snapshot(view, sale) else {
                continue;
            };
            let frame = Frame::at(sale, index, text);
            if let Some(room) = r.rooms.get_mut(&sale) {
                room.held.clear();
            }
            deliver(&mut r, sale, |_| Some(frame.clone()));
        }
    }
}

fn remove_sub(r: &mut Registry, sale: SaleId, conn: ConnId) {
    if let Some(room) = r.rooms.get_mut(&sale) {
        room.subs.remove(&conn);
        if room.subs.is_empty() {
            r.rooms.remove(&sale);
        }
    }
}

fn kill(r: &Registry, conn: ConnId, why: u8) {
    if let Some(c) = r.conns.get(&conn) {
        c.kill.0.store(why, Ordering::Relaxed);
        c.kill.1.notify_one();
    }
}

/// Serialize a group of a sale's events once (plus one frame per outbid
/// paddle that follows the sale, and one for staff when the group has
/// staff-only events) and deliver it.
fn fan_out(r: &mut Registry, sale: SaleId, records: Vec<EventRecord>) {
    if records.is_empty() {
        return;
    }
    let outbid: HashSet<Paddle> = records
        .iter()
        .filter_map(|rec| match rec.event {
            AuctionEvent::Outbid { paddle, .. } => Some(paddle),
            _ => None,
        })
        .collect();
    let mut own: HashMap<Paddle, Arc<Frame>> = HashMap::new();
    if !outbid.is_empty() {
        let watching: HashSet<Paddle> = r
            .rooms
            .get(&sale)
            .map(|room| {
                room.subs
                    .values()
                    .filter_map(|s| match s.audience {
                        Audience::Bidder(p) => Some(p),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for p in outbid.intersection(&watching) {
            let mine: Vec<EventRecord> = records
                .iter()
                .filter(|rec| is_for(rec, Audience::Bidder(*p)))
                .cloned()
                .collect();
            own.insert(*p, Frame::new(sale, mine));
        }
    }
    let staff = records
        .iter()
        .any(|rec| !is_for(rec, Audience::Public) && is_for(rec, Audience::Staff))
        .then(|| {
            let all = records.iter().filter(|rec| is_for(rec, Audience::Staff));
            Frame::new(sale, all.cloned().collect())
        });
    let public: Vec<EventRecord> = records
        .into_iter()
        .filter(|rec| is_for(rec, Audience::Public))
        .collect();
    let common = (!public.is_empty()).then(|| Frame::new(sale, public));
    deliver(r, sale, |audience| match audience {
        Audience::Bidder(p) => own.get(&p).cloned().or_else(|| common.clone()),
        Audience::Staff => staff.clone().or_else(|| common.clone()),
        Audience::Public => common.clone(),
    });
}

/// May `who` see this event?
pub fn is_for(rec: &EventRecord, who: Audience) -> bool {
    match rec.event {
        AuctionEvent::Outbid { paddle: p, .. } => who == Audience::Bidder(p),
        AuctionEvent::PhoneLine { .. } => who == Audience::Staff,
        _ => true,
    }
}

/// Give each subscriber of `sale` its frame: queue it, or hold it while the
/// subscriber catches up. Full queues get their connection closed.
fn deliver(r: &mut Registry, sale: SaleId, frame_for: impl Fn(Audience) -> Option<Arc<Frame>>) {
    let Registry { rooms, conns, .. } = r;
    let Some(room) = rooms.get_mut(&sale) else {
        return;
    };
    let mut lagged = Vec::new();
    for (id, sub) in room.subs.iter_mut() {
        let Some(frame) = frame_for(sub.audience) else {
            continue;
        };
        match &mut sub.pending {
            Some(held) if held.len() < MAX_PENDING => held.push(frame),
            Some(_) => lagged.push(*id),
            None => {
                if let Some(c) = conns.get(id) {
                    if c.tx.try_send(Out::Shared(frame)).is_err() {
                        lagged.push(*id);
                    }
                }
            }
        }
    }
    for id in lagged {
        if let Some(c) = conns.get(&id) {
            c.kill.0.store(KILL_LAGGED, Ordering::Relaxed);
            c.kill.1.notify_one();
        }
    }
}

/// The fan-out task: committed batches in, frames out, hot rooms flushed
/// on their tick. Ends when the node's event channel closes.
pub async fn run(
    hub: Arc<Hub>,
    mut events: tokio::sync::broadcast::Receiver<Arc<EventBatch>>,
    view: impl Fn() -> KvView,
    snapshot: impl Fn(&KvView, SaleId) -> Option<String>,
) {
    use tokio::sync::broadcast::error::RecvError;
    let mut tick = tokio::time::interval(COALESCE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut second = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            batch = events.recv() => match batch {
                Ok(b) if b.events.is_empty() => hub.resync(&view(), &snapshot),
                Ok(b) => hub.publish(&b),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the WebSocket fan-out fell behind; sending every room a fresh snapshot");
                    hub.resync(&view(), &snapshot);
                }
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => hub.flush_hot(),
            _ = second.tick() => hub.rate_tick(),
        }
    }
}
