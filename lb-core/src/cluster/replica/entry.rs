//! What the replicated tables hold: keys, values and the versioned updates that carry them.
//!
//! Three tables share one key space: `last-successful` (one entry per VIP), `source-ip` (one
//! per VIP and client prefix) and `server-admin` (one per VIP and server). Servers are named,
//! never numbered, so the two nodes agree whatever ids their configurations gave. A delete is
//! a value too, [`Value::Deleted`], so that it can be versioned like any change.

use std::net::IpAddr;

use super::Version;
use crate::model::AdminState;

/// The key of a replicated entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// The `last-successful` entry of a VIP.
    LastSuccessful {
        /// The VIP's name.
        vip: String,
    },
    /// A `source-ip` entry: where a client prefix of a VIP is sent.
    SourceIp {
        /// The VIP's name.
        vip: String,
        /// The client address, already masked to the VIP's prefix length.
        client: IpAddr,
    },
    /// The runtime admin state of one server of a VIP.
    ServerState {
        /// The VIP's name.
        vip: String,
        /// The server's name.
        server: String,
    },
}

impl Key {
    /// The VIP the entry belongs to.
    pub fn vip(&self) -> &str {
        match self {
            Key::LastSuccessful { vip }
            | Key::SourceIp { vip, .. }
            | Key::ServerState { vip, .. } => vip,
        }
    }

    /// Whether `value` may be stored under this key: [`Value::Deleted`] under any key,
    /// otherwise the value of the key's own table.
    pub fn accepts(&self, value: &Value) -> bool {
        matches!(
            (self, value),
            (_, Value::Deleted)
                | (Key::LastSuccessful { .. }, Value::Server(_))
                | (Key::SourceIp { .. }, Value::SourceIp { .. })
                | (Key::ServerState { .. }, Value::ServerState { .. })
        )
    }
}

/// The value of a replicated entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// `last-successful`: the server that last accepted a connection (the writer).
    Server(String),
    /// `source-ip`: the client's server, until `expires_at`.
    SourceIp {
        /// The server's name.
        server: String,
        /// When the entry expires, in ms on the local wall clock (it travels as remaining ms).
        expires_at: u64,
    },
    /// `server-admin`: what the operator set at runtime.
    ServerState {
        /// Ready, drain or maintenance.
        state: AdminState,
        /// The weight, `0..=MAX_WEIGHT`.
        weight: u16,
    },
    /// The entry was deleted: a tombstone, kept for a while so that an older update arriving
    /// late cannot bring the entry back.
    Deleted,
}

impl Value {
    /// Whether this is a live value at `now_ms`: not a tombstone, not an expired source-ip
    /// entry.
    pub fn is_live(&self, now_ms: u64) -> bool {
        match self {
            Value::Deleted => false,
            Value::SourceIp { expires_at, .. } => *expires_at > now_ms,
            Value::Server(_) | Value::ServerState { .. } => true,
        }
    }
}

/// One versioned change of one entry: what the nodes send each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Update {
    /// The entry changed.
    pub key: Key,
    /// When and by whom.
    pub version: Version,
    /// The new value ([`Value::Deleted`] for a delete).
    pub value: Value,
}

/// The one-byte code of an admin state, the same on the wire and in digests.
pub(crate) fn admin_code(state: AdminState) -> u8 {
    match state {
        AdminState::Ready => 0,
        AdminState::Drain => 1,
        AdminState::Maintenance => 2,
    }
}

/// The admin state of a code made by [`admin_code`]; `None` for any other byte.
pub(crate) fn admin_from_code(code: u8) -> Option<AdminState> {
    match code {
        0 => Some(AdminState::Ready),
        1 => Some(AdminState::Drain),
        2 => Some(AdminState::Maintenance),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_accept_their_own_table_values_and_deletes() {
        let last = Key::LastSuccessful { vip: "db".into() };
        let state = Value::ServerState {
            state: AdminState::Drain,
            weight: 10,
        };
        assert!(last.accepts(&Value::Server("s1".into())));
        assert!(last.accepts(&Value::Deleted));
        assert!(!last.accepts(&state));
        let server = Key::ServerState {
            vip: "db".into(),
            server: "s1".into(),
        };
        assert!(server.accepts(&state));
        assert_eq!(server.vip(), "db");
    }

    #[test]
    fn expired_source_ip_values_and_tombstones_are_not_live() {
        let entry = Value::SourceIp {
            server: "s1".into(),
            expires_at: 100,
        };
        assert!(entry.is_live(99));
        assert!(!entry.is_live(100));
        assert!(!Value::Deleted.is_live(0));
        assert!(Value::Server("s1".into()).is_live(u64::MAX));
    }

    #[test]
    fn admin_codes_round_trip() {
        for state in [
            AdminState::Ready,
            AdminState::Drain,
            AdminState::Maintenance,
        ] {
            assert_eq!(admin_from_code(admin_code(state)), Some(state));
        }
        assert_eq!(admin_from_code(3), None);
    }
}
