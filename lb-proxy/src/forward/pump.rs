//! One direction of a session: moves bytes from one socket to the other, chunk by chunk,
//! until end of stream, which it passes on as a write shutdown (half-close).
//!
//! A direction starts by reading into a small pooled buffer and writing from it: for the
//! small messages of request/response traffic that is two system calls per message, the
//! fewest possible. A read shorter than the buffer means the socket is drained, so the
//! direction waits for the next readiness event without a read that would only fail with
//! `EAGAIN`. A read that fills the buffer means the peer streams: with [`Transfer::Splice`]
//! the direction then moves chunks with splice(2) through a pipe (zero copy: the bytes never
//! enter user space) for as long as each splice moves at least a buffer's worth, and goes back
//! to the buffer after a smaller one. Where splice is not supported for these sockets, or no
//! pipe can be had (descriptor limit), the direction keeps to buffers.

use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::net::{RecvFlags, recv};
use rustix::pipe::{SpliceFlags, splice};
use socket2::SockRef;
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::idle::IdleClock;
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

enum Chunk {
    /// Bytes moved; `streaming` when the read took all the room it had.
    Moved { bytes: usize, streaming: bool },
    Spurious,
    End,
    SpliceUnsupported,
}

/// Moves bytes from `from` to `to` until `from` ends, counting them in `moved`.
pub(crate) async fn pump(
    from: &TcpStream,
    to: &TcpStream,
    transfer: Transfer,
    moved: &AtomicU64,
    clock: &IdleClock,
) -> io::Result<()> {
    let mut may_splice = transfer == Transfer::Splice;
    let mut splicing = false;
    loop {
        from.readable().await?;
        let chunk = if splicing {
            splice_chunk(from, to, clock).await?
        } else {
            buffered_chunk(from, to, clock).await?
        };
        match chunk {
            Chunk::Moved { bytes, streaming } => {
                moved.fetch_add(bytes as u64, Ordering::Relaxed);
                splicing = may_splice && streaming;
            }
            Chunk::Spurious => {}
            Chunk::End => return shutdown_write(to),
            Chunk::SpliceUnsupported => {
                may_splice = false;
                splicing = false;
            }
        }
    }
}

fn splice_unsupported(error: &io::Error) -> bool {
    matches!(
        rustix::io::Errno::from_io_error(error),
        Some(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP)
    )
}

fn would_block(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock
}

fn shutdown_write(to: &TcpStream) -> io::Result<()> {
    match SockRef::from(to).shutdown(Shutdown::Write) {
        Err(error) if error.kind() != io::ErrorKind::NotConnected => Err(error),
        _ => Ok(()),
    }
}

async fn splice_chunk(from: &TcpStream, to: &TcpStream, clock: &IdleClock) -> io::Result<Chunk> {
    let Ok(pipe) = Pipe::take() else {
        return buffered_chunk(from, to, clock).await;
    };
    let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
    let filled = match from.try_io(Interest::READABLE, || {
        Ok(splice(from, None, &pipe.input, None, PIPE_CHUNK, flags)?)
    }) {
        Ok(0) => {
            pipe.recycle();
            return Ok(Chunk::End);
        }
        Ok(filled) => filled,
        Err(error) if would_block(&error) => {
            pipe.recycle();
            return Ok(Chunk::Spurious);
        }
        Err(error) if splice_unsupported(&error) => {
            pipe.recycle();
            return Ok(Chunk::SpliceUnsupported);
        }
        Err(error) => return Err(error),
    };
    clock.touch();
    let mut left = filled;
    while left > 0 {
        match to.try_io(Interest::WRITABLE, || {
            Ok(splice(&pipe.output, None, to, None, left, flags)?)
        }) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(sent) => {
                left -= sent;
                clock.touch();
            }
            Err(error) if would_block(&error) => to.writable().await?,
            Err(error) => return Err(error),
        }
    }
    pipe.recycle();
    Ok(Chunk::Moved {
        bytes: filled,
        streaming: filled >= BUFFER_SIZE,
    })
}

async fn buffered_chunk(from: &TcpStream, to: &TcpStream, clock: &IdleClock) -> io::Result<Chunk> {
    let mut buffer = take_buffer();
    let mut drained = None;
    // A short read leaves the socket empty: failing the read with `WouldBlock` makes Tokio
    // forget the readiness, so the next wait needs a new event rather than a read that would
    // only return EAGAIN. Data arriving after the read raises that event (edge-triggered).
    let read = from.try_io(Interest::READABLE, || {
        let (filled, _) = recv(from, &mut buffer[..], RecvFlags::empty())?;
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
            return Ok(Chunk::End);
        }
        (Err(error), None) if would_block(&error) => {
            recycle_buffer(buffer);
            return Ok(Chunk::Spurious);
        }
        (Err(error), None) => return Err(error),
    };
    clock.touch();
    let mut sent = 0;
    while sent < filled {
        match to.try_write(&buffer[sent..filled]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => {
                sent += written;
                clock.touch();
            }
            Err(error) if would_block(&error) => to.writable().await?,
            Err(error) => return Err(error),
        }
    }
    recycle_buffer(buffer);
    Ok(Chunk::Moved {
        bytes: filled,
        streaming: drained.is_none(),
    })
}
