//! Where lb's HTTP/1.1 client loop ([`super::serve`]) ends each request of a client's byte
//! stream, read the way the loop reads it: the head by [`super::request::parse`], then the body
//! by the framing the head gives. The guard follows the same stream with its own framing; if
//! the two disagreed on where a request ends, the guard would check one request while the loop
//! forwarded another (request smuggling). [`RequestEnds::guard_disagrees_at`] checks that the
//! guard, fed the same bytes, stands at the start of a request at every end; the
//! `http_request` fuzz target and the tests below run it.

use bytes::BytesMut;

use super::request::{self, Room};
use crate::pipeline::http::body_decoder::{BodyDecoder, Step};
use crate::pipeline::http::guard::{GuardLimits, RequestGuard};
use crate::pipeline::http::headers::is_upgrade;

/// What the proxy adds to a request whose field lines pass as the client wrote them.
const ADDED: &[u8] = b"x-forwarded-for: 192.0.2.1\r\n";

/// Where the loop ends the requests of a stream.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestEnds {
    /// The offsets just after each request's head and body, in order.
    pub ends: Vec<usize>,
    /// Whether the loop closes the connection after the last of them (no keep-alive, or an
    /// upgrade): then nothing after it is read as a request.
    pub closes: bool,
}

/// Where the loop ends each request of `stream`; with `lines`, the fields are read as a
/// client's lines that pass as they are (else into a header map). Stops at a head that the
/// `http` types refuse (the loop answers 400 and closes), after a request that ends the
/// connection, and where the stream ends within a request or its body is invalid.
pub fn request_ends(stream: &[u8], lines: bool) -> RequestEnds {
    let added = lines.then_some(ADDED);
    let mut read = BytesMut::from(stream);
    let mut room = Room::default();
    let mut ends = Vec::new();
    'requests: while let Ok(Some(head)) = request::parse(&mut read, added, &mut room) {
        let mut body = BodyDecoder::new(head.framing);
        loop {
            match body.next(&mut read) {
                Step::Data(_) => {}
                Step::End => break,
                Step::More | Step::Invalid(_) => break 'requests,
            }
        }
        ends.push(stream.len() - read.len());
        if !head.keep_alive || is_upgrade(&head.parts.headers) {
            return RequestEnds { ends, closes: true };
        }
        if let Some(sent) = head.lines {
            room.lines = sent.bytes;
        }
    }
    RequestEnds {
        ends,
        closes: false,
    }
}

impl RequestEnds {
    /// The first end at which a guard with `limits`, fed `stream` up to it, disagrees with the
    /// loop: it refuses those bytes, or stands within a request, unless it passes through after
    /// an upgrade at which the loop closes. `None` when the two agree at every end.
    pub fn guard_disagrees_at(&self, stream: &[u8], limits: GuardLimits) -> Option<usize> {
        self.ends.iter().enumerate().find_map(|(index, &end)| {
            let mut guard = RequestGuard::new(limits);
            let closes_here = self.closes && index + 1 == self.ends.len();
            let agrees = guard.feed(&stream[..end]).is_ok()
                && (guard.at_request_start() || (closes_here && guard.passes_through()));
            (!agrees).then_some(end)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loop's ends in both field modes, each checked against a guard fed up to it.
    fn agreed_ends(stream: &[u8]) -> Vec<usize> {
        let read = request_ends(stream, false);
        assert_eq!(read, request_ends(stream, true), "field modes differ");
        assert_eq!(
            read.guard_disagrees_at(stream, GuardLimits::default()),
            None,
            "the guard refuses or is within a request there"
        );
        read.ends
    }

    #[test]
    fn pipelined_bodies_end_where_the_guard_expects_the_next_head() {
        let first = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        let second = "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                      3\r\nabc\r\n0\r\nTrailer: t\r\n\r\n";
        let third = "\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n";
        let stream = [first, second, third].concat();
        assert_eq!(
            agreed_ends(stream.as_bytes()),
            [
                first.len(),
                first.len() + second.len(),
                first.len() + second.len() + third.len()
            ]
        );
    }

    #[test]
    fn a_request_that_ends_the_connection_is_the_last_read() {
        let close = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let upgrade =
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
        let next = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        for first in [close, upgrade] {
            let stream = [first, next].concat();
            assert_eq!(agreed_ends(stream.as_bytes()), [first.len()]);
        }
    }

    #[test]
    fn a_request_cut_short_has_no_end() {
        let stream = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort";
        assert!(agreed_ends(stream.as_bytes()).is_empty());
    }
}
