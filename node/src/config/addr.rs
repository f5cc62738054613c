//! Addresses other machines use to reach a node (`host:port`).
//!
//! Bind addresses are plain [`std::net::SocketAddr`]s: a node can only bind
//! an IP it owns. Addresses handed to *other* machines (what a node
//! advertises, and the node a new machine joins through) may also be host
//! names (`venue-laptop.local:7080`), because that is what operators type on
//! a venue network. They are resolved when connecting, not here.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an address given for another machine was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    /// Someone wrote a URL (`quic://…`, `http://…`) where `host:port` goes.
    #[error("`{0}` has a scheme; expected host:port, e.g. 10.0.0.5:7080")]
    HasScheme(String),
    /// No `:port` at the end.
    #[error("`{0}` has no port; expected host:port, e.g. 10.0.0.5:7080")]
    MissingPort(String),
    /// The port is not a number in 1..=65535.
    #[error("`{0}` has an invalid port; use a number between 1 and 65535")]
    BadPort(String),
    /// An IPv6 address written without brackets is ambiguous with its port.
    #[error("`{0}` looks like an IPv6 address without brackets; write it as [addr]:port")]
    BareIpv6(String),
    /// The host part is neither an IP address nor a valid DNS name.
    #[error(
        "`{0}` has an invalid host name (letters, digits, '-' and '.', at most 253 characters)"
    )]
    BadHost(String),
    /// 0.0.0.0 or :: cannot be dialled: nobody can reach a node there.
    #[error("`{0}` is an unspecified address (0.0.0.0 or ::), which no other machine can connect to; give the node's real IP or host name")]
    Unspecified(String),
}

/// A `host:port` that other machines can dial: an IP address or a DNS name,
/// and a non-zero port. Never 0.0.0.0 or `::`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerAddr {
    host: String,
    port: u16,
}

impl PeerAddr {
    /// The host part without brackets (`10.0.0.5`, `::1`, `venue-1.local`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, never 0.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The IP address when the host is written as one (no DNS lookup).
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// True for 127.0.0.0/8, ::1 and `localhost`: an address only this
    /// machine can use.
    pub fn is_loopback(&self) -> bool {
        match self.ip() {
            Some(ip) => ip.is_loopback(),
            None => self.host.eq_ignore_ascii_case("localhost"),
        }
    }

    /// The advertised form of a bound socket address. Fails when the socket
    /// is bound to an unspecified IP or to port 0, which nobody can dial.
    pub fn from_socket(addr: SocketAddr) -> Result<Self, AddrError> {
        if addr.ip().is_unspecified() {
            return Err(AddrError::Unspecified(addr.to_string()));
        }
        if addr.port() == 0 {
            return Err(AddrError::BadPort(addr.to_string()));
        }
        Ok(PeerAddr {
            host: addr.ip().to_string(),
            port: addr.port(),
        })
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for PeerAddr {
    type Err = AddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.contains("://") {
            return Err(AddrError::HasScheme(s.to_owned()));
        }
        if let Ok(sock) = s.parse::<SocketAddr>() {
            return PeerAddr::from_socket(sock);
        }
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err(AddrError::MissingPort(s.to_owned()));
        };
        if host.contains(':') || host.starts_with('[') {
            // A bracketed IPv6 address that SocketAddr refused has a bad port;
            // an unbracketed one is ambiguous.
            return Err(if host.starts_with('[') {
                AddrError::BadPort(s.to_owned())
            } else {
                AddrError::BareIpv6(s.to_owned())
            });
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| AddrError::BadPort(s.to_owned()))?;
        if host.parse::<IpAddr>().is_ok() {
            // Only reachable if the port was bad, which was handled above.
            return Err(AddrError::BadPort(s.to_owned()));
        }
        if !is_dns_name(host) {
            return Err(AddrError::BadHost(s.to_owned()));
        }
        Ok(PeerAddr {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// RFC 1123 host names: dot-separated labels of letters, digits and '-',
/// no label empty, longer than 63 or starting or ending with '-'.
fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl Serialize for PeerAddr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PeerAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ips_and_host_names() {
        let a: PeerAddr = "10.0.0.5:7080".parse().unwrap();
        assert_eq!((a.host(), a.port()), ("10.0.0.5", 7080));
        assert_eq!(a.to_string(), "10.0.0.5:7080");

        let b: PeerAddr = "[::1]:7080".parse().unwrap();
        assert_eq!(b.host(), "::1");
        assert!(b.is_loopback());
        assert_eq!(b.to_string(), "[::1]:7080");

        let c: PeerAddr = "Venue-Laptop.local:8080".parse().unwrap();
        assert_eq!(c.to_string(), "venue-laptop.local:8080");
        assert!(!c.is_loopback());
        assert!("localhost:1".parse::<PeerAddr>().unwrap().is_loopback());
    }

    #[test]
    fn refuses_what_nobody_can_dial() {
        let cases = [
            ("0.0.0.0:7080", "unspecified"),
            ("[::]:7080", "unspecified"),
            ("quic://10.0.0.5:7080", "scheme"),
            ("10.0.0.5", "no port"),
            ("10.0.0.5:0", "invalid port"),
            ("10.0.0.5:70800", "invalid port"),
            ("node:http", "invalid port"),
            ("::1:7080", "brackets"),
            ("bad_host:7080", "invalid host"),
            ("-x.local:7080", "invalid host"),
            (":7080", "invalid host"),
        ];
        for (input, expected) in cases {
            let err = input.parse::<PeerAddr>().unwrap_err().to_string();
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    #[test]
    fn advertises_bound_sockets_only_when_dialable() {
        let ok = PeerAddr::from_socket("192.168.1.4:8080".parse().unwrap()).unwrap();
        assert_eq!(ok.to_string(), "192.168.1.4:8080");
        assert!(PeerAddr::from_socket("0.0.0.0:8080".parse().unwrap()).is_err());
        assert!(PeerAddr::from_socket("127.0.0.1:0".parse().unwrap()).is_err());
    }
}
