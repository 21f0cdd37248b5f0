//! Forwards an established session: copies bytes both ways between the client and its server.
//!
//! A session ends when both directions have ended (each end of stream is passed on as a write
//! shutdown, so a FIN one way leaves the other way open), when either direction fails, when no
//! byte has moved either way for the idle limit, or when it is closed from outside. Small
//! chunks move through pooled buffers and streams by splice(2) (see [`pump`]); an idle session
//! holds neither pipe nor buffer (see [`reuse`]). A session is one future, polled by its task,
//! that drives both directions, the close signal and the idle timer (see [`idle`]); the last
//! two are polled only when they wake it (see [`watchdog`]).
//!
//! Lifecycle: called once the server connection is up and any preamble (PROXY header, bytes
//! read with the client's PROXY header) is written; the caller drops both sockets afterwards.

mod idle;
mod pump;
mod reuse;
mod watchdog;

use std::future::poll_fn;
use std::io;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::sessions::CloseSignal;
pub(crate) use idle::IdleClock;
use pump::Pump;
pub(crate) use pump::Transfer;
pub(crate) use watchdog::Watchdog;

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
    let mut up = Pump::new(client, server, transfer);
    let mut down = Pump::new(server, client, transfer);
    let mut clock = IdleClock::start(idle_limit);
    let mut idle_timer = pin!(tokio::time::sleep_until(clock.deadline()));
    let mut closed = pin!(close.closed());
    let mut watchdog = None;
    let end = poll_fn(|cx| {
        for pump in [&mut up, &mut down] {
            if let Poll::Ready(Err(error)) = pump.poll(cx) {
                return Poll::Ready(End::Failed(error));
            }
        }
        if up.ended() && down.ended() {
            return Poll::Ready(End::Finished);
        }
        if up.take_progress() | down.take_progress() {
            clock.touch();
        }
        let watchdog = watchdog.get_or_insert_with(|| Watchdog::new(cx));
        watchdog.poll(cx, |cx| {
            if closed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(End::Closed);
            }
            clock
                .poll_expired(idle_timer.as_mut(), cx)
                .map(|()| End::Idle)
        })
    })
    .await;
    Outcome {
        end,
        client_to_server: up.moved(),
        server_to_client: down.moved(),
    }
}

#[cfg(test)]
mod tests;
