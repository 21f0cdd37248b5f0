//! Passive health observation: what the proxy sees of its servers, reported to the checks.
//!
//! Every failed server connect is reported; a successful one is reported only for a server
//! whose last report was a failure (it resets the passive count), so the hot path pays one
//! relaxed atomic load per connection when nothing is failing. Reports go through a bounded
//! channel ([`CAPACITY`]) with `try_send`: a burst beyond it is dropped rather than ever
//! slowing a connection down. Only created for VIPs with `observe_failures` set.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use lb_core::model::ServerId;
use lb_health::{CheckFailure, Outcome};
use tokio::sync::mpsc;

/// Reports waiting for the health checks at most.
pub(crate) const CAPACITY: usize = 1024;

/// One connection outcome the proxy saw.
#[derive(Debug)]
pub struct Observation {
    /// The server connected to.
    pub server: ServerId,
    /// Whether the connection succeeded, and if not, why.
    pub outcome: Outcome,
}

/// The reporting side, shared by every connection of a service.
#[derive(Debug)]
pub(crate) struct Observer {
    sender: mpsc::Sender<Observation>,
    failing: Mutex<HashSet<ServerId>>,
    any_failing: AtomicBool,
}

impl Observer {
    /// An observer and the receiving end for the health checks.
    pub(crate) fn new() -> (Observer, mpsc::Receiver<Observation>) {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        let observer = Observer {
            sender,
            failing: Mutex::new(HashSet::new()),
            any_failing: AtomicBool::new(false),
        };
        (observer, receiver)
    }

    /// A connect to `server` failed.
    pub(crate) fn failed(&self, server: ServerId, error: &std::io::Error) {
        self.failing().insert(server);
        self.any_failing.store(true, Ordering::Relaxed);
        let outcome = Err(CheckFailure::new(error.to_string()));
        let _ = self.sender.try_send(Observation { server, outcome });
    }

    /// A connect to `server` succeeded.
    pub(crate) fn succeeded(&self, server: ServerId) {
        if !self.any_failing.load(Ordering::Relaxed) {
            return;
        }
        let mut failing = self.failing();
        if failing.remove(&server) {
            self.any_failing
                .store(!failing.is_empty(), Ordering::Relaxed);
            let _ = self.sender.try_send(Observation {
                server,
                outcome: Ok(()),
            });
        }
    }

    fn failing(&self) -> std::sync::MutexGuard<'_, HashSet<ServerId>> {
        self.failing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
