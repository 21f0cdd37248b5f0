//! HTTP/1.1 to servers: connections made through the VIP's dialer (`crate::pipeline::upstream`) and a bounded stack of
//! idle ones per server address, and per client address too when connections come from the
//! client's (`source = "client"`: [`idle`]), in [`Upstreams`]; one exchange on a connection
//! ([`connection`]): the request head written by [`request`], the response head parsed by
//! [`response`], the body read by [`ResponseBody`].
//!
//! A connection goes back to its server's stack when a response body has been read to its
//! end and the server keeps it open; a stack holds at most `max_idle` connections (the oldest
//! beyond that are closed); an idle connection is closed once it has been idle longer than the
//! idle limit, and one on which anything arrived while idle (the server closing it) is not
//! taken again.
//!
//! Defaults: 128 idle connections per server (enough that a busy VIP's connections are not
//! closed and redialled between bursts; per client address and server with `source =
//! "client"`), each kept idle at most the smaller of 30 s and the server timeout.

mod connection;
mod idle;
#[cfg(feature = "fuzzing")]
mod read;
mod request;
mod response;
mod response_body;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

pub(crate) use connection::{Connection, Failure};
pub(crate) use idle::PoolKey;
#[cfg(feature = "fuzzing")]
pub use read::read_response;
pub(crate) use response::{FieldForm, Head};
pub(crate) use response_body::ResponseBody;

use idle::IdleStacks;

/// Idle connections kept per server (per client and server with `source = "client"`).
pub(crate) const MAX_IDLE_PER_SERVER: usize = 128;
/// Longest time a connection is kept idle.
pub(crate) const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// The idle connections of one VIP (see [`idle`] for how they are kept).
#[derive(Debug)]
pub(crate) struct Upstreams {
    idle: Mutex<IdleStacks<Connection>>,
    idle_limit: Duration,
}

impl Upstreams {
    /// Stacks of at most `max_idle` connections, each kept idle at most `idle_limit`.
    pub(crate) fn new(max_idle: usize, idle_limit: Duration) -> Self {
        Upstreams {
            idle: Mutex::new(IdleStacks::new(max_idle, idle_limit)),
            idle_limit,
        }
    }

    fn idle(&self) -> MutexGuard<'_, IdleStacks<Connection>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The most recently used idle connection of `key` that is still open, if any.
    pub(crate) fn take(&self, key: PoolKey) -> Option<Connection> {
        loop {
            let (mut connection, since) = self.idle().pop(key)?;
            if since.elapsed() < self.idle_limit && connection.is_quiet() {
                return Some(connection);
            }
        }
    }

    /// Closes the idle connections to addresses no server of the VIP has any more.
    pub(crate) fn keep_only(&self, addresses: &[SocketAddr]) {
        self.idle().keep_only(addresses);
    }

    /// Closes the connections idle longer than the idle limit (see [`sweep`]).
    fn expire(&self) {
        self.idle().expire(Instant::now());
    }

    /// Keeps `connection`, whose last response has been read to its end, for reuse under
    /// `key`.
    pub(crate) fn give_back(&self, key: PoolKey, mut connection: Connection) {
        connection.tally.flush();
        self.idle().push(key, connection, Instant::now());
    }
}

/// Closes `upstreams`' expired idle connections every half idle limit, until the last
/// generation holding them is gone: a VIP gone quiet keeps no server connection (nor its
/// socket, in CLOSE_WAIT once the server closed it) much past the limit. Must be called within
/// a Tokio runtime.
pub(crate) fn sweep(upstreams: &Arc<Upstreams>) {
    let upstreams = Arc::downgrade(upstreams);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(Instant::now() + SWEEP_PERIOD, SWEEP_PERIOD);
        loop {
            ticks.tick().await;
            match upstreams.upgrade() {
                Some(upstreams) => upstreams.expire(),
                None => return,
            }
        }
    });
}

/// How often idle connections are swept: a connection outlives the idle limit by at most this.
const SWEEP_PERIOD: Duration = Duration::from_secs(5);
