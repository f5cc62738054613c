//! The simulation's network: a [`PeerWire`] that delivers every peer
//! request as bytes (the real codec) to the target member's handler, after
//! a delay, perhaps twice, perhaps never, unless the link is cut or the
//! target is down.
//!
//! Per-message decisions (drop, delay, duplicate) come from a hash of the
//! seed, the link and the link's own message count, not from one shared
//! generator: the same message on the same link gets the same fate whatever
//! other links did meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::future::pending;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Instrument;

use futures::future::BoxFuture;
use paddle_consensus::network::{PeerRequest, PeerResponse, PeerWire, TransportError};
use paddle_consensus::types::NodeId;
use paddle_consensus::Consensus;
use paddle_proto::codec;

/// How unreliable the links are for one seed (probabilities in per mille).
#[derive(Debug, Clone, Copy)]
pub struct Weather {
    /// A request or an answer lost (the caller times out).
    pub drop_permille: u32,
    /// A request delivered twice (the second copy later).
    pub duplicate_permille: u32,
    /// A message held back up to `slow_ms` (the rest take up to 2 ms):
    /// messages on one link overtake each other.
    pub slow_permille: u32,
    pub slow_ms: u64,
}

impl Weather {
    /// Nothing lost, duplicated or held back.
    pub const FAIR: Weather = Weather {
        drop_permille: 0,
        duplicate_permille: 0,
        slow_permille: 0,
        slow_ms: 0,
    };
}

/// What the network did, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NetCounts {
    pub delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub delayed: u64,
    /// Messages lost to a cut link or a node that was down.
    pub cut: u64,
}

impl std::ops::AddAssign for NetCounts {
    fn add_assign(&mut self, o: Self) {
        self.delivered += o.delivered;
        self.dropped += o.dropped;
        self.duplicated += o.duplicated;
        self.delayed += o.delayed;
        self.cut += o.cut;
    }
}

struct State {
    seed: u64,
    weather: Weather,
    /// Members that are up, by id.
    up: BTreeMap<NodeId, Consensus>,
    /// Directed links that carry nothing.
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Messages sent so far per directed link.
    sent: BTreeMap<(NodeId, NodeId), u64>,
    counts: NetCounts,
}

/// The network all members of one simulated cluster share.
#[derive(Clone)]
pub struct SimNet {
    state: Arc<Mutex<State>>,
    frame_cap: usize,
}

/// One message's fate.
struct Fate {
    request_lost: bool,
    answer_lost: bool,
    request_delay: Duration,
    answer_delay: Duration,
    duplicate_after: Option<Duration>,
}

/// SplitMix64: a good 64-bit mix of the seed, the link and the count.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SimNet {
    pub fn new(seed: u64, weather: Weather, frame_cap: usize) -> Self {
        SimNet {
            state: Arc::new(Mutex::new(State {
                seed,
                weather,
                up: BTreeMap::new(),
                cut: BTreeSet::new(),
                sent: BTreeMap::new(),
                counts: NetCounts::default(),
            })),
            frame_cap,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("sim net lock")
    }

    /// `node` is up and answers at `c`.
    pub fn attach(&self, node: NodeId, c: Consensus) {
        self.lock().up.insert(node, c);
    }

    /// `node` is down: everything sent to or from it from now on is lost.
    pub fn detach(&self, node: NodeId) {
        self.lock().up.remove(&node);
    }

    /// Cut (or mend) the directed link `from -> to`.
    pub fn set_cut(&self, from: NodeId, to: NodeId, cut: bool) {
        let mut s = self.lock();
        if cut {
            s.cut.insert((from, to));
        } else {
            s.cut.remove(&(from, to));
        }
    }

    /// Mend every cut link.
    pub fn heal_links(&self) {
        self.lock().cut.clear();
    }

    /// Mend every link and make the weather fair.
    pub fn heal(&self) {
        self.heal_links();
        self.set_weather(Weather::FAIR);
    }

    pub fn set_weather(&self, weather: Weather) {
        self.lock().weather = weather;
    }

    pub fn counts(&self) -> NetCounts {
        self.lock().counts
    }

    fn fate(&self, from: NodeId, to: NodeId) -> Fate {
        let mut s = self.lock();
        let n = s.sent.entry((from, to)).or_insert(0);
        *n += 1;
        let n = *n;
        let base = mix(s.seed ^ mix(from.wrapping_mul(1_000_003) ^ to) ^ mix(n));
        let mut draw = {
            let mut k = 0u64;
            move || {
                k += 1;
                mix(base ^ k)
            }
        };
        let w = s.weather;
        let permille = |x: u64, p: u32| (x % 1000) < p as u64;
        let delay = |draw: &mut dyn FnMut() -> u64, counts: &mut NetCounts| {
            if permille(draw(), w.slow_permille) && w.slow_ms > 0 {
                counts.delayed += 1;
                Duration::from_micros(draw() % (w.slow_ms * 1000))
            } else {
                Duration::from_micros(50 + draw() % 2_000)
            }
        };
        let request_lost = permille(draw(), w.drop_permille);
        let answer_lost = permille(draw(), w.drop_permille);
        let duplicate = permille(draw(), w.duplicate_permille);
        let request_delay = delay(&mut draw, &mut s.counts);
        let answer_delay = delay(&mut draw, &mut s.counts);
        let duplicate_after = duplicate.then(|| Duration::from_micros(draw() % 20_000));
        if request_lost || answer_lost {
            s.counts.dropped += 1;
        }
        if duplicate_after.is_some() {
            s.counts.duplicated += 1;
        }
        Fate {
            request_lost,
            answer_lost,
            request_delay,
            answer_delay,
            duplicate_after,
        }
    }

    /// The member at `to` if it is up and `from -> to` carries messages;
    /// otherwise the message is counted as lost.
    fn reachable(&self, from: NodeId, to: NodeId) -> Option<Consensus> {
        let mut s = self.lock();
        let ok = !s.cut.contains(&(from, to)) && s.up.contains_key(&from);
        match s.up.get(&to).filter(|_| ok).cloned() {
            Some(c) => Some(c),
            None => {
                s.counts.cut += 1;
                None
            }
        }
    }

    fn delivered(&self) {
        self.lock().counts.delivered += 1;
    }
}

impl PeerWire for SimNet {
    fn call(
        &self,
        from: NodeId,
        to: NodeId,
        req: &PeerRequest,
    ) -> BoxFuture<'static, Result<PeerResponse, TransportError>> {
        let addr = format!("sim:{to}");
        let frame = match codec::encode_frame(req, self.frame_cap) {
            Ok(f) => f,
            Err(source) => {
                return Box::pin(
                    async move { Err(TransportError::RequestTooLarge { addr, source }) },
                )
            }
        };
        let fate = self.fate(from, to);
        let net = self.clone();
        Box::pin(async move {
            let cap = net.frame_cap;
            let decode = |bytes: &[u8]| -> Result<PeerRequest, TransportError> {
                codec::decode_frame(bytes, cap).map_err(|source| TransportError::Frame {
                    addr: addr.clone(),
                    source,
                })
            };
            if let Some(after) = fate.duplicate_after {
                let (net, frame) = (net.clone(), frame.clone());
                let copy = decode(&frame)?;
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    if let Some(target) = net.reachable(from, to) {
                        net.delivered();
                        let _ = target
                            .answer_peer(from, copy)
                            .instrument(member_span(to))
                            .await;
                    }
                });
            }
            tokio::time::sleep(fate.request_delay).await;
            if fate.request_lost {
                return pending().await;
            }
            let Some(target) = net.reachable(from, to) else {
                return pending().await;
            };
            net.delivered();
            let answer = target
                .answer_peer(from, decode(&frame)?)
                .instrument(member_span(to))
                .await;
            drop(target);
            let bytes =
                codec::encode_frame(&answer, cap).map_err(|source| TransportError::Frame {
                    addr: addr.clone(),
                    source,
                })?;
            tokio::time::sleep(fate.answer_delay).await;
            if fate.answer_lost || net.reachable(to, from).is_none() {
                return pending().await;
            }
            codec::decode_frame(&bytes, cap).map_err(|source| TransportError::Frame {
                addr: addr.clone(),
                source,
            })
        })
    }
}

/// The span a member's work is logged in (a request is answered in the
/// target's, not the sender's).
pub fn member_span(id: NodeId) -> tracing::Span {
    tracing::info_span!(parent: None, "member", id)
}
