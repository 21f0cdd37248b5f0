//! The client side of an HTTP/1 connection as the [`h1`](super::h1) loop sees it: every byte
//! read passes the [`RequestGuard`] first, and writes that stall longer than the client
//! timeout fail.
//!
//! The stream under it is a cleartext socket (which tunnels splice) or a TLS session. On a refusal the violation is kept for the caller's log line and the read that
//! found it does not return until the connection has been closed gracefully, the same way over
//! TLS as in cleartext: the error response (400 or 431, `Connection: close`) is written, the
//! stream shut down (a TLS `close_notify`, then a FIN), and what the client still sends is read
//! and discarded until it closes, so that it reads the response instead of meeting a reset.
//! Then the read fails, and nothing read in the same call is passed on; writes fail from then
//! on. The loop reads a head only once the response before it has been written whole, so
//! pipelined requests before a refused one get their responses first, in order.
//!
//! Defaults: the graceful close of a refused connection is bounded by [`LINGER`] (1 s).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::guard::{RequestGuard, Violation};
use super::reply::refusal_bytes;

/// How long a refused client's connection is closed gracefully (the response written, the
/// stream shut down and drained) before it is dropped.
const LINGER: Duration = Duration::from_secs(1);

/// Bytes read at a time while draining a refused client.
const DRAIN_SIZE: usize = 8 * 1024;

/// A guarded client connection over `S`.
#[derive(Debug)]
pub(crate) struct ClientIo<S> {
    stream: S,
    guard: RequestGuard,
    refused: Arc<OnceLock<Violation>>,
    write_limit: Duration,
    write_stall: Option<Pin<Box<Sleep>>>,
    refusal: Option<Refusal>,
}

/// A refused connection being closed gracefully.
struct Refusal {
    violation: Violation,
    response: Vec<u8>,
    written: usize,
    shut: bool,
    /// When the close gives up; set when it starts.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl std::fmt::Debug for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refusal")
            .field("violation", &self.violation)
            .field("written", &self.written)
            .field("shut", &self.shut)
            .finish()
    }
}

impl Refusal {
    fn new(violation: Violation) -> Self {
        Refusal {
            violation,
            response: refusal_bytes(violation),
            written: 0,
            shut: false,
            deadline: None,
        }
    }

    /// The error of the read that found the violation.
    fn error(&self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self.violation.reason())
    }

    /// Writes the response, shuts `stream` down and drains it; `Ready` once that is done,
    /// has failed or has taken [`LINGER`].
    fn poll_close<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut S,
    ) -> Poll<()> {
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(LINGER)));
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        while self.written < self.response.len() {
            let unwritten = &self.response[self.written..];
            match ready!(Pin::new(&mut *stream).poll_write(cx, unwritten)) {
                Ok(written @ 1..) => self.written += written,
                Ok(0) | Err(_) => return Poll::Ready(()),
            }
        }
        if !self.shut {
            if ready!(Pin::new(&mut *stream).poll_shutdown(cx)).is_err() {
                return Poll::Ready(());
            }
            self.shut = true;
        }
        let mut drained = [0; DRAIN_SIZE];
        loop {
            let mut sink = ReadBuf::new(&mut drained);
            match ready!(Pin::new(&mut *stream).poll_read(cx, &mut sink)) {
                Ok(()) if !sink.filled().is_empty() => {}
                Ok(()) | Err(_) => return Poll::Ready(()),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ClientIo<S> {
    /// Wraps `stream`; a refusal is recorded in `refused`; a write stalled longer than
    /// `write_limit` fails.
    pub(crate) fn new(
        stream: S,
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
            refusal: None,
        }
    }

    /// The stream, for tunnelling after an upgrade.
    /// The stream under the guard.
    pub(crate) fn get_ref(&self) -> &S {
        &self.stream
    }

    pub(crate) fn into_stream(self) -> S {
        self.stream
    }

    /// The error of a write once the connection has been refused (and closed).
    fn refused_write<T>(&self) -> Option<Poll<io::Result<T>>> {
        self.refusal.as_ref().map(|_| {
            let error = io::Error::new(io::ErrorKind::BrokenPipe, "the connection was refused");
            Poll::Ready(Err(error))
        })
    }

    /// Passes on a finished write; a pending one fails once it has stalled for the limit.
    fn stalled<T>(
        &mut self,
        written: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        if written.is_ready() {
            self.write_stall = None;
            return written;
        }
        let limit = self.write_limit;
        let stall = self
            .write_stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(stall.as_mut().poll(cx));
        Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for ClientIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_none() {
            let before = buf.filled().len();
            ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
            let Err(violation) = this.guard.feed(&buf.filled()[before..]) else {
                return Poll::Ready(Ok(()));
            };
            buf.set_filled(before);
            let _ = this.refused.set(violation);
            this.refusal = Some(Refusal::new(violation));
        }
        let Some(refusal) = &mut this.refusal else {
            unreachable!("set above");
        };
        ready!(refusal.poll_close(cx, &mut this.stream));
        Poll::Ready(Err(refusal.error()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ClientIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(refused) = this.refused_write() {
            return refused;
        }
        let written = Pin::new(&mut this.stream).poll_write(cx, bytes);
        this.stalled(written, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        slices: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(refused) = this.refused_write() {
            return refused;
        }
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, slices);
        this.stalled(written, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(refused) = this.refused_write() {
            return refused;
        }
        let flushed = Pin::new(&mut this.stream).poll_flush(cx);
        this.stalled(flushed, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
