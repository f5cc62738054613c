//! What a peer without a client certificate may cost a member.
//!
//! The peer port must accept such peers: a node that wants to join has no
//! certificate yet. Anyone who can send UDP to the port can be one, so an
//! anonymous connection gets only what the join exchange needs: a small
//! frame cap, a few streams at a time (quinn's stream credit), a small
//! connection receive window, and there are at most a few such connections
//! per node, opened at a bounded rate. Members are raised to the full
//! limits as soon as their certificate is checked.
//!
//! Refusals of strangers are logged through a [`LogThrottle`], so garbage
//! sent to the port cannot fill the log.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits put on connections without a client certificate; from
/// [`crate::RaftConfig`] (`anonymous_*` keys), so an operator can size
/// them for their join traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnonymousLimits {
    /// Largest request frame body an anonymous peer may send (a join
    /// request is about 400 bytes).
    pub frame_cap: usize,
    /// Requests (bi-streams) one anonymous connection may have open at once.
    pub streams: u32,
    /// Anonymous connections a node keeps open at once.
    pub connections: u32,
    /// New anonymous connections admitted per second (also the burst).
    pub connects_per_second: u32,
}

impl AnonymousLimits {
    /// The connection-level receive window a peer gets before its
    /// certificate is checked: room for one full request per stream, so a
    /// stranger can park at most this many bytes in quinn's buffers.
    pub fn receive_window(&self) -> u64 {
        let per_stream = (self.frame_cap + paddle_proto::codec::FRAME_HEADER) as u64;
        (per_stream * u64::from(self.streams.max(1))).max(16 * 1024)
    }
}

/// Admits anonymous connections within [`AnonymousLimits`].
pub(crate) struct Gate {
    limits: AnonymousLimits,
    slots: Arc<Semaphore>,
    rate: DefaultDirectRateLimiter,
}

impl Gate {
    pub(crate) fn new(limits: AnonymousLimits) -> Self {
        let per_second = NonZeroU32::new(limits.connects_per_second.max(1)).expect("not zero");
        Gate {
            limits,
            slots: Arc::new(Semaphore::new(limits.connections as usize)),
            rate: RateLimiter::direct(Quota::per_second(per_second)),
        }
    }

    pub(crate) fn limits(&self) -> &AnonymousLimits {
        &self.limits
    }

    /// A slot for one more anonymous connection, held while it lives, or
    /// why not. Cheap: no stream of the connection has been read yet.
    pub(crate) fn admit(&self) -> Result<OwnedSemaphorePermit, &'static str> {
        let slot = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| "too many connections without a certificate")?;
        self.rate
            .check()
            .map_err(|_| "too many new connections without a certificate")?;
        Ok(slot)
    }
}

/// Lets one log line through per period and counts the ones it held back,
/// so the next line can say how many were suppressed.
pub struct LogThrottle {
    rate: DefaultDirectRateLimiter,
    suppressed: AtomicU64,
}

impl LogThrottle {
    /// At most one line per `every`.
    pub fn new(every: Duration) -> Self {
        let quota = Quota::with_period(every.max(Duration::from_millis(1)))
            .expect("a non-zero period")
            .allow_burst(NonZeroU32::MIN);
        LogThrottle {
            rate: RateLimiter::direct(quota),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(lines suppressed since the last one)` when a line may be
    /// written now; `None` (and one more suppressed) otherwise.
    pub fn admit(&self) -> Option<u64> {
        match self.rate.check() {
            Ok(()) => Some(self.suppressed.swap(0, Ordering::Relaxed)),
            Err(_) => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_lets_one_line_through_and_counts_the_rest() {
        let t = LogThrottle::new(Duration::from_secs(3600));
        assert_eq!(t.admit(), Some(0));
        for _ in 0..1000 {
            assert_eq!(t.admit(), None);
        }
    }

    #[test]
    fn the_gate_holds_the_connection_count() {
        let gate = Gate::new(AnonymousLimits {
            frame_cap: 1024,
            streams: 2,
            connections: 2,
            connects_per_second: 100,
        });
        let a = gate.admit().unwrap();
        let _b = gate.admit().unwrap();
        assert!(gate.admit().is_err());
        drop(a);
        assert!(gate.admit().is_ok());
    }
}
