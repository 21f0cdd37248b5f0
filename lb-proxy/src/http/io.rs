//! The client side of an HTTP connection as hyper sees it: every byte read passes the
//! [`RequestGuard`] first, and writes that stall longer than the client timeout fail.
//!
//! The stream under it is a cleartext socket ([`SharedSocket`], shared so that tunnels can
//! splice it) or a TLS session. On a refusal the violation is kept for the caller's log line
//! and the read that found it does not return until the connection has been closed
//! gracefully, the same way over TLS as in cleartext. First the requests received before the
//! refused one (pipelined) are answered: the refusal waits until none is open and hyper has
//! flushed their responses whole, so that the client reads every response in order. Then the
//! error response (400 or 431, `Connection: close`) is written, the stream shut down (a TLS
//! `close_notify`, then a FIN), and what the client still sends is read and discarded until it
//! closes, so that it reads the response instead of meeting a reset. Then the read fails, so
//! hyper drops the connection without dispatching anything read in the same call. Hyper's own
//! writes wait during the close.
//!
//! Defaults: the graceful close of a refused connection is bounded by [`LINGER`] (1 s); the
//! requests before it are bounded by their own timeouts.

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use super::guard::{RequestGuard, Violation};
use super::open_requests::OpenRequests;
use super::reply::refusal_bytes;

/// How long a refused client's connection is closed gracefully (the response written, the
/// stream shut down and drained) before it is dropped.
const LINGER: Duration = Duration::from_secs(1);

thread_local! {
    /// Where client bytes land before the guard has seen them: hyper's buffer only ever gets
    /// checked bytes, and is never zeroed first.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_SIZE].into_boxed_slice());
}

/// Most bytes read from a client at once.
const SCRATCH_SIZE: usize = 16 * 1024;

/// A guarded client connection over `S`.
#[derive(Debug)]
pub(crate) struct ClientIo<S> {
    stream: S,
    guard: RequestGuard,
    refused: Arc<OnceLock<Violation>>,
    open_requests: Arc<OpenRequests>,
    write_limit: Duration,
    write_stall: Option<Pin<Box<Sleep>>>,
    /// Whether hyper has flushed everything it wrote (its buffer is empty).
    flushed: bool,
    refusal: Option<Refusal>,
}

/// What a refused connection waits for before it is closed.
type Earlier = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where a refused connection is on its way to the close.
enum Stage {
    /// The requests before the refused one are still open (`waited` once that was seen).
    Earlier { open: Earlier, waited: bool },
    /// None is open, but the last response may still sit in hyper's buffer (it surely does
    /// when the refusal had to wait for it): hyper's flush, in this task, wakes the read again.
    Flushing,
    /// Hyper may no longer write: the refusal is being written and the stream closed.
    Closing,
}

/// A refused connection being closed gracefully.
struct Refusal {
    violation: Violation,
    stage: Stage,
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
            .field("closing", &self.closing())
            .field("written", &self.written)
            .field("shut", &self.shut)
            .finish()
    }
}

impl Refusal {
    fn new(violation: Violation, open_requests: &Arc<OpenRequests>) -> Self {
        let open_requests = Arc::clone(open_requests);
        Refusal {
            violation,
            stage: Stage::Earlier {
                open: Box::pin(async move { open_requests.none_open().await }),
                waited: false,
            },
            response: refusal_bytes(violation),
            written: 0,
            shut: false,
            deadline: None,
        }
    }

    /// Whether the close has started (hyper may no longer write).
    fn closing(&self) -> bool {
        matches!(self.stage, Stage::Closing)
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
        SCRATCH.with_borrow_mut(|scratch| {
            loop {
                let mut sink = ReadBuf::new(scratch);
                match ready!(Pin::new(&mut *stream).poll_read(cx, &mut sink)) {
                    Ok(()) if !sink.filled().is_empty() => {}
                    Ok(()) | Err(_) => return Poll::Ready(()),
                }
            }
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ClientIo<S> {
    /// Wraps `stream`; a refusal is recorded in `refused`; a write stalled longer than
    /// `write_limit` fails.
    pub(crate) fn new(
        stream: S,
        guard: RequestGuard,
        refused: Arc<OnceLock<Violation>>,
        open_requests: Arc<OpenRequests>,
        write_limit: Duration,
    ) -> Self {
        ClientIo {
            stream,
            guard,
            refused,
            open_requests,
            write_limit,
            write_stall: None,
            flushed: true,
            refusal: None,
        }
    }

    /// The stream, for tunnelling after an upgrade.
    pub(crate) fn into_stream(self) -> S {
        self.stream
    }

    /// Closes a refused connection gracefully, then fails the read.
    fn poll_refused(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(refusal) = &mut self.refusal else {
            debug_assert!(false, "closing a connection that was not refused");
            return Poll::Ready(Ok(()));
        };
        loop {
            match &mut refusal.stage {
                Stage::Earlier { open, waited } => {
                    if open.as_mut().poll(cx).is_pending() {
                        *waited = true;
                        return Poll::Pending;
                    }
                    if *waited {
                        self.flushed = false;
                    }
                    refusal.stage = Stage::Flushing;
                }
                Stage::Flushing if !self.flushed => return Poll::Pending,
                Stage::Flushing => refusal.stage = Stage::Closing,
                Stage::Closing => break,
            }
        }
        ready!(refusal.poll_close(cx, &mut self.stream));
        Poll::Ready(Err(refusal.error()))
    }

    /// Whether hyper's writes must wait: a refused connection is being closed (the read
    /// that closes it wakes the task).
    fn closing(&self) -> bool {
        self.refusal.as_ref().is_some_and(Refusal::closing)
    }

    /// Notes a flush hyper finished: its buffer is empty. A refusal waiting for it is woken.
    fn flushed(&mut self, cx: &Context<'_>) {
        self.flushed = true;
        if self.refusal.is_some() {
            cx.waker().wake_by_ref();
        }
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
            let checked = SCRATCH.with_borrow_mut(|scratch| -> Poll<io::Result<_>> {
                let room = buf.remaining().min(scratch.len());
                let mut read = ReadBuf::new(&mut scratch[..room]);
                ready!(Pin::new(&mut this.stream).poll_read(cx, &mut read))?;
                let bytes = read.filled();
                let checked = this.guard.feed(bytes);
                if checked.is_ok() {
                    buf.put_slice(bytes);
                }
                Poll::Ready(Ok(checked))
            });
            let Err(violation) = ready!(checked)? else {
                return Poll::Ready(Ok(()));
            };
            let _ = this.refused.set(violation);
            this.refusal = Some(Refusal::new(violation, &this.open_requests));
        }
        this.poll_refused(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ClientIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.closing() {
            return Poll::Pending;
        }
        this.flushed = false;
        let written = Pin::new(&mut this.stream).poll_write(cx, bytes);
        this.stalled(written, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        slices: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.closing() {
            return Poll::Pending;
        }
        this.flushed = false;
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, slices);
        this.stalled(written, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closing() {
            return Poll::Pending;
        }
        let flushed = Pin::new(&mut this.stream).poll_flush(cx);
        let flushed = this.stalled(flushed, cx);
        if let Poll::Ready(Ok(())) = flushed {
            this.flushed(cx);
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A cleartext client socket shared with the caller, which closes it gracefully after a
/// refusal and splices it in tunnels.
#[derive(Debug, Clone)]
pub(crate) struct SharedSocket(pub(crate) Arc<TcpStream>);

impl AsyncRead for SharedSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            let room = buf.remaining();
            let mut drained = None;
            let read = self.0.try_io(Interest::READABLE, || {
                let read = (&*SockRef::from(&*self.0)).read(buf.initialize_unfilled())?;
                if 0 < read && read < room {
                    // A short read drained the socket: reporting `WouldBlock` makes tokio
                    // forget the readiness, so the next read waits for epoll instead of
                    // costing a system call that fails with EAGAIN (as tokio's own
                    // `TcpStream::poll_read` does).
                    drained = Some(read);
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(read)
            });
            match (read, drained) {
                (_, Some(read)) | (Ok(read), None) => {
                    buf.advance(read);
                    return Poll::Ready(Ok(()));
                }
                (Err(error), None) if error.kind() == io::ErrorKind::WouldBlock => {}
                (Err(error), None) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl AsyncWrite for SharedSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(bytes) {
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
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write_vectored(slices) {
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
        let shut = SockRef::from(&*self.0).shutdown(std::net::Shutdown::Write);
        Poll::Ready(shut.or_else(|e| match e.kind() {
            io::ErrorKind::NotConnected => Ok(()),
            _ => Err(e),
        }))
    }
}
