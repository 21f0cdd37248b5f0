//! A client socket with bytes already read from it put back in front, so that whatever reads
//! the connection next (the TLS handshake, the HTTP/1 loop, hyper's HTTP/2 server, a relay)
//! sees them first: what arrived with a PROXY protocol header, and what was read to tell the
//! HTTP version. Nothing is ever peeked, so no step waits for the kernel to hold more bytes.
//!
//! The prefix's buffer is freed once it has been read, so an idle connection does not keep it.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `prefix` bytes, then whatever `inner` reads.
#[derive(Debug)]
pub(crate) struct Prefixed<S> {
    prefix: Vec<u8>,
    taken: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    /// Reads `prefix` first, then `inner`.
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed {
            prefix,
            taken: 0,
            inner,
        }
    }

    /// The bytes not read yet from the prefix.
    pub(crate) fn prefix(&self) -> &[u8] {
        &self.prefix[self.taken..]
    }

    /// Takes the prefix not read yet: reads go to the stream from now on.
    pub(crate) fn take_prefix(&mut self) -> Vec<u8> {
        let mut prefix = std::mem::take(&mut self.prefix);
        prefix.drain(..std::mem::take(&mut self.taken));
        prefix
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
        let start = self.prefix.len();
        if start >= limit {
            return Ok(0);
        }
        self.prefix.resize(limit, 0);
        let read = poll_fn(|cx| {
            let mut buf = ReadBuf::new(&mut self.prefix[start..]);
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf))?;
            Poll::Ready(Ok::<_, io::Error>(buf.filled().len()))
        })
        .await;
        self.prefix.truncate(start + *read.as_ref().unwrap_or(&0));
        read
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let left = &this.prefix[this.taken..];
        if left.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let count = left.len().min(buf.remaining());
        buf.put_slice(&left[..count]);
        this.taken += count;
        if this.taken == this.prefix.len() {
            (this.prefix, this.taken) = (Vec::new(), 0);
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
        let mut stream = Prefixed::new(b"hello".to_vec(), far);
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
        let mut stream = Prefixed::new(b"PRI".to_vec(), far);
        near.write_all(b" * HTTP/2.0").await.unwrap();
        assert_eq!(stream.read_more(8).await.unwrap(), 5);
        assert_eq!(stream.prefix(), b"PRI * HT");
        assert_eq!(
            stream.read_more(8).await.unwrap(),
            0,
            "the limit is reached"
        );
        assert_eq!(stream.take_prefix(), b"PRI * HT");
        assert!(stream.prefix().is_empty());
    }
}
