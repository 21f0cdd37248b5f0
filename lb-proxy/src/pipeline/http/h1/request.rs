//! A client's request head, once the guard has let it through: method, target, version and
//! fields as an `http` request (values share the read buffer), and what the connection needs
//! to know: the body's framing, whether the client keeps the connection open, whether it
//! waits for `100 Continue`.
//!
//! The guard has already refused what is malformed or ambiguous (see [`crate::pipeline::http::guard`]);
//! what it passes and the `http` types still refuse (a target `Uri` does not take, say) is an
//! error here, answered with 400.

use std::mem::MaybeUninit;

use bytes::BytesMut;
use http::{Method, Request, Uri, Version, request};

use crate::pipeline::http::body_decoder::Framing;
use crate::pipeline::http::field_value::{decimal, trim};
use crate::pipeline::http::fields::{self, FieldLines, Fields};
use crate::pipeline::http::forwarded::is_forwarding;
use crate::pipeline::http::headers::{ConnectionOptions, is_hop_by_hop};
use lb_core::model::HeadLimits;

/// Room for the most fields a VIP may allow (the guard enforces the VIP's own limit).
const MAX_FIELDS: usize = *HeadLimits::FIELDS.end();

/// Fields the proxy adds to a request (the forwarding headers), made room for at once.
const ROOM_ADDED: usize = 4;

/// What a client connection keeps from one request head to the next, so that reading a head
/// allocates nothing here once these have grown.
#[derive(Debug, Default)]
pub(crate) struct Room {
    /// The fields noted on the way to a header map.
    pub(crate) noted: Fields,
    /// The buffer of the last request's field lines, given back once the request was sent.
    pub(crate) lines: Vec<u8>,
}

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct Head {
    /// Method, target, version and every field.
    pub(crate) parts: request::Parts,
    /// How the body ends (`Empty`, `Length` or `Chunked`).
    pub(crate) framing: Framing,
    /// Whether the client keeps the connection open after the response.
    pub(crate) keep_alive: bool,
    /// Whether the client waits for `100 Continue` before it sends the body.
    pub(crate) expects_continue: bool,
    /// The fields to pass on as the client's lines, when read that way (`parts` then holds
    /// no field): not the hop-by-hop ones, nor the client's forwarding headers; then the
    /// proxy's own.
    pub(crate) lines: Option<FieldLines>,
}

/// Parses the head at the start of `buffer`, removing its bytes: `Ok(None)` while it is not
/// whole yet. With `added` (the lines the proxy adds, when the client's lines may pass), the
/// fields of a request in origin form that asks for no upgrade are kept as the client's lines
/// followed by `added`, without a header map.
pub(crate) fn parse(
    buffer: &mut BytesMut,
    added: Option<&[u8]>,
    room: &mut Room,
) -> Result<Option<Head>, String> {
    let mut slots = [const { MaybeUninit::uninit() }; MAX_FIELDS];
    let mut request = httparse::Request::new(&mut []);
    let length = match httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut request,
        buffer,
        &mut slots,
    ) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(error.to_string()),
    };
    let method = Method::from_bytes(request.method.unwrap_or_default().as_bytes())
        .map_err(|error| error.to_string())?;
    let version = match request.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let base = buffer.as_ptr() as usize;
    let target = request.path.unwrap_or_default();
    let target_at = (target.as_ptr() as usize - base, target.len());
    let mut scan = Scan::default();
    for field in request.headers.iter() {
        scan.field(field.name.as_bytes(), field.value);
    }
    let keep_alive = scan.connection.persistent(version);
    let (framing, expects_continue) = (scan.framing, scan.expects_continue);
    let lines = added
        .filter(|_| target.starts_with('/') && !scan.upgrade)
        .map(|added| {
            let passes = |name: &[u8]| scan.passes(name);
            let head = &buffer[..length];
            let into = std::mem::take(&mut room.lines);
            FieldLines::copy(request.headers, head, passes, scan.length(), added, into)
        });
    if lines.is_none() {
        fields::note(request.headers, base, &mut room.noted, |_| true)?;
    }
    let head = buffer.split_to(length).freeze();
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.uri = Uri::from_maybe_shared(head.slice(target_at.0..target_at.0 + target_at.1))
        .map_err(|error| error.to_string())?;
    if lines.is_none() {
        parts.headers = fields::header_map(&head, &mut room.noted, ROOM_ADDED)?;
    }
    parts.method = method;
    parts.version = version;
    Ok(Some(Head {
        parts,
        framing,
        keep_alive,
        expects_continue: expects_continue && version == Version::HTTP_11,
        lines,
    }))
}

/// What the fields say about the body and the connection.
struct Scan<'h> {
    framing: Framing,
    expects_continue: bool,
    /// An `Upgrade` field is present.
    upgrade: bool,
    /// What `Connection` says.
    connection: ConnectionOptions<'h>,
}

impl Default for Scan<'_> {
    fn default() -> Self {
        Scan {
            framing: Framing::Empty,
            expects_continue: false,
            upgrade: false,
            connection: ConnectionOptions::default(),
        }
    }
}

impl<'h> Scan<'h> {
    /// Whether a field is passed on as a line: not hop-by-hop, nor a forwarding header (the
    /// proxy sets its own).
    fn passes(&self, name: &[u8]) -> bool {
        !is_hop_by_hop(name) && !is_forwarding(name) && !self.connection.names(name)
    }

    /// The body's length, when the head gives it.
    fn length(&self) -> Option<u64> {
        match self.framing {
            Framing::Length(length) => Some(length),
            _ => None,
        }
    }

    /// Takes in one field. The guard has checked the framing fields: a `Transfer-Encoding`
    /// ends in `chunked` and comes without `Content-Length`, which is one valid number.
    fn field(&mut self, name: &[u8], value: &'h [u8]) {
        let is = |wanted: &[u8]| name.eq_ignore_ascii_case(wanted);
        if is(b"transfer-encoding") {
            self.framing = Framing::Chunked;
        } else if is(b"content-length") {
            if let Some(length @ 1..) = decimal(trim(value)) {
                self.framing = Framing::Length(length);
            }
        } else if is(b"connection") {
            self.connection.read(value);
        } else if is(b"upgrade") {
            self.upgrade = true;
        } else if is(b"expect") {
            self.expects_continue |= trim(value).eq_ignore_ascii_case(b"100-continue");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        read(text, false)
    }

    fn read(text: &str, lines_allowed: bool) -> Head {
        let mut buffer = BytesMut::from(text.as_bytes());
        let added = lines_allowed.then_some(&b"x-forwarded-for: 192.0.2.9\r\n"[..]);
        parse(&mut buffer, added, &mut Room::default())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn the_lines_buffer_a_connection_keeps_is_reused_and_cleared() {
        let mut room = Room {
            lines: Vec::with_capacity(4096),
            ..Room::default()
        };
        room.lines.extend_from_slice(b"stale: 1\r\n");
        let kept_at = room.lines.as_ptr();
        let mut buffer = BytesMut::from("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let head = parse(&mut buffer, Some(b"x-added: 1\r\n"), &mut room)
            .unwrap()
            .unwrap();
        let lines = head.lines.expect("fields as lines");
        assert_eq!(lines.bytes, b"Host: x\r\nx-added: 1\r\n");
        assert_eq!(lines.bytes.as_ptr(), kept_at, "no new buffer");
    }

    #[test]
    fn fields_pass_as_lines_less_the_hop_by_hop_and_forwarding_ones_then_the_added() {
        let text = "POST /a HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\n\
                    X-Secret: 1\r\nTE: trailers\r\nX-Forwarded-For: 6.6.6.6\r\n\
                    forwarded: for=6.6.6.6\r\nX-Kept:\t b\r\nContent-Length: 5\r\n\r\n";
        let kept = read(text, true);
        let lines = kept.lines.expect("fields as lines");
        assert_eq!(
            &lines.bytes[..],
            b"Host: x\r\nX-Kept:\t b\r\nContent-Length: 5\r\nx-forwarded-for: 192.0.2.9\r\n"
        );
        assert_eq!(lines.length, Some(5));
        assert!(kept.parts.headers.is_empty());
        assert_eq!((kept.framing, kept.keep_alive), (Framing::Length(5), true));
        // Not allowed, in absolute form or asking for an upgrade: a header map.
        for (text, allowed) in [
            (text, false),
            ("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", true),
            (
                "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
                true,
            ),
        ] {
            let mapped = read(text, allowed);
            assert!(mapped.lines.is_none(), "{text:?}");
            assert!(mapped.parts.headers.contains_key("host"), "{text:?}");
        }
    }

    #[test]
    fn heads_become_requests() {
        let get = head("GET /a?b HTTP/1.1\r\nHost: x\r\nX-Two: 1\r\nX-Two: 2\r\n\r\n");
        assert_eq!(
            (get.parts.method, get.parts.uri.to_string()),
            (Method::GET, "/a?b".into())
        );
        assert_eq!(get.parts.headers.get_all("x-two").iter().count(), 2);
        assert_eq!(
            (get.framing, get.keep_alive, get.expects_continue),
            (Framing::Empty, true, false)
        );
        let absolute = head("GET http://api:5000/v3 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(absolute.parts.uri.authority().unwrap().as_str(), "api:5000");
        let post = head(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(
            (post.framing, post.keep_alive, post.expects_continue),
            (Framing::Length(5), false, true)
        );
        let chunked = head("PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(chunked.framing, Framing::Chunked);
        let old = head("GET / HTTP/1.0\r\n\r\n");
        assert_eq!(
            (old.parts.version, old.keep_alive),
            (Version::HTTP_10, false)
        );
        assert!(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn a_partial_head_waits_and_the_rest_stays() {
        let mut buffer = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: x\r\n"[..]);
        assert!(
            parse(&mut buffer, None, &mut Room::default())
                .unwrap()
                .is_none()
        );
        buffer.extend_from_slice(b"\r\nGET /next");
        assert!(
            parse(&mut buffer, None, &mut Room::default())
                .unwrap()
                .is_some()
        );
        assert_eq!(&buffer[..], b"GET /next");
    }
}
