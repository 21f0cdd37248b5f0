//! The access log of TCP mode (HTTP mode writes one line per request: see `http::access`):
//! one line per TCP connection, written when it ends, at `info` level under
//! the tracing target `lb::access` (filter it with `RUST_LOG`, e.g. `info,lb::access=off`;
//! the `--log-format` of `lb run` makes it text or JSON like every other line).
//!
//! Fields: `client` (address, from the PROXY header when a trusted peer sent one), `vip`,
//! `server` (`-` when none was reached), `connect_ms` (from accept to the server connection
//! being up, `-` when none was), `total_ms` (accept to close), `bytes_in` (client to server),
//! `bytes_out` (server to client) and `termination`, one of: `finished` (both sides closed),
//! `idle` (idle limit), `closed` (by an operator, a server marked down or removed, or a
//! shutdown deadline), `failed: <error>` (a socket error), `queue-full` and `queue-timeout`
//! (the connection caps), `bad-proxy-header`, `no-server` (none usable, or every attempt
//! failed), `setup-failed: <error>` (client socket options, preamble write) and `stopped`
//! (the service stopped while the connection was being set up).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::info;

/// The tracing target of access log lines.
pub(crate) const TARGET: &str = "lb::access";

/// Why a connection ended, as the log line says it.
#[derive(Debug)]
pub(crate) enum Termination {
    Finished,
    Idle,
    Closed,
    Failed(String),
    QueueFull,
    QueueTimeout,
    BadProxyHeader,
    NoServer,
    SetupFailed(String),
    Stopped,
}

impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Termination::Finished => f.write_str("finished"),
            Termination::Idle => f.write_str("idle"),
            Termination::Closed => f.write_str("closed"),
            Termination::Failed(error) => write!(f, "failed: {error}"),
            Termination::QueueFull => f.write_str("queue-full"),
            Termination::QueueTimeout => f.write_str("queue-timeout"),
            Termination::BadProxyHeader => f.write_str("bad-proxy-header"),
            Termination::NoServer => f.write_str("no-server"),
            Termination::SetupFailed(error) => write!(f, "setup-failed: {error}"),
            Termination::Stopped => f.write_str("stopped"),
        }
    }
}

/// What the access line of one connection will say, filled in as the connection goes.
#[derive(Debug)]
pub(crate) struct TcpAccess {
    accepted: Instant,
    /// The client, as the PROXY header named it if one was received.
    pub(crate) client: SocketAddr,
    /// The server reached.
    pub(crate) server: Option<Arc<str>>,
    connected_after: Option<Duration>,
    /// Why it ended; `stopped` if never set.
    pub(crate) termination: Option<Termination>,
    /// Bytes from the client to the server.
    pub(crate) bytes_in: u64,
    /// Bytes from the server to the client.
    pub(crate) bytes_out: u64,
}

impl TcpAccess {
    /// The record of a connection accepted now from `client`.
    pub(crate) fn accepted(client: SocketAddr) -> Self {
        TcpAccess {
            accepted: Instant::now(),
            client,
            server: None,
            connected_after: None,
            termination: None,
            bytes_in: 0,
            bytes_out: 0,
        }
    }

    /// Notes that `server` took the connection, now.
    pub(crate) fn connected(&mut self, server: Arc<str>) {
        self.server = Some(server);
        self.connected_after = Some(self.accepted.elapsed());
    }

    /// Writes the line for VIP `vip`.
    pub(crate) fn write(self, vip: &str) {
        let connect_ms = self
            .connected_after
            .map_or_else(|| String::from("-"), |after| millis(after).to_string());
        let termination = self.termination.unwrap_or(Termination::Stopped);
        info!(
            target: TARGET,
            client = %self.client,
            vip,
            server = self.server.as_deref().unwrap_or("-"),
            connect_ms = %connect_ms,
            total_ms = millis(self.accepted.elapsed()),
            bytes_in = self.bytes_in,
            bytes_out = self.bytes_out,
            termination = %termination,
            "tcp"
        );
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
