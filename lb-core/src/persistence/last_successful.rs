//! Last-successful persistence: every new connection goes to the last server that accepted
//! one, while it is usable (HAProxy's `stick on dst` with a one-entry table, as TripleO uses
//! for Galera's single writer and the Redis master).
//!
//! - One entry per VIP, an atomic word: read without a lock on every connection.
//! - While the entry's server may take sticky traffic (up and not in maintenance), every new
//!   connection goes there. When it may not, or it refuses a connection, the caller schedules
//!   (the `first` scheduler picks the next usable server in configured order) and records the
//!   server that accepts. Traffic then stays there after the first server recovers: no
//!   failback, until the new server fails in turn.
//! - Recording is a compare-and-swap from the entry the decision was based on, so a slow
//!   connection that succeeds late on the old server cannot move traffic back.
//! - `clear_on_drain` (default off): a drained server keeps the entry, and so keeps new
//!   clients, unless this is set; then the entry is forgotten and new clients move at once.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Stickiness;
use crate::model::{AdminState, Persistence, ServerId};
use crate::pool::Pool;

/// The entry's value when it names no server.
const EMPTY: u64 = u64::MAX;

/// The entry a stickiness decision was based on: give it back to
/// [`LastSuccessful::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vacancy(u64);

/// The last-successful entry of one VIP.
#[derive(Debug)]
pub struct LastSuccessful {
    entry: AtomicU64,
    clear_on_drain: bool,
}

impl LastSuccessful {
    /// An empty entry.
    pub fn new(clear_on_drain: bool) -> Self {
        LastSuccessful {
            entry: AtomicU64::new(EMPTY),
            clear_on_drain,
        }
    }

    /// The entry of a `last-successful` persistence; `None` for any other kind.
    pub fn from_model(persistence: &Persistence) -> Option<Self> {
        match *persistence {
            Persistence::LastSuccessful { clear_on_drain } => Some(Self::new(clear_on_drain)),
            _ => None,
        }
    }

    /// The server the entry names (status page, replication).
    pub fn server(&self) -> Option<ServerId> {
        decode(self.entry.load(Ordering::Acquire))
    }

    /// Overwrites the entry: `None` forgets it (admin API), `Some` applies a replicated one.
    pub fn set(&self, server: Option<ServerId>) {
        self.entry
            .store(server.map_or(EMPTY, encode), Ordering::Release);
    }

    /// Forgets the entry if it names `server` (removed from the configuration); answers
    /// whether it did.
    pub fn remove_server(&self, server: ServerId) -> bool {
        self.entry
            .compare_exchange(encode(server), EMPTY, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Where persistence sends a new connection: the entry's server while it may take sticky
    /// traffic (and, with `clear_on_drain`, is not drained), else nowhere.
    pub fn sticky<'p>(&self, pool: &'p Pool) -> Stickiness<'p, Vacancy> {
        let mut observed = self.entry.load(Ordering::Acquire);
        loop {
            let Some(member) = decode(observed).and_then(|id| pool.sticky(id)) else {
                return Stickiness::Vacant(Vacancy(observed));
            };
            if !(self.clear_on_drain && member.admin == AdminState::Drain) {
                return Stickiness::Sticky(member, Vacancy(observed));
            }
            match self
                .entry
                .compare_exchange(observed, EMPTY, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Stickiness::Vacant(Vacancy(EMPTY)),
                Err(current) => observed = current,
            }
        }
    }

    /// Records that `server` accepted a connection decided on `vacancy`: the entry moves to
    /// it unless another connection moved the entry since (an empty entry is always filled).
    /// Answers whether the entry moved to `server` (for replication and events).
    pub fn record(&self, vacancy: Vacancy, server: ServerId) -> bool {
        let new = encode(server);
        match self
            .entry
            .compare_exchange(vacancy.0, new, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(previous) => previous != new,
            Err(EMPTY) => self
                .entry
                .compare_exchange(EMPTY, new, Ordering::AcqRel, Ordering::Acquire)
                .is_ok(),
            Err(_) => false,
        }
    }
}

fn encode(server: ServerId) -> u64 {
    u64::from(server.0)
}

fn decode(entry: u64) -> Option<ServerId> {
    u32::try_from(entry).ok().map(ServerId)
}
