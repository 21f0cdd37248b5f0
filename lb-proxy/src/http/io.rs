//! The client side of an HTTP connection as hyper sees it: every byte read passes the
//! [`RequestGuard`] first, and writes that stall longer than the client timeout fail.
//!
//! On a refusal the error response (400 or 431, `Connection: close`) is written straight to
//! the socket, the read fails so hyper drops the connection without dispatching anything read
//! in the same call, and the violation is kept for the caller's log line. The socket is shared
//! (`Arc`) so that the caller can still close it gracefully once hyper is done with it.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use super::guard::{RequestGuard, Violation};
use super::reply::refusal_bytes;

thread_local! {
    /// Where client bytes land before the guard has seen them: hyper's buffer only ever gets
    /// checked bytes, and is never zeroed first.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_SIZE].into_boxed_slice());
}

/// Most bytes read from a client at once.
const SCRATCH_SIZE: usize = 16 * 1024;

/// A guarded client connection.
#[derive(Debug)]
pub(crate) struct ClientIo {
    stream: Arc<TcpStream>,
    guard: RequestGuard,
    refused: Arc<OnceLock<Violation>>,
    write_limit: Duration,
    write_stall: Option<Pin<Box<Sleep>>>,
}

impl ClientIo {
    /// Wraps `stream`; a refusal is recorded in `refused`; a write stalled longer than
    /// `write_limit` fails.
    pub(crate) fn new(
        stream: Arc<TcpStream>,
        guard: RequestGuard,
        refused: Arc<OnceLock<Violation>>,
        write_limit: Duration,
    ) -> Self {
        ClientIo {
            stream,
            guard,
            refused,
            write_limit,
            write_stall: None,
        }
    }

    /// The socket, for tunnelling after an upgrade.
    pub(crate) fn stream(&self) -> &Arc<TcpStream> {
        &self.stream
    }

    fn refuse(&self, violation: Violation) -> io::Error {
        let _ = self.refused.set(violation);
        // Best effort: the socket's send buffer is empty or nearly so at this point.
        let _ = self.stream.try_write(&refusal_bytes(violation));
        io::Error::new(io::ErrorKind::InvalidData, violation.reason())
    }

    /// Waits for the socket to take bytes, failing once it has stalled for the limit.
    fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.stream.poll_write_ready(cx)?.is_ready() {
            self.write_stall = None;
            return Poll::Ready(Ok(()));
        }
        let limit = self.write_limit;
        let stall = self
            .write_stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(stall.as_mut().poll(cx));
        Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
    }
}

impl AsyncRead for ClientIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.stream.poll_read_ready(cx))?;
            let outcome = SCRATCH.with_borrow_mut(|scratch| {
                let room = buf.remaining().min(scratch.len());
                let read = this.stream.try_read(&mut scratch[..room])?;
                match this.guard.feed(&scratch[..read]) {
                    Ok(()) => buf.put_slice(&scratch[..read]),
                    Err(violation) => return Err(this.refuse(violation)),
                }
                Ok(())
            });
            match outcome {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                outcome => return Poll::Ready(outcome),
            }
        }
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            ready!(this.poll_writable(cx))?;
            match this.stream.try_write(bytes) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                written => return Poll::Ready(written),
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        slices: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            ready!(this.poll_writable(cx))?;
            match this.stream.try_write_vectored(slices) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                written => return Poll::Ready(written),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shut = socket2::SockRef::from(&*self.stream).shutdown(std::net::Shutdown::Write);
        Poll::Ready(shut.or_else(|e| match e.kind() {
            io::ErrorKind::NotConnected => Ok(()),
            _ => Err(e),
        }))
    }
}
