//! The server side of a connection or request, the same for every mode: servers in the
//! [selection](super::selection)'s order (persistence, then the scheduler, never one already
//! tried), at most `retries + 1` of them; each connect through the VIP's [`Dialer`](super::connect::Dialer)
//! (TLS included, within the connect timeout) reported to passive health checks (but for an
//! attempt refused before connecting: a client address of the other family than the server's,
//! with `source = "client"`, which says nothing of the server's health); each failed attempt
//! counted (`connect_failure`) and logged with the server, its address and the attempt
//! number. What counts as a failed attempt is the mode's call: in TCP mode a failed connect, in
//! HTTP mode a request that could not be sent (a kept-alive connection may have closed).

use std::fmt::Display;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use lb_core::model::ServerId;
use lb_core::pool::Pool;
use tracing::warn;

use super::selection::{OpenConnection, Selection, Target};
use crate::pipeline::generation::Shared;
use crate::stats::Counters;
use crate::tls::ServerStream;

/// The attempts of one connection (TCP) or request (HTTP) to reach a server.
#[derive(Debug)]
pub(crate) struct Attempts<'s> {
    shared: &'s Shared,
    selection: Selection<'s>,
    /// The client's address (what a transparent source connects from).
    client: IpAddr,
    /// Attempts made so far.
    made: u32,
}

impl<'s> Attempts<'s> {
    /// Attempts for a client at `client`, on the `pool` snapshot (read once, so that a pool
    /// swapped meanwhile affects the next connection, not these retries).
    pub(crate) fn new(shared: &'s Shared, pool: Arc<Pool>, client: IpAddr) -> Self {
        Attempts {
            selection: Selection::new(pool, &shared.stick, client, shared.now()),
            shared,
            client,
            made: 0,
        }
    }

    /// Tries `server` first, if it may take sticky traffic (cookie persistence).
    pub(crate) fn prefer(&mut self, server: ServerId) {
        self.selection.prefer(server);
    }

    /// The next server to try; `None` once `retries + 1` have been tried or none is left.
    pub(crate) fn next(&mut self) -> Option<Target> {
        if self.made > self.shared.settings.retries {
            return None;
        }
        let target = self.selection.next()?;
        self.made += 1;
        Some(target)
    }

    /// Whether any server was tried.
    pub(crate) fn tried(&self) -> bool {
        self.made > 0
    }

    /// A new connection to `target`, its outcome reported to passive health checks (a
    /// failure is not counted here: see [`Attempts::failed`]).
    pub(crate) async fn connect(&self, target: &Target) -> io::Result<ServerStream> {
        let dialer = &self.shared.settings.dialer;
        dialer.reachable(self.client, target.address)?;
        let connected = dialer.connect(target.address, self.client).await;
        if let Some(observer) = &self.shared.observer {
            match &connected {
                Ok(_) => observer.succeeded(target.id),
                Err(error) => observer.failed(target.id, error),
            }
        }
        connected
    }

    /// Counts and logs a failed attempt on `target`.
    pub(crate) fn failed(&self, target: &Target, error: &dyn Display) {
        Counters::bump(&self.shared.counters.connect_failures);
        warn!(
            vip = %self.shared.settings.name,
            server = %self.shared.server_name(target),
            address = %target.address,
            attempt = self.made - 1,
            %error,
            "connect failed"
        );
    }

    /// `target` took the connection or request: persistence follows it, and it counts as
    /// open until the returned guard drops.
    pub(crate) fn connected(self, target: &Target) -> OpenConnection {
        Counters::bump(&self.shared.counters.established);
        self.selection.connected(target, &self.shared.events)
    }
}
