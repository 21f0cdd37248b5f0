//! The settings of `http` VIPs beyond the ones every VIP has.
//!
//! Defaults: no trusted forwarders (every client's `X-Forwarded-*` and `Forwarded` headers
//! are replaced), and a cookie secret drawn at random once per process (persistence cookies
//! then do not survive a restart or a switch to a standby balancer: set one to keep them).

use super::Network;

/// What an `http` VIP does beyond forwarding requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpOptions {
    /// Peers (proxies in front) whose forwarding headers are kept, the client address being
    /// appended after theirs; anyone else's are replaced.
    pub trusted_forwarders: Vec<Network>,
    /// Key of the persistence cookie's MAC and server tags (cookie persistence only); the same
    /// on every balancer of a VIP so cookies survive restarts and failovers.
    pub cookie_secret: Option<u128>,
}
