//! Which HTTP version a cleartext client speaks: HTTP/2 with prior knowledge starts with the
//! connection preface (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`), anything else is HTTP/1.x.
//!
//! The first bytes are read into the front of the client's stream
//! ([`Prefixed`]), where the chosen server side reads them again: a read as large as a first
//! HTTP/1 read ([`FIRST_READ`]), so that a request that came whole is read in one system call.
//! A client that has sent part of the preface is read again when more arrives; the caller
//! bounds the whole wait (the request-head timeout).

use std::io;

use tokio::io::AsyncRead;

use crate::pipeline::prefixed::Prefixed;

/// The HTTP/2 connection preface (RFC 9113 section 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Bytes read at most to tell the version.
const FIRST_READ: usize = 4 * 1024;

/// What a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// HTTP/1.0 or HTTP/1.1 (or garbage, which the HTTP/1 guard refuses).
    Http1,
    /// HTTP/2 with prior knowledge.
    Http2,
    /// The client closed before sending anything.
    Closed,
}

/// Reads from `stream` until its protocol is known.
pub(crate) async fn sniff<S: AsyncRead + Unpin>(stream: &mut Prefixed<S>) -> io::Result<Protocol> {
    loop {
        let start = stream.prefix();
        let seen = start.len().min(PREFACE.len());
        if !PREFACE.starts_with(&start[..seen]) {
            return Ok(Protocol::Http1);
        }
        if seen == PREFACE.len() {
            return Ok(Protocol::Http2);
        }
        if stream.read_more(FIRST_READ).await? == 0 {
            // A client that sent part of the preface and closed is refused by the HTTP/1 guard.
            return Ok(if seen == 0 {
                Protocol::Closed
            } else {
                Protocol::Http1
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    async fn sniffed(pieces: &[&[u8]]) -> (Protocol, bytes::BytesMut) {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut stream = Prefixed::new(&[], server);
        let sniffing = tokio::spawn(async move {
            let protocol = sniff(&mut stream).await.unwrap();
            (protocol, stream.take_prefix())
        });
        for piece in pieces {
            client.write_all(piece).await.unwrap();
            tokio::task::yield_now().await;
        }
        drop(client);
        sniffing.await.unwrap()
    }

    #[tokio::test]
    async fn a_preface_in_pieces_is_http2_and_every_byte_stays_in_front() {
        let (protocol, prefix) = sniffed(&[b"PRI * HT", b"TP/2.0\r\n\r\nSM\r\n\r\n"]).await;
        assert_eq!(protocol, Protocol::Http2);
        assert_eq!(&prefix[..], PREFACE);
    }

    #[tokio::test]
    async fn anything_else_is_http1_read_whole() {
        let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let (protocol, prefix) = sniffed(&[request]).await;
        assert_eq!(protocol, Protocol::Http1);
        assert_eq!(&prefix[..], request);
    }

    #[tokio::test]
    async fn a_client_closing_at_once_is_closed() {
        assert_eq!(sniffed(&[]).await.0, Protocol::Closed);
        assert_eq!(sniffed(&[b"PRI"]).await.0, Protocol::Http1);
    }
}
