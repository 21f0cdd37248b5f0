//! One direction of a session: moves bytes from one socket to the other, chunk by chunk,
//! until end of stream, which it passes on as a write shutdown (half-close).
//!
//! A chunk goes through a pipe with splice(2) (zero copy: the bytes never enter user space),
//! or through a small buffer when pipes are unavailable (descriptor limit) or splice is not
//! supported for these sockets, in which case the direction keeps to buffers.

use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::pipe::{SpliceFlags, splice};
use socket2::SockRef;
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::idle::IdleClock;
use super::reuse::{Pipe, recycle_buffer, take_buffer};

/// How chunks are carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transfer {
    /// splice(2) through a pipe, falling back to buffers if unsupported.
    Splice,
    /// Read into a buffer, write from it.
    Buffered,
}

/// The bytes one splice moves at most: a pipe's default capacity.
const PIPE_CHUNK: usize = 64 * 1024;

enum Chunk {
    Moved(usize),
    Spurious,
    End,
    SpliceUnsupported,
}

/// Moves bytes from `from` to `to` until `from` ends, counting them in `moved`.
pub(crate) async fn pump(
    from: &TcpStream,
    to: &TcpStream,
    mut transfer: Transfer,
    moved: &AtomicU64,
    clock: &IdleClock,
) -> io::Result<()> {
    loop {
        from.readable().await?;
        let chunk = match transfer {
            Transfer::Splice => splice_chunk(from, to, clock).await?,
            Transfer::Buffered => buffered_chunk(from, to, clock).await?,
        };
        match chunk {
            Chunk::Moved(bytes) => {
                moved.fetch_add(bytes as u64, Ordering::Relaxed);
            }
            Chunk::Spurious => {}
            Chunk::End => return shutdown_write(to),
            Chunk::SpliceUnsupported => transfer = Transfer::Buffered,
        }
    }
}

fn splice_unsupported(error: &io::Error) -> bool {
    matches!(
        rustix::io::Errno::from_io_error(error),
        Some(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP)
    )
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
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
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
        to.writable().await?;
        match to.try_io(Interest::WRITABLE, || {
            Ok(splice(&pipe.output, None, to, None, left, flags)?)
        }) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(sent) => {
                left -= sent;
                clock.touch();
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
    pipe.recycle();
    Ok(Chunk::Moved(filled))
}

async fn buffered_chunk(from: &TcpStream, to: &TcpStream, clock: &IdleClock) -> io::Result<Chunk> {
    let mut buffer = take_buffer();
    let filled = match from.try_read(&mut buffer) {
        Ok(0) => {
            recycle_buffer(buffer);
            return Ok(Chunk::End);
        }
        Ok(filled) => filled,
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
            recycle_buffer(buffer);
            return Ok(Chunk::Spurious);
        }
        Err(error) => return Err(error),
    };
    clock.touch();
    let mut sent = 0;
    while sent < filled {
        to.writable().await?;
        match to.try_write(&buffer[sent..filled]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => {
                sent += written;
                clock.touch();
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
    recycle_buffer(buffer);
    Ok(Chunk::Moved(filled))
}
