//! Caps on what the public API accepts: bid rates (governor), WebSocket
//! connections, allowed origins (CORS and WebSocket upgrades).
//!
//! Every number comes from `[limits]` in the node's configuration.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use axum::http::{header, HeaderMap, HeaderValue, Method};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::LimitsConfig;

/// Events a `since` resume replays before it sends a snapshot instead.
pub const MAX_REPLAY_EVENTS: usize = 10_000;

/// The API's limits and the state that enforces them.
pub struct Limits {
    pub cfg: LimitsConfig,
    /// Bids per second per bidder `(sale, paddle)` on this node: over all
    /// the bidder's connections to it, REST included. Each node keeps its
    /// own count (a bidder spread over n nodes gets n allowances): a shared
    /// count would cost a round trip per bid, and the engine's rules, not
    /// this rate, are what keep bidding fair.
    bidder_bids: DefaultKeyedRateLimiter<(u64, u32)>,
    /// Self-registrations per minute per client address.
    address_registrations: DefaultKeyedRateLimiter<IpAddr>,
    /// Self-registrations per minute per sale.
    sale_registrations: DefaultKeyedRateLimiter<u64>,
    connections: Arc<AtomicUsize>,
    /// This node's advertised HTTP address (`host:port`), set once it is
    /// bound: its own pages' origin.
    own_http: OnceLock<String>,
    /// `https` when this node serves TLS: then only members' https pages
    /// count as the cluster's own (an http page could be anyone's on the
    /// venue Wi-Fi).
    member_scheme: &'static str,
}

/// Holds one of the node's WebSocket connection slots until dropped.
pub struct ConnectionSlot(Arc<AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn per_second(n: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(n.max(1)).expect("at least 1"))
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least 1"))
}

impl Limits {
    /// Limits from the configuration.
    pub fn new(cfg: LimitsConfig) -> Self {
        Limits {
            bidder_bids: RateLimiter::keyed(per_second(cfg.bids_per_second_per_bidder)),
            address_registrations: RateLimiter::keyed(per_minute(
                cfg.registrations_per_minute_per_address,
            )),
            sale_registrations: RateLimiter::keyed(per_minute(
                cfg.registrations_per_minute_per_sale,
            )),
            connections: Arc::new(AtomicUsize::new(0)),
            own_http: OnceLock::new(),
            member_scheme: "http",
            cfg,
        }
    }

    /// The same limits for a node serving HTTPS (`https`) or plain HTTP:
    /// members' pages are trusted only under that scheme.
    pub fn with_https(mut self, https: bool) -> Self {
        self.member_scheme = if https { "https" } else { "http" };
        self
    }

    /// `https` when this node serves TLS, else `http`: the scheme of its
    /// own pages (sign-in links built without a browser's Origin).
    pub fn scheme(&self) -> &'static str {
        self.member_scheme
    }

    /// Take a bid from the bidder's allowance: false when over the rate.
    pub fn bidder_bid(&self, sale: u64, paddle: u32) -> bool {
        self.bidder_bids.check_key(&(sale, paddle)).is_ok()
    }

    /// Forget bidders who have not bid lately (keeps the map small).
    pub fn forget_idle_bidders(&self) {
        self.bidder_bids.retain_recent();
        self.address_registrations.retain_recent();
        self.sale_registrations.retain_recent();
    }

    /// Take a self-registration from the address's and the sale's
    /// allowances: false when either is spent (nothing is taken from the
    /// sale's when the address is over).
    pub fn self_registration(&self, from: Option<IpAddr>, sale: u64) -> bool {
        if let Some(ip) = from {
            if self.address_registrations.check_key(&ip).is_err() {
                return false;
            }
        }
        self.sale_registrations.check_key(&sale).is_ok()
    }

    /// A new connection's own bid allowance.
    pub fn connection_bids(&self) -> DefaultDirectRateLimiter {
        RateLimiter::direct(per_second(self.cfg.bids_per_second_per_connection))
    }

    /// Take a connection slot, or `None` when the node is full.
    pub fn connection_slot(&self) -> Option<ConnectionSlot> {
        let max = self.cfg.max_connections;
        let taken = self
            .connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        taken.then(|| ConnectionSlot(self.connections.clone()))
    }

    /// Open WebSocket connections now.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Record this node's advertised HTTP address (once, at start): pages
    /// it serves have that origin.
    pub fn set_own_http(&self, addr: String) {
        let _ = self.own_http.set(addr);
    }

    /// May a page from this request's `Origin` open a WebSocket? Requests
    /// without an `Origin` (not a browser: the CLI, tests) may; a browser
    /// page may when its origin is this node's advertised address, another
    /// member's (`members`: their advertised HTTP addresses, so a page fails
    /// over to another node of the venue), or in `allowed_origins`. Never
    /// by the request's own `Host`: a page of any site can reach a node
    /// through a name that points at it (DNS rebinding), and then Host and
    /// Origin agree.
    pub fn origin_allowed(&self, headers: &HeaderMap, members: &[String]) -> bool {
        match headers.get(header::ORIGIN) {
            None => true,
            Some(o) => o.to_str().is_ok_and(|o| self.origin_listed(o, members)),
        }
    }

    /// Is `origin` configured, or the origin of this node's or a member's
    /// advertised HTTP address under this node's scheme?
    pub fn origin_listed(&self, origin: &str, members: &[String]) -> bool {
        let ours = |host: &str| {
            self.own_http
                .get()
                .is_some_and(|me| me.eq_ignore_ascii_case(host))
                || members.iter().any(|m| m.eq_ignore_ascii_case(host))
        };
        // `localhost` names the loopback address on every machine (no
        // rebinding can point it elsewhere): a page opened as
        // `http://localhost:8080` on a node advertising 127.0.0.1:8080 is
        // that node's own page (the README's quick start does that).
        let loopback = |host: &str| match host.strip_prefix("localhost:") {
            Some(port) => ours(&format!("127.0.0.1:{port}")),
            None => false,
        };
        self.cfg.allowed_origins.iter().any(|o| o == origin)
            || origin
                .strip_prefix(self.member_scheme)
                .and_then(|rest| rest.strip_prefix("://"))
                .is_some_and(|h| ours(h) || loopback(h))
    }

    /// CORS for the REST API: the configured origins and the cluster
    /// members' own pages (`members` gives their HTTP addresses at the time
    /// of each request). Any other origin gets no CORS headers, so browsers
    /// keep it to its own node.
    pub fn cors(
        self: &Arc<Self>,
        members: impl Fn() -> Vec<String> + Send + Sync + 'static,
    ) -> CorsLayer {
        let limits = self.clone();
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
                origin
                    .to_str()
                    .is_ok_and(|o| limits.origin_listed(o, &members()))
            }))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::HeaderName::from_static(crate::api::headers::MIN_INDEX_HEADER),
            ])
            .expose_headers([
                crate::api::headers::APPLIED_INDEX_HEADER,
                crate::api::headers::STALE_HEADER,
            ])
            .allow_credentials(true)
    }
}

/// The advertised HTTP addresses of the cluster's members: their pages may
/// use this node's API (a page fails over to another node of the venue).
pub fn member_http_addrs(consensus: &paddle_consensus::Consensus) -> Vec<String> {
    consensus
        .facts()
        .nodes
        .into_values()
        .map(|a| a.http)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(origins: &[&str]) -> Limits {
        Limits::new(LimitsConfig {
            max_connections: 2,
            bids_per_second_per_bidder: 2,
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            ..LimitsConfig::default()
        })
    }

    #[test]
    fn connection_slots_are_capped_and_given_back() {
        let l = limits(&[]);
        let a = l.connection_slot().unwrap();
        let _b = l.connection_slot().unwrap();
        assert!(l.connection_slot().is_none());
        drop(a);
        assert!(l.connection_slot().is_some());
    }

    #[test]
    fn a_bidder_flood_hits_the_rate() {
        let l = limits(&[]);
        let granted = (0..10).filter(|_| l.bidder_bid(1, 7)).count();
        assert_eq!(granted, 2);
        assert!(l.bidder_bid(1, 8), "another bidder has their own allowance");
    }

    #[test]
    fn origins_own_members_or_listed_never_by_host() {
        let l = limits(&["https://venue.example"]);
        let mut h = HeaderMap::new();
        let members = vec!["10.0.0.6:8080".to_string()];
        assert!(l.origin_allowed(&h, &members), "no Origin: not a browser");
        h.insert(header::HOST, "10.0.0.5:8080".parse().unwrap());
        h.insert(header::ORIGIN, "http://10.0.0.5:8080".parse().unwrap());
        assert!(
            !l.origin_allowed(&h, &members),
            "Host is the client's word, not the node's address"
        );
        l.set_own_http("10.0.0.5:8080".into());
        assert!(l.origin_allowed(&h, &members), "this node's own page");
        h.insert(header::HOST, "evil.example".parse().unwrap());
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!l.origin_allowed(&h, &members), "DNS rebinding");
        h.insert(header::ORIGIN, "https://venue.example".parse().unwrap());
        assert!(l.origin_allowed(&h, &members));
        h.insert(header::ORIGIN, "http://10.0.0.6:8080".parse().unwrap());
        assert!(l.origin_allowed(&h, &members), "another member's page");
        assert!(!l.origin_allowed(&h, &[]), "not once it left the cluster");
        h.insert(header::ORIGIN, "http://10.0.0.6:8081".parse().unwrap());
        assert!(
            !l.origin_allowed(&h, &members),
            "another port is another origin"
        );
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!l.origin_allowed(&h, &members));
        // localhost is the loopback address's own name.
        let local = limits(&[]);
        local.set_own_http("127.0.0.1:8080".into());
        h.insert(header::ORIGIN, "http://localhost:8080".parse().unwrap());
        assert!(local.origin_allowed(&h, &[]), "the quick start's page");
        h.insert(header::ORIGIN, "http://localhost:9090".parse().unwrap());
        assert!(!local.origin_allowed(&h, &[]), "another port");
        h.insert(
            header::ORIGIN,
            "http://localhost.evil.example:8080".parse().unwrap(),
        );
        assert!(!local.origin_allowed(&h, &[]));
    }

    #[test]
    fn with_https_only_members_https_pages_count() {
        let l = limits(&[]).with_https(true);
        let members = vec!["10.0.0.6:8443".to_string()];
        assert!(l.origin_listed("https://10.0.0.6:8443", &members));
        assert!(
            !l.origin_listed("http://10.0.0.6:8443", &members),
            "a plain-HTTP page is not the member's"
        );
        assert!(!limits(&[]).origin_listed("https://10.0.0.6:8443", &members));
    }
}
