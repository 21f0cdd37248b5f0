//! Keep-alive connections to servers: an HTTP/1.1 client connection per TCP connection, made
//! through the VIP's [`Dialer`], and a bounded stack of idle ones per server address.
//!
//! A connection goes back to its server's stack when a response body has been read to its end,
//! and is taken again only once it can carry another request; a stack holds at most `max_idle` connections
//! (the oldest beyond that are closed) and an idle connection is closed once it has been idle
//! longer than the idle limit. Responses are parsed strictly (hyper's defaults: no obs-fold,
//! no whitespace before a colon).
//!
//! Defaults: 128 idle connections per server (enough that a busy VIP's connections are not
//! closed and redialled between bursts), each kept idle at most the smaller of 30 s and
//! the server timeout.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use hyper::client::conn::http1::{Builder, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use tracing::debug;

use super::ProxyBody;
use crate::connect::Dialer;

/// Idle connections kept per server.
pub(crate) const MAX_IDLE_PER_SERVER: usize = 128;
/// Longest time a connection is kept idle.
pub(crate) const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// Longest wait for a kept-alive connection to finish its last exchange.
const READY_WAIT: Duration = Duration::from_secs(1);

/// A connection to one server that can carry requests.
pub(crate) type Sender = SendRequest<ProxyBody>;

/// The idle connections of one VIP, by server address.
#[derive(Debug)]
pub(crate) struct Upstreams {
    idle: Mutex<HashMap<SocketAddr, Vec<(Sender, Instant)>>>,
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

    /// The most recently used idle connection to `address` that can take a request, if any
    /// (one still finishing its last exchange is waited for, at most [`READY_WAIT`]).
    pub(crate) async fn take(&self, address: SocketAddr) -> Option<Sender> {
        loop {
            let (mut sender, since) = {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                idle.get_mut(&address)?.pop()?
            };
            if since.elapsed() >= self.idle_limit || sender.is_closed() {
                continue;
            }
            if sender.is_ready() {
                return Some(sender);
            }
            let ready = tokio::time::timeout(READY_WAIT, sender.ready()).await;
            if matches!(ready, Ok(Ok(()))) {
                return Some(sender);
            }
        }
    }

    /// Keeps `sender` (whose response has been read to its end) for reuse.
    pub(crate) fn give_back(&self, address: SocketAddr, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let stack = idle.entry(address).or_default();
        stack.push((sender, Instant::now()));
        if stack.len() > self.max_idle {
            stack.remove(0);
        }
    }
}

/// A new connection to `address`, its protocol driver running in a task of its own.
pub(crate) async fn dial(dialer: &Dialer, address: SocketAddr) -> io::Result<Sender> {
    let stream = dialer.connect(address).await?;
    let (sender, connection) = Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            debug!(%address, %error, "server connection ended");
        }
    });
    Ok(sender)
}
