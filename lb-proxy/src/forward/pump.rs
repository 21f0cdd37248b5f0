//! One direction of a session: moves bytes from one socket to the other, chunk by chunk,
//! until end of stream, which it passes on as a write shutdown (half-close).
//!
//! A [`Pump`] is polled by the session's single future (see [`super::forward`]); it waits on
//! socket readiness through Tokio's poll interface, which keeps one waker per socket and
//! direction rather than a future per wait.
//!
//! A direction starts by reading into a small pooled buffer and writing from it: for the
//! small messages of request/response traffic that is two system calls per message, the
//! fewest possible. A read shorter than the buffer means the socket is drained, so the
//! direction waits for the next readiness event without a read that would only fail with
//! `EAGAIN`. A read that fills the buffer means the peer streams: with [`Transfer::Splice`]
//! the direction then moves chunks with splice(2) through a pipe (zero copy: the bytes never
//! enter user space) for as long as each splice moves at least a buffer's worth, and goes back
//! to the buffer after a smaller one. Where splice is not supported for these sockets, or no
//! pipe can be had (descriptor limit), the direction keeps to buffers. A buffer or pipe is
//! held only while its chunk is being written.

use std::io;
use std::net::Shutdown;
use std::task::{Context, Poll, ready};

use rustix::net::{RecvFlags, recv};
use rustix::pipe::{SpliceFlags, splice};
use socket2::SockRef;
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::reuse::{BUFFER_SIZE, Pipe, recycle_buffer, take_buffer};

/// How chunks are carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transfer {
    /// Small chunks through a buffer, streams by splice(2) (see the module doc).
    Splice,
    /// Always read into a buffer and write from it.
    Buffered,
}

/// The bytes one splice moves at most: a pipe's default capacity.
const PIPE_CHUNK: usize = 64 * 1024;

/// Where a direction stands.
enum Step {
    /// Waiting for bytes to read.
    Reading,
    /// Writing `buffer[sent..filled]`.
    Writing {
        buffer: Box<[u8]>,
        sent: usize,
        filled: usize,
    },
    /// Splicing the `left` bytes held in `pipe` out to the destination.
    Draining { pipe: Pipe, left: usize },
    /// End of stream passed on.
    Ended,
}

/// One direction of a session, from `from` to `to`.
pub(crate) struct Pump<'a> {
    from: &'a TcpStream,
    to: &'a TcpStream,
    step: Step,
    /// Becomes [`Transfer::Buffered`] where splice is not supported.
    transfer: Transfer,
    splicing: bool,
    moved: u64,
    progressed: bool,
}

impl<'a> Pump<'a> {
    /// A direction that has not moved anything yet.
    pub(crate) fn new(from: &'a TcpStream, to: &'a TcpStream, transfer: Transfer) -> Self {
        Pump {
            from,
            to,
            step: Step::Reading,
            transfer,
            splicing: false,
            moved: 0,
            progressed: false,
        }
    }

    /// Bytes read from `from` so far.
    pub(crate) fn moved(&self) -> u64 {
        self.moved
    }

    /// Whether end of stream has been passed on.
    pub(crate) fn ended(&self) -> bool {
        matches!(self.step, Step::Ended)
    }

    /// Whether a byte moved since the last call.
    pub(crate) fn take_progress(&mut self) -> bool {
        std::mem::take(&mut self.progressed)
    }

    /// Moves what can be moved now: ready once end of stream has been passed on, pending
    /// while waiting for either socket (the task is woken when it is ready).
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let written = match &self.step {
                Step::Ended => return Poll::Ready(Ok(())),
                Step::Reading => {
                    ready!(self.from.poll_read_ready(cx))?;
                    self.step = if self.splicing {
                        self.splice_in()?
                    } else {
                        self.read()?
                    };
                    continue;
                }
                Step::Writing {
                    buffer,
                    sent,
                    filled,
                } => self.to.try_write(&buffer[*sent..*filled]),
                Step::Draining { pipe, left } => {
                    let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
                    self.to.try_io(Interest::WRITABLE, || {
                        Ok(splice(&pipe.output, None, self.to, None, *left, flags)?)
                    })
                }
            };
            match written {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(written) => self.wrote(written),
                Err(error) if would_block(&error) => ready!(self.to.poll_write_ready(cx))?,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    /// Accounts for `written` bytes of the chunk in flight; back to reading once it is out.
    fn wrote(&mut self, written: usize) {
        self.progressed = true;
        let out = match &mut self.step {
            Step::Writing { sent, filled, .. } => {
                *sent += written;
                *sent == *filled
            }
            Step::Draining { left, .. } => {
                *left -= written;
                *left == 0
            }
            Step::Reading | Step::Ended => false,
        };
        if out {
            match std::mem::replace(&mut self.step, Step::Reading) {
                Step::Writing { buffer, .. } => recycle_buffer(buffer),
                Step::Draining { pipe, .. } => pipe.recycle(),
                Step::Reading | Step::Ended => {}
            }
        }
    }

    /// Reads a chunk into a buffer: the next step.
    fn read(&mut self) -> io::Result<Step> {
        let mut buffer = take_buffer();
        let mut drained = None;
        // A short read leaves the socket empty: failing the read with `WouldBlock` makes Tokio
        // forget the readiness, so the next wait needs a new event rather than a read that
        // would only return EAGAIN. Data arriving after the read raises that event
        // (edge-triggered).
        let read = self.from.try_io(Interest::READABLE, || {
            let (filled, _) = recv(self.from, &mut buffer[..], RecvFlags::empty())?;
            if filled > 0 && filled < buffer.len() {
                drained = Some(filled);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(filled)
        });
        let filled = match (read, drained) {
            (_, Some(filled)) | (Ok(filled @ 1..), None) => filled,
            (Ok(0), None) => {
                recycle_buffer(buffer);
                return self.end();
            }
            (Err(error), None) if would_block(&error) => {
                recycle_buffer(buffer);
                return Ok(Step::Reading);
            }
            (Err(error), None) => return Err(error),
        };
        self.chunk_read(filled, drained.is_none());
        Ok(Step::Writing {
            buffer,
            sent: 0,
            filled,
        })
    }

    /// Splices a chunk into a pipe: the next step.
    fn splice_in(&mut self) -> io::Result<Step> {
        let Ok(pipe) = Pipe::take() else {
            return self.read();
        };
        let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
        let spliced = self.from.try_io(Interest::READABLE, || {
            Ok(splice(
                self.from,
                None,
                &pipe.input,
                None,
                PIPE_CHUNK,
                flags,
            )?)
        });
        match spliced {
            Ok(0) => {
                pipe.recycle();
                self.end()
            }
            Ok(filled) => {
                self.chunk_read(filled, filled >= BUFFER_SIZE);
                Ok(Step::Draining { pipe, left: filled })
            }
            Err(error) if would_block(&error) => {
                pipe.recycle();
                Ok(Step::Reading)
            }
            Err(error) if splice_unsupported(&error) => {
                pipe.recycle();
                self.transfer = Transfer::Buffered;
                self.splicing = false;
                Ok(Step::Reading)
            }
            Err(error) => Err(error),
        }
    }

    fn chunk_read(&mut self, bytes: usize, streaming: bool) {
        self.moved += bytes as u64;
        self.progressed = true;
        self.splicing = self.transfer == Transfer::Splice && streaming;
    }

    /// Passes end of stream on.
    fn end(&mut self) -> io::Result<Step> {
        self.progressed = true;
        match SockRef::from(self.to).shutdown(Shutdown::Write) {
            Err(error) if error.kind() != io::ErrorKind::NotConnected => Err(error),
            _ => Ok(Step::Ended),
        }
    }
}

fn would_block(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock
}

fn splice_unsupported(error: &io::Error) -> bool {
    matches!(
        rustix::io::Errno::from_io_error(error),
        Some(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP)
    )
}
