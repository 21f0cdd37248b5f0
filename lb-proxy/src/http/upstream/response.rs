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
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{StatusCode, Version, response};

/// Longest response head, in bytes.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Most fields in a response head.
pub(crate) const MAX_FIELDS: usize = 100;

/// How the body after a head ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// There is no body.
    Empty,
    /// The body is this many bytes.
    Length(u64),
    /// The body is `chunked`.
    Chunked,
    /// The body ends when the server closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct Head {
    /// Status, version and fields (`Transfer-Encoding` and `Content-Length` as the server sent
    /// them, except that a `Content-Length` beside a `Transfer-Encoding` is dropped).
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

/// The fields of a head being parsed, each value as where it lies in the head: kept by the
/// connection so that parsing allocates nothing once it has grown.
pub(crate) type Fields = Vec<(HeaderName, (usize, usize))>;

/// Parses the head at the start of `buffer`, removing its bytes: `Ok(None)` while it is not
/// whole yet. `head_request` tells that the request was HEAD (whose response has no body);
/// `fields` is room to work in.
pub(crate) fn parse(
    buffer: &mut BytesMut,
    head_request: bool,
    fields: &mut Fields,
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
    let base = buffer.as_ptr() as usize;
    fields.clear();
    for field in response.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|error| HeadError::Malformed(error.to_string()))?;
        let start = field.value.as_ptr() as usize - base;
        fields.push((name, (start, field.value.len())));
    }
    let head = buffer.split_to(length).freeze();
    let mut headers = HeaderMap::with_capacity(fields.len());
    for (name, (start, len)) in fields.drain(..) {
        let value = HeaderValue::from_maybe_shared(head.slice(start..start + len))
            .map_err(|error| HeadError::Malformed(error.to_string()))?;
        headers.append(name, value);
    }
    let framing = framing(status, &mut headers, head_request)?;
    // After a 101 the connection speaks another protocol.
    let keep_alive = framing != Framing::UntilClose
        && status != StatusCode::SWITCHING_PROTOCOLS
        && persistent(version, &headers);
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

/// The framing of the body after a head (RFC 9112 section 6.3).
fn framing(
    status: StatusCode,
    headers: &mut HeaderMap,
    head_request: bool,
) -> Result<Framing, HeadError> {
    if head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(Framing::Empty);
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        headers.remove(header::CONTENT_LENGTH);
        let last = headers
            .get_all(header::TRANSFER_ENCODING)
            .iter()
            .next_back()
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .map(str::trim);
        return Ok(match last {
            Some(coding) if coding.eq_ignore_ascii_case("chunked") => Framing::Chunked,
            _ => Framing::UntilClose,
        });
    }
    let mut length = None;
    for value in headers.get_all(header::CONTENT_LENGTH) {
        let text = value.to_str().map_err(|_| HeadError::BadLength)?;
        for item in text.split(',') {
            let item = item.trim();
            if item.is_empty() || item.len() > 18 || !item.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HeadError::BadLength);
            }
            let parsed: u64 = item.parse().map_err(|_| HeadError::BadLength)?;
            if length.is_some_and(|known| known != parsed) {
                return Err(HeadError::BadLength);
            }
            length = Some(parsed);
        }
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

/// Whether the server keeps the connection open after this response.
fn persistent(version: Version, headers: &HeaderMap) -> bool {
    let token = |wanted: &str| {
        headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case(wanted))
    };
    if version == Version::HTTP_10 {
        token("keep-alive")
    } else {
        !token("close")
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
