//! Forwards a TLS-terminated session: plaintext copied both ways through a buffer per
//! direction (splice needs plain sockets on both sides).
//!
//! Same contract as [`crate::forward`]: an end of stream one way is passed on as a write
//! shutdown (a TLS `close_notify` towards the client) and leaves the other way open; the
//! session ends when both ways have ended, when either fails, after the idle limit without a
//! byte either way, or when closed from outside. Bytes a side has taken are flushed before
//! waiting for more. A client closing its socket without `close_notify` counts as an end of
//! stream, not a failure (as HAProxy treats it).
//!
//! Defaults: 16 KiB per direction (one TLS record).

use std::future::poll_fn;
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use crate::forward::{End, Outcome};
use crate::sessions::CloseSignal;

/// Bytes buffered per direction.
const BUFFER: usize = 16 * 1024;

/// Copies between `client` and `server` until the session ends (see the module doc).
pub(crate) async fn relay<C, S>(
    client: &mut C,
    server: &mut S,
    idle_limit: Duration,
    close: &mut CloseSignal,
) -> Outcome
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut up = Direction::new();
    let mut down = Direction::new();
    let mut idle = pin!(tokio::time::sleep(idle_limit));
    let mut closed = pin!(close.closed());
    let end = poll_fn(|cx| {
        let moved = up.moved + down.moved;
        for outcome in [
            up.poll(cx, &mut *client, &mut *server),
            down.poll(cx, &mut *server, &mut *client),
        ] {
            if let Poll::Ready(Err(error)) = outcome {
                return Poll::Ready(End::Failed(error));
            }
        }
        if up.finished() && down.finished() {
            return Poll::Ready(End::Finished);
        }
        if closed.as_mut().poll(cx).is_ready() {
            return Poll::Ready(End::Closed);
        }
        if up.moved + down.moved != moved {
            idle.as_mut().reset(Instant::now() + idle_limit);
        }
        idle.as_mut().poll(cx).map(|()| End::Idle)
    })
    .await;
    Outcome {
        end,
        client_to_server: up.moved,
        server_to_client: down.moved,
    }
}

/// One way of a session: bytes read from one side and not yet written to the other.
struct Direction {
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    read_ended: bool,
    shut: bool,
    moved: u64,
}

impl Direction {
    fn new() -> Self {
        Direction {
            buffer: vec![0; BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            read_ended: false,
            shut: false,
            moved: 0,
        }
    }

    fn finished(&self) -> bool {
        self.shut
    }

    /// Moves what it can; `Ready(Ok)` once the end of stream has been passed on.
    fn poll<R, W>(&mut self, cx: &mut Context<'_>, from: &mut R, to: &mut W) -> Poll<io::Result<()>>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        loop {
            if self.start < self.end {
                let bytes = &self.buffer[self.start..self.end];
                let written = ready!(Pin::new(&mut *to).poll_write(cx, bytes))?;
                if written == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.start += written;
                self.moved += written as u64;
                continue;
            }
            if self.read_ended {
                if !self.shut {
                    ready!(Pin::new(&mut *to).poll_shutdown(cx))?;
                    self.shut = true;
                }
                return Poll::Ready(Ok(()));
            }
            let mut read = ReadBuf::new(&mut self.buffer);
            match Pin::new(&mut *from).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) => {
                    let count = read.filled().len();
                    (self.start, self.end) = (0, count);
                    self.read_ended = count == 0;
                }
                // A TLS peer that closes its socket without `close_notify` (as many do) has
                // ended its stream all the same.
                Poll::Ready(Err(error)) if error.kind() == io::ErrorKind::UnexpectedEof => {
                    self.read_ended = true;
                }
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => {
                    ready!(Pin::new(&mut *to).poll_flush(cx))?;
                    return Poll::Pending;
                }
            }
        }
    }
}
