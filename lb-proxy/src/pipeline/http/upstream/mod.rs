//! HTTP/1.1 to servers: connections made through the VIP's dialer (`crate::pipeline::upstream`) and a bounded stack of
//! idle ones per server address ([`Upstreams`]); one exchange on a connection
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
//! closed and redialled between bursts), each kept idle at most the smaller of 30 s and
//! the server timeout.

mod connection;
#[cfg(feature = "fuzzing")]
mod read;
mod request;
mod response;
mod response_body;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub(crate) use connection::{Connection, Failure};
#[cfg(feature = "fuzzing")]
pub use read::read_response;
pub(crate) use response::{FieldForm, Head};
pub(crate) use response_body::ResponseBody;

/// Idle connections kept per server.
pub(crate) const MAX_IDLE_PER_SERVER: usize = 128;
/// Longest time a connection is kept idle.
pub(crate) const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// The idle connections to one server, each with when it went idle, the most recent last.
type Stack = Vec<(Connection, Instant)>;

/// The idle connections of one VIP, by server address (a short list: a VIP has few servers,
/// and a scan of it costs less than hashing an address).
#[derive(Debug)]
pub(crate) struct Upstreams {
    idle: Mutex<Vec<(SocketAddr, Stack)>>,
    max_idle: usize,
    idle_limit: Duration,
}

impl Upstreams {
    /// Stacks of at most `max_idle` connections, each kept idle at most `idle_limit`.
    pub(crate) fn new(max_idle: usize, idle_limit: Duration) -> Self {
        Upstreams {
            idle: Mutex::default(),
            max_idle,
            idle_limit,
        }
    }

    /// The most recently used idle connection to `address` that is still open, if any.
    pub(crate) fn take(&self, address: SocketAddr) -> Option<Connection> {
        loop {
            let (mut connection, since) = {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                let (_, stack) = idle.iter_mut().find(|(to, _)| *to == address)?;
                stack.pop()?
            };
            if since.elapsed() < self.idle_limit && connection.is_quiet() {
                return Some(connection);
            }
        }
    }

    /// Closes the idle connections to addresses no server of the VIP has any more.
    pub(crate) fn keep_only(&self, addresses: &[SocketAddr]) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|(to, _)| addresses.contains(to));
    }

    /// Keeps `connection`, whose last response has been read to its end, for reuse.
    pub(crate) fn give_back(&self, address: SocketAddr, mut connection: Connection) {
        connection.reused = true;
        connection.tally.flush();
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let at = match idle.iter().position(|(to, _)| *to == address) {
            Some(at) => at,
            None => {
                idle.push((address, Vec::new()));
                idle.len() - 1
            }
        };
        let stack = &mut idle[at].1;
        let now = Instant::now();
        let expired = stack
            .iter()
            .take_while(|(_, since)| now.duration_since(*since) >= self.idle_limit)
            .count();
        stack.drain(..expired);
        stack.push((connection, now));
        if stack.len() > self.max_idle {
            stack.remove(0);
        }
    }
}
