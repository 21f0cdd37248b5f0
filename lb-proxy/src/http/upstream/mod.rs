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
mod request;
mod response;
mod response_body;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::body_decoder::{BodyDecoder, Step};
pub(crate) use connection::{Connection, Failure};
pub(crate) use response::{FieldForm, Head, Reading};
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

/// A server's response as lb reads it when its bytes arrive in `pieces`, one after the other:
/// the status, the body's data and whether the body ended, or why it is refused. 1xx heads
/// other than 101 are skipped; `head_request` tells that the request was HEAD; the fields are
/// read as an HTTP/1.1 client's response takes them. For the fuzz target: the outcome must not
/// depend on how the bytes are split.
pub fn read_response(pieces: &[&[u8]], head_request: bool) -> Result<(u16, Vec<u8>, bool), String> {
    let reading = Reading {
        head_request,
        form: FieldForm::Lines,
    };
    let mut read = bytes::BytesMut::new();
    let mut head = None;
    let mut data = Vec::new();
    let mut fields = response::Fields::new();
    for piece in pieces {
        read.extend_from_slice(piece);
        if head.is_none() {
            head = response::parse_final(&mut read, reading, &mut fields)
                .map_err(|error| error.to_string())?
                .map(|parsed| (parsed.parts.status, BodyDecoder::new(parsed.framing)));
        }
        let Some((_, decoder)) = &mut head else {
            continue;
        };
        loop {
            match decoder.next(&mut read) {
                Step::Data(bytes) => data.extend_from_slice(&bytes),
                Step::End | Step::More => break,
                Step::Invalid(error) => return Err(error),
            }
        }
    }
    let (status, decoder) = head.ok_or("no whole response head")?;
    Ok((status.as_u16(), data, decoder.is_done()))
}
