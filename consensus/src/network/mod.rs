//! The QUIC transport between nodes.

pub mod gate;
pub mod raft_net;
pub mod rpc;
pub mod server;
pub mod transport;

pub use gate::{AnonymousLimits, LogThrottle};
pub use raft_net::Network;
pub use rpc::{ForwardError, PeerRequest, PeerResponse};
pub use server::{Handler, Peer};
pub use transport::{PeerClients, PeerWire, TransportError};
