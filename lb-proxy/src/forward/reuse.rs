//! Per-thread caches of the pipes (splice) and buffers (fallback) that carry bytes.
//!
//! A session holds a pipe or a buffer only while a chunk is in flight, never while idle, so
//! an idle connection costs no pipe and no buffer. A pipe goes back to the cache only once
//! empty. Defaults: pipes of the kernel's default size (64 KiB), buffers of
//! [`BUFFER_SIZE`] (16 KiB), at most [`CACHED_PER_THREAD`] of each kept per worker thread.

use std::cell::RefCell;
use std::io;
use std::os::fd::OwnedFd;

use rustix::pipe::{PipeFlags, pipe_with};

/// Size of a fallback copy buffer.
pub(crate) const BUFFER_SIZE: usize = 16 * 1024;
/// Most pipes, and most buffers, kept for reuse by one thread.
pub(crate) const CACHED_PER_THREAD: usize = 64;

/// A non-blocking pipe: bytes spliced into `input` come out of `output`.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) input: OwnedFd,
    pub(crate) output: OwnedFd,
}

thread_local! {
    static PIPES: RefCell<Vec<Pipe>> = const { RefCell::new(Vec::new()) };
    static BUFFERS: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
}

impl Pipe {
    /// A cached pipe, or a new one.
    pub(crate) fn take() -> io::Result<Pipe> {
        if let Some(pipe) = PIPES.with_borrow_mut(Vec::pop) {
            return Ok(pipe);
        }
        let (output, input) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        Ok(Pipe { input, output })
    }

    /// Returns an empty pipe to this thread's cache (or closes it when the cache is full).
    pub(crate) fn recycle(self) {
        PIPES.with_borrow_mut(|pipes| {
            if pipes.len() < CACHED_PER_THREAD {
                pipes.push(self);
            }
        });
    }
}

/// A cached buffer of [`BUFFER_SIZE`] bytes, or a new one.
pub(crate) fn take_buffer() -> Box<[u8]> {
    BUFFERS
        .with_borrow_mut(Vec::pop)
        .unwrap_or_else(|| vec![0; BUFFER_SIZE].into_boxed_slice())
}

/// Returns a buffer to this thread's cache (or frees it when the cache is full).
pub(crate) fn recycle_buffer(buffer: Box<[u8]>) {
    BUFFERS.with_borrow_mut(|buffers| {
        if buffers.len() < CACHED_PER_THREAD {
            buffers.push(buffer);
        }
    });
}
