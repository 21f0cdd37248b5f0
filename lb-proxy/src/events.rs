//! What happens to a VIP, as typed events, for whoever follows it: replication to a peer, an
//! embedder's own bookkeeping, a test awaiting a change ([`ServiceHandle::wait_for_pool`]
//! re-tests its condition on each). Subscribe with [`ServiceHandle::events`].
//!
//! Events are published by the VIP's handle once a change is in force (the pool it affects
//! already swapped), and by connections for what they change in the persistence tables: a
//! last-successful entry that moves, a source-IP entry that is new or names another server
//! (not one only used again, so a steady client costs nothing here). Entries that expire are
//! not published: a source-IP entry's lifetime is the table's timeout from its last use.
//! Connections and requests that finish are not events either: they are counted
//! ([`crate::Stats`]) and logged (`lb::access`) where they end, at no cost of a hand-off.
//!
//! Defaults: a subscriber may fall [`CAPACITY`] events behind; past that it misses the oldest
//! and its next receive says how many (`RecvError::Lagged`), then it reads on.
//!
//! [`ServiceHandle::wait_for_pool`]: crate::ServiceHandle::wait_for_pool
//! [`ServiceHandle::events`]: crate::ServiceHandle::events

use std::net::IpAddr;

use lb_core::model::{AdminState, Health, ServerId};
use tokio::sync::broadcast;

/// Events a subscriber may fall behind by before it misses some.
pub const CAPACITY: usize = 1024;

/// Something that happened to a VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VipEvent {
    /// Health checks (or an embedder) marked a server up or down.
    HealthChanged {
        /// The server.
        server: ServerId,
        /// Its health now.
        health: Health,
    },
    /// A server's admin state was set (`ready`, `drain`, `maintenance`).
    AdminStateChanged {
        /// The server.
        server: ServerId,
        /// The state it is in now.
        state: AdminState,
    },
    /// A server's weight was set.
    WeightChanged {
        /// The server.
        server: ServerId,
        /// Its weight now.
        weight: u16,
    },
    /// The server list was replaced (servers added or removed).
    ServersChanged {
        /// The servers now, in configured order.
        servers: Vec<ServerId>,
    },
    /// The VIP's settings were replaced (a reload).
    Reconfigured,
    /// The persistence entries naming a server removed from the VIP were forgotten.
    PersistenceRemoved {
        /// The server removed.
        server: ServerId,
        /// How many entries named it.
        entries: usize,
    },
    /// Every persistence entry was forgotten (admin API).
    PersistenceCleared {
        /// How many there were.
        entries: usize,
    },
    /// The last-successful entry moved to a server (a failover, or the first connection).
    LastSuccessfulMoved {
        /// The server it names now.
        server: ServerId,
    },
    /// A source-IP entry was made, or moved to another server.
    SourceIpRecorded {
        /// The client's address, masked as the table keys it.
        client: IpAddr,
        /// The server it names now.
        server: ServerId,
    },
}

/// The publishing side, shared by a service's handle and its connections.
#[derive(Debug)]
pub(crate) struct Events(broadcast::Sender<VipEvent>);

impl Default for Events {
    fn default() -> Self {
        Events(broadcast::Sender::new(CAPACITY))
    }
}

impl Events {
    /// Tells every subscriber (none is fine).
    pub(crate) fn publish(&self, event: VipEvent) {
        let _ = self.0.send(event);
    }

    /// A new subscriber, which gets the events published from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<VipEvent> {
        self.0.subscribe()
    }
}
