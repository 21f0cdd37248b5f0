//! Real servers: identity, address, weight, backup flag, admin and health states.
//!
//! Defaults: weight 100 (HAProxy's default is 1; any common value gives the same shares),
//! not a backup, admin state `ready`.

use std::fmt;
use std::net::SocketAddr;

/// The largest weight a server may have. Weight 0 means "no new traffic".
pub const MAX_WEIGHT: u16 = 256;

/// A server's stable identity within its VIP.
///
/// Ids survive reloads and pool rebuilds (they are allocated once per server name), so live
/// counters and persistence entries keyed by them are never lost or misdirected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerId(pub u32);

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What the operator asked of a server, apart from what health checks observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AdminState {
    /// Takes traffic when healthy.
    #[default]
    Ready,
    /// No new connections and no new sticky clients; established sessions finish.
    Drain,
    /// Out at once: no traffic at all, established sessions are closed.
    Maintenance,
}

impl AdminState {
    /// The name used in configuration files and the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminState::Ready => "ready",
            AdminState::Drain => "drain",
            AdminState::Maintenance => "maintenance",
        }
    }

    /// Parses `ready`, `drain` or `maintenance`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ready" => Some(AdminState::Ready),
            "drain" => Some(AdminState::Drain),
            "maintenance" => Some(AdminState::Maintenance),
            _ => None,
        }
    }
}

/// What health checks (active and passive) currently say of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// Passing its checks.
    Up,
    /// Failing its checks: gets no traffic, not even sticky traffic.
    Down,
}

/// One real server behind a VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Stable id (see [`ServerId`]).
    pub id: ServerId,
    /// Unique name within the VIP, as operators refer to it.
    pub name: String,
    /// Where traffic goes; its port may differ from the VIP's (port translation).
    pub address: SocketAddr,
    /// Relative share of new connections, `0..=MAX_WEIGHT`; 0 takes no new traffic.
    pub weight: u16,
    /// Used only when no primary server is usable.
    pub backup: bool,
    /// The operator's state for this server.
    pub admin: AdminState,
}

impl Server {
    /// A ready, primary server with the default weight.
    pub fn new(id: ServerId, name: impl Into<String>, address: SocketAddr) -> Self {
        Server {
            id,
            name: name.into(),
            address,
            weight: Server::DEFAULT_WEIGHT,
            backup: false,
            admin: AdminState::Ready,
        }
    }

    /// The weight given when none is configured.
    pub const DEFAULT_WEIGHT: u16 = 100;
}
