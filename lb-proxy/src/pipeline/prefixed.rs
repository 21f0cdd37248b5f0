//! A client socket with bytes already read from it put back in front, so that whatever reads
//! the connection next (the TLS handshake, the HTTP/1 loop, hyper's HTTP/2 server, a relay)
//! sees them first: what arrived with a PROXY protocol header, and what was read to tell the
//! HTTP version. Nothing is ever peeked, so no step waits for the kernel to hold more bytes.
//!
//! The prefix's buffer is freed once it has been read, so an idle connection does not keep it,
//! and reads into it fill it as they come, with no zeroing first.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::io::poll_read_buf;

/// `prefix` bytes, then whatever `inner` reads.
#[derive(Debug)]
pub(crate) struct Prefixed<S> {
    prefix: BytesMut,
    inner: S,
}

impl<S> Prefixed<S> {
    /// Reads `prefix` first, then `inner`.
    pub(crate) fn new(prefix: &[u8], inner: S) -> Self {
        Prefixed {
            prefix: BytesMut::from(prefix),
            inner,
        }
    }

    /// The bytes not read yet from the prefix.
    pub(crate) fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// Takes the prefix not read yet: reads go to the stream from now on.
    pub(crate) fn take_prefix(&mut self) -> BytesMut {
        std::mem::take(&mut self.prefix)
    }

    /// The stream under the prefix.
    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> Prefixed<S> {
    /// Reads once from the stream under the prefix, adding what came to the end of the prefix
    /// (at most `limit` bytes of prefix in all); answers how many bytes came (0 at the end of
    /// the stream).
    pub(crate) async fn read_more(&mut self, limit: usize) -> io::Result<usize> {
        let room = limit.saturating_sub(self.prefix.len());
        if room == 0 {
            return Ok(0);
        }
        self.prefix.reserve(room);
        poll_fn(|cx| poll_read_buf(Pin::new(&mut self.inner), cx, &mut self.prefix)).await
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let count = this.prefix.len().min(buf.remaining());
        buf.put_slice(&this.prefix[..count]);
        this.prefix.advance(count);
        if this.prefix.is_empty() {
            this.prefix = BytesMut::new();
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, bytes)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn the_prefix_comes_first_then_the_stream_and_is_freed_once_read() {
        let (mut near, far) = tokio::io::duplex(64);
        near.write_all(b" world").await.unwrap();
        drop(near);
        let mut stream = Prefixed::new(b"hello", far);
        let mut first = [0u8; 3];
        stream.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"hel");
        assert_eq!(stream.prefix(), b"lo");
        let mut rest = String::new();
        stream.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "lo world");
        assert_eq!(stream.prefix.capacity(), 0, "the read prefix is freed");
    }

    #[tokio::test]
    async fn read_more_appends_to_the_prefix_up_to_the_limit() {
        let (mut near, far) = tokio::io::duplex(64);
        let mut stream = Prefixed::new(b"PRI", far);
        near.write_all(b" * HTTP/2.0").await.unwrap();
        assert_eq!(stream.read_more(8).await.unwrap(), 5);
        assert_eq!(stream.prefix(), b"PRI * HT");
        assert_eq!(
            stream.read_more(8).await.unwrap(),
            0,
            "the limit is reached"
        );
        assert_eq!(&stream.take_prefix()[..], b"PRI * HT");
        assert!(stream.prefix().is_empty());
    }
}
