//! The registry of established sessions, by server, so that all of a server's sessions can be
//! closed at once (maintenance, `shutdown_sessions_on_down`), and all of a service's on stop.
//!
//! Each server has a close signal (a `watch` channel carrying a generation number); a session
//! subscribes before it connects and ends as soon as the generation moves. A service-wide
//! signal covers sessions still being set up; closing everything moves both. Subscribing
//! reads the registry through an `ArcSwap`, without a lock (a `BTreeMap`: a service has few
//! servers, and a lookup hashes nothing); the registry is rebuilt only when the server list
//! changes. Sessions established after a close are not affected;
//! removing a server closes its sessions, unless it is retired gracefully
//! ([`Sessions::retire_servers`]): then its sessions run on until they end, and only closing
//! everything reaches them. A session that picked a server from a snapshot taken just before
//! the server was removed is treated like a retired server's session.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use lb_core::model::ServerId;
use tokio::sync::watch;

/// Close signals by server, plus one for the whole service.
#[derive(Debug)]
pub(crate) struct Sessions {
    by_server: ArcSwap<BTreeMap<ServerId, Arc<watch::Sender<u64>>>>,
    all: watch::Sender<u64>,
    /// Signals of servers retired gracefully that still have sessions.
    retired: Mutex<Vec<Arc<watch::Sender<u64>>>>,
}

/// What a session waits on to learn it must close.
#[derive(Debug)]
pub(crate) struct CloseSignal {
    generation: watch::Receiver<u64>,
    open_while: u64,
}

impl CloseSignal {
    /// Resolves once the generation moves past the one the session started under (or the
    /// signal is dropped).
    pub(crate) async fn closed(&mut self) {
        let open_while = self.open_while;
        let _ = self.generation.wait_for(|now| *now != open_while).await;
    }
}

impl Sessions {
    /// A registry for `servers`.
    pub(crate) fn new(servers: impl IntoIterator<Item = ServerId>) -> Self {
        let sessions = Sessions {
            by_server: ArcSwap::default(),
            all: watch::Sender::new(0),
            retired: Mutex::default(),
        };
        sessions.set_servers(servers);
        sessions
    }

    /// Keeps the signals of servers still present and adds new ones. Dropping a removed
    /// server's signal closes its sessions.
    pub(crate) fn set_servers(&self, servers: impl IntoIterator<Item = ServerId>) {
        let current = self.by_server.load();
        let next = servers
            .into_iter()
            .map(|id| {
                let signal = current
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(watch::Sender::new(0)));
                (id, signal)
            })
            .collect();
        self.by_server.store(Arc::new(next));
    }

    /// Like [`Sessions::set_servers`], but the sessions of removed servers stay open until
    /// they end by themselves or everything is closed.
    pub(crate) fn retire_servers(&self, servers: impl IntoIterator<Item = ServerId>) {
        let current = self.by_server.load_full();
        let servers: Vec<ServerId> = servers.into_iter().collect();
        let mut retired = self.retired();
        retired.retain(|signal| signal.receiver_count() > 0);
        retired.extend(
            current
                .iter()
                .filter(|(id, signal)| !servers.contains(id) && signal.receiver_count() > 0)
                .map(|(_, signal)| Arc::clone(signal)),
        );
        drop(retired);
        self.set_servers(servers);
    }

    /// The signal a new session of `server` waits on (see the comment inside for a server
    /// removed in the meantime).
    pub(crate) fn subscribe(&self, server: ServerId) -> CloseSignal {
        let generation = match self.by_server.load().get(&server) {
            Some(signal) => signal.subscribe(),
            // Chosen from a pool snapshot taken before the server was removed: the session
            // runs like those of a retired server, and closing everything reaches it.
            None => {
                let signal = Arc::new(watch::Sender::new(0));
                let generation = signal.subscribe();
                let mut retired = self.retired();
                retired.retain(|signal| signal.receiver_count() > 0);
                retired.push(signal);
                generation
            }
        };
        let open_while = *generation.borrow();
        CloseSignal {
            generation,
            open_while,
        }
    }

    /// The signal that the whole service is closing; already closed once it has.
    pub(crate) fn subscribe_all(&self) -> CloseSignal {
        CloseSignal {
            generation: self.all.subscribe(),
            open_while: 0,
        }
    }

    /// Closes every session established to `server`; answers whether the server is known.
    pub(crate) fn close(&self, server: ServerId) -> bool {
        self.by_server
            .load()
            .get(&server)
            .map(|signal| signal.send_modify(|generation| *generation += 1))
            .is_some()
    }

    /// Closes every session of the service: those still being set up see the service signal
    /// (which stays closed: the service is stopping), established ones their server's.
    pub(crate) fn close_all(&self) {
        self.all.send_modify(|generation| *generation += 1);
        self.close_established();
    }

    /// Closes every session established to a server, retired ones included; sessions being
    /// set up, and every later one, are not affected.
    pub(crate) fn close_established(&self) {
        for signal in self.by_server.load().values().chain(self.retired().iter()) {
            signal.send_modify(|generation| *generation += 1);
        }
    }

    fn retired(&self) -> std::sync::MutexGuard<'_, Vec<Arc<watch::Sender<u64>>>> {
        self.retired
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether [`Sessions::close_all`] was called.
    pub(crate) fn all_closed(&self) -> bool {
        *self.all.borrow() != 0
    }
}
