//! Which HTTP version a cleartext client speaks: HTTP/2 with prior knowledge starts with the
//! connection preface (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`), anything else is HTTP/1.x.
//!
//! The first bytes are peeked, not read, so the chosen server side reads them again. A client
//! that has sent part of the preface is looked at again every 10 ms until it has sent all of
//! it or something else; the caller bounds the whole wait (the request-head timeout).

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;

/// The HTTP/2 connection preface (RFC 9113 section 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Pause before peeking again at a client that sent part of the preface.
const RETRY: Duration = Duration::from_millis(10);

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

/// Peeks at `stream` until its protocol is known.
pub(crate) async fn sniff(stream: &TcpStream) -> io::Result<Protocol> {
    let mut start = [0u8; PREFACE.len()];
    loop {
        let seen = stream.peek(&mut start).await?;
        if seen == 0 {
            return Ok(Protocol::Closed);
        }
        if !PREFACE.starts_with(&start[..seen]) {
            return Ok(Protocol::Http1);
        }
        if seen == PREFACE.len() {
            return Ok(Protocol::Http2);
        }
        tokio::time::sleep(RETRY).await;
    }
}
