//! Forwards an established session: copies bytes both ways between the client and its server.
//!
//! A session ends when both directions have ended (each end of stream is passed on as a write
//! shutdown, so a FIN one way leaves the other way open), when either direction fails, when no
//! byte has moved either way for the idle limit, or when it is closed from outside. Bytes move
//! by splice(2) through pipes borrowed per chunk, with a buffered fallback; an idle session
//! holds neither pipe nor buffer (see [`reuse`]).
//!
//! Lifecycle: called once the server connection is up and any preamble (PROXY header, bytes
//! read with the client's PROXY header) is written; the caller drops both sockets afterwards.

mod idle;
mod pump;
mod reuse;

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::TcpStream;

use crate::sessions::CloseSignal;
use idle::IdleClock;
pub(crate) use pump::Transfer;
use pump::pump;

/// Why a session ended.
#[derive(Debug)]
pub(crate) enum End {
    /// Both directions reached end of stream.
    Finished,
    /// Nothing moved for the idle limit.
    Idle,
    /// Closed from outside (server down or in maintenance, service stopping).
    Closed,
    /// A socket failed (reset, unreachable).
    Failed(io::Error),
}

/// How a session ended and what it carried.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Why it ended.
    pub(crate) end: End,
    /// Bytes from the client to the server.
    pub(crate) client_to_server: u64,
    /// Bytes from the server to the client.
    pub(crate) server_to_client: u64,
}

/// Copies between `client` and `server` until the session ends (see the module doc).
pub(crate) async fn forward(
    client: &TcpStream,
    server: &TcpStream,
    transfer: Transfer,
    idle_limit: Duration,
    close: &mut CloseSignal,
) -> Outcome {
    let clock = IdleClock::start();
    let (up, down) = (AtomicU64::new(0), AtomicU64::new(0));
    let both_ways = async {
        tokio::try_join!(
            pump(client, server, transfer, &up, &clock),
            pump(server, client, transfer, &down, &clock),
        )
    };
    let end = tokio::select! {
        result = both_ways => match result {
            Ok(((), ())) => End::Finished,
            Err(error) => End::Failed(error),
        },
        () = clock.expired(idle_limit) => End::Idle,
        () = close.closed() => End::Closed,
    };
    Outcome {
        end,
        client_to_server: up.load(Ordering::Relaxed),
        server_to_client: down.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests;
