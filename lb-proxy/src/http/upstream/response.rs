//! A server's response head, parsed strictly (httparse's defaults: no obs-fold, no whitespace
//! before a colon), and the framing of the body after it (RFC 9112 section 6.3): none after a
//! HEAD request or for 1xx, 204 and 304; `chunked` when it is the last transfer coding (another
//! last coding: until the server closes); else `Content-Length`, whose repeated values must
//! agree; else until the server closes. The connection can carry another request when the
//! server allows it (HTTP/1.1 without `Connection: close`, HTTP/1.0 with `keep-alive`), the
//! body's end is known without a close and the response is not a 101.
//!
//! Defaults: heads up to 64 KiB and 100 fields; a longer or malformed head is an error.

use std::mem::MaybeUninit;

use bytes::BytesMut;
use http::header::{self, HeaderName, HeaderValue};
use http::{StatusCode, Version, response};

pub(crate) use crate::http::body_decoder::Framing;
use crate::http::fields;
pub(crate) use crate::http::fields::Fields;
use crate::http::headers::is_hop_by_hop;

/// Longest response head, in bytes.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Most fields in a response head.
pub(crate) const MAX_FIELDS: usize = 100;

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct Head {
    /// Status, version and the fields to pass on: not the hop-by-hop ones, nor a
    /// `Content-Length` beside a `Transfer-Encoding`.
    pub(crate) parts: response::Parts,
    /// How the body ends.
    pub(crate) framing: Framing,
    /// Whether the connection can carry another request once the body has ended.
    pub(crate) keep_alive: bool,
}

/// Why a response head is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HeadError {
    /// Not valid HTTP/1.x.
    #[error("malformed response head: {0}")]
    Malformed(String),
    /// Longer than [`MAX_HEAD`] or with more than [`MAX_FIELDS`] fields.
    #[error("response head too large")]
    TooLarge,
    /// `Content-Length` values that are not one decimal number.
    #[error("invalid Content-Length in the response")]
    BadLength,
}

/// What the fields of a head say about the connection and the body's framing.
#[derive(Default)]
struct Scan {
    /// `Transfer-Encoding` is present; whether its last coding is `chunked`.
    transfer_encoding: Option<bool>,
    /// The `Content-Length`, if any.
    length: Option<u64>,
    /// `Content-Length` values that are not one number.
    bad_length: bool,
    /// `Connection` says `close`.
    close: bool,
    /// `Connection` says `keep-alive`.
    keep_alive: bool,
    /// Other fields `Connection` names: hop-by-hop too.
    listed: Vec<HeaderName>,
}

impl Scan {
    /// Takes in one field.
    fn field(&mut self, name: &HeaderName, value: &[u8]) {
        let text = || std::str::from_utf8(value).ok();
        if name == header::CONNECTION {
            for token in text().unwrap_or_default().split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    self.close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    self.keep_alive = true;
                } else if let Ok(listed) = HeaderName::from_bytes(token.as_bytes()) {
                    self.listed.push(listed);
                }
            }
        } else if name == header::TRANSFER_ENCODING {
            let last = text()
                .and_then(|text| text.rsplit(',').next())
                .map(str::trim);
            self.transfer_encoding = Some(last.is_some_and(|c| c.eq_ignore_ascii_case("chunked")));
        } else if name == header::CONTENT_LENGTH {
            for item in text().unwrap_or("-").split(',').map(str::trim) {
                let valid = !item.is_empty()
                    && item.len() <= 18
                    && item.bytes().all(|byte| byte.is_ascii_digit());
                match item.parse::<u64>().ok().filter(|_| valid) {
                    Some(length) if self.length.is_none_or(|known| known == length) => {
                        self.length = Some(length);
                    }
                    _ => self.bad_length = true,
                }
            }
        }
    }

    /// Whether a field is passed on: not hop-by-hop, nor a `Content-Length` that a
    /// `Transfer-Encoding` overrides. After a 101, `Upgrade` is.
    fn passes(&self, name: &HeaderName, switching: bool) -> bool {
        if is_hop_by_hop(name) {
            return switching && name == header::UPGRADE;
        }
        let overridden = self.transfer_encoding.is_some() && name == header::CONTENT_LENGTH;
        !overridden && !self.listed.contains(name)
    }

    /// The framing of the body after the head (RFC 9112 section 6.3).
    fn framing(&self, status: StatusCode, head_request: bool) -> Result<Framing, HeadError> {
        if head_request
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            return Ok(Framing::Empty);
        }
        match self.transfer_encoding {
            Some(true) => Ok(Framing::Chunked),
            Some(false) => Ok(Framing::UntilClose),
            None if self.bad_length => Err(HeadError::BadLength),
            None => Ok(self.length.map_or(Framing::UntilClose, Framing::Length)),
        }
    }

    /// Whether the server keeps the connection open after this response.
    fn persistent(&self, version: Version) -> bool {
        if version == Version::HTTP_10 {
            self.keep_alive
        } else {
            !self.close
        }
    }
}

/// Parses the head at the start of `buffer`, removing its bytes: `Ok(None)` while it is not
/// whole yet. `head_request` tells that the request was HEAD (whose response has no body);
/// `noted` is room to work in. Hop-by-hop fields are left out (RFC 9110 section 7.6.1; after
/// a 101 the upgrade is kept, with `Connection: upgrade`).
pub(crate) fn parse(
    buffer: &mut BytesMut,
    head_request: bool,
    noted: &mut Fields,
) -> Result<Option<Head>, HeadError> {
    let mut room = [const { MaybeUninit::uninit() }; MAX_FIELDS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buffer,
        &mut room,
    );
    let length = match parsed {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) if buffer.len() >= MAX_HEAD => {
            return Err(HeadError::TooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(error) => return Err(HeadError::Malformed(error.to_string())),
    };
    if length > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    let version = match response.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let status = response
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| HeadError::Malformed("invalid status code".into()))?;
    let mut scan = Scan::default();
    fields::note(
        response.headers,
        buffer.as_ptr() as usize,
        noted,
        |name, value| {
            scan.field(name, value);
        },
    )
    .map_err(HeadError::Malformed)?;
    let framing = scan.framing(status, head_request)?;
    let switching = status == StatusCode::SWITCHING_PROTOCOLS;
    let head = buffer.split_to(length).freeze();
    let mut headers = fields::header_map(&head, noted, 1, |name| scan.passes(name, switching))
        .map_err(HeadError::Malformed)?;
    if switching {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    // After a 101 the connection speaks another protocol.
    let keep_alive = framing != Framing::UntilClose && !switching && scan.persistent(version);
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = status;
    parts.version = version;
    parts.headers = headers;
    Ok(Some(Head {
        parts,
        framing,
        keep_alive,
    }))
}

/// Like [`parse`], but skipping interim (1xx) heads other than 101: the final head, once it
/// is whole.
pub(crate) fn parse_final(
    buffer: &mut BytesMut,
    head_request: bool,
    noted: &mut Fields,
) -> Result<Option<Head>, HeadError> {
    loop {
        match parse(buffer, head_request, noted)? {
            Some(head)
                if head.parts.status.is_informational()
                    && head.parts.status != StatusCode::SWITCHING_PROTOCOLS => {}
            final_or_none => return Ok(final_or_none),
        }
    }
}

/// The bytes of a head, for tests and the fuzz target: parses `bytes` as a whole.
#[cfg(test)]
fn parse_all(bytes: &[u8], head_request: bool) -> Result<Option<(Head, bytes::Bytes)>, HeadError> {
    let mut buffer = BytesMut::from(bytes);
    Ok(parse(&mut buffer, head_request, &mut Fields::new())?.map(|head| (head, buffer.freeze())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &str) -> Head {
        parse_all(bytes.as_bytes(), false).unwrap().unwrap().0
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let length = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(length.framing, Framing::Length(5));
        assert!(length.keep_alive);
        let chunked = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
        );
        assert_eq!(chunked.framing, Framing::Chunked);
        assert!(!chunked.parts.headers.contains_key(header::CONTENT_LENGTH));
        let gzip = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
        assert_eq!(gzip.framing, Framing::UntilClose);
        assert!(!gzip.keep_alive);
        let bare = head("HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(
            (bare.framing, bare.keep_alive),
            (Framing::UntilClose, false)
        );
        for status in ["204 No Content", "304 Not Modified", "100 Continue"] {
            let text = format!("HTTP/1.1 {status}\r\nContent-Length: 7\r\n\r\n");
            assert_eq!(head(&text).framing, Framing::Empty, "{status}");
        }
        let text = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n";
        let (after_head, _) = parse_all(text, true).unwrap().unwrap();
        assert_eq!(after_head.framing, Framing::Empty);
        let same = head("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(same.framing, Framing::Length(3));
    }

    #[test]
    fn hop_by_hop_fields_are_left_out() {
        let text = "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n\
                    Keep-Alive: timeout=5\r\nUpgrade: h2c\r\nX-Kept: 2\r\nContent-Length: 0\r\n\r\n";
        let plain = head(text);
        assert_eq!(
            plain.parts.headers.keys().collect::<Vec<_>>(),
            ["x-kept", "content-length"]
        );
        assert!(plain.keep_alive);
        let switched =
            head("HTTP/1.1 101 Switching\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
        assert_eq!(switched.parts.headers["upgrade"], "websocket");
        assert_eq!(switched.parts.headers["connection"], "upgrade");
    }

    #[test]
    fn keep_alive_depends_on_version_and_connection() {
        assert!(
            !head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive
        );
        assert!(!head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
        let kept = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n");
        assert!(kept.keep_alive);
        assert_eq!(kept.parts.version, Version::HTTP_10);
        let switched = head("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
        assert!(!switched.keep_alive);
    }

    #[test]
    fn the_head_is_removed_and_the_body_stays() {
        let (head, rest) = parse_all(
            b"HTTP/1.1 200 OK\r\nX-A: b\r\nContent-Length: 2\r\n\r\nhi",
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(&rest[..], b"hi");
        assert_eq!(head.parts.headers["x-a"], "b");
        assert_eq!(
            parse_all(b"HTTP/1.1 200 OK\r\nX-A:", false)
                .unwrap()
                .map(|_| ()),
            None
        );
    }

    #[test]
    fn refuses_ambiguous_or_malformed_heads() {
        for bad in [
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A : a\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/2.0 200 OK\r\n\r\n",
        ] {
            assert!(parse_all(bad.as_bytes(), false).is_err(), "{bad:?}");
        }
        let many: String = (0..=MAX_FIELDS).map(|i| format!("X-{i}: v\r\n")).collect();
        let text = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        assert_eq!(
            parse_all(text.as_bytes(), false).unwrap_err(),
            HeadError::TooLarge
        );
        let long = format!("HTTP/1.1 200 OK\r\nX-A: {}", "a".repeat(MAX_HEAD));
        assert_eq!(
            parse_all(long.as_bytes(), false).unwrap_err(),
            HeadError::TooLarge
        );
    }
}
