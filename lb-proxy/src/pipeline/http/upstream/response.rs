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

use bytes::{Buf, BytesMut};
use http::header::{self, HeaderValue};
use http::{StatusCode, Version, response};

pub(crate) use crate::pipeline::http::body_decoder::Framing;
use crate::pipeline::http::field_value::{decimal, trim};
use crate::pipeline::http::fields;
pub(crate) use crate::pipeline::http::fields::{FieldLines, Fields};
use crate::pipeline::http::headers::{ConnectionOptions, is_hop_by_hop};

/// Longest response head, in bytes.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Most fields in a response head.
pub(crate) const MAX_FIELDS: usize = 100;

/// How the fields a response head passes on are handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldForm {
    /// As the response's `headers`: for rules and cookies to change, or an HTTP/2 client.
    Map,
    /// As the bytes of their lines ([`FieldLines`]), for an HTTP/1.1 client when nothing
    /// changes them: no map is made.
    Lines,
}

/// What reading a response head depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reading {
    /// The request was HEAD: the response has no body.
    pub(crate) head_request: bool,
    /// How the fields passed on are handed over.
    pub(crate) form: FieldForm,
}

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
    /// The fields passed on as the server's lines, when read in [`FieldForm::Lines`] (the
    /// `headers` of `parts` then hold only `Connection: upgrade` after a 101).
    pub(crate) lines: Option<FieldLines>,
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
struct Scan<'h> {
    /// `Transfer-Encoding` is present; whether its last coding is `chunked`.
    transfer_encoding: Option<bool>,
    /// The `Content-Length`, if any.
    length: Option<u64>,
    /// `Content-Length` values that are not one number.
    bad_length: bool,
    /// What `Connection` says.
    connection: ConnectionOptions<'h>,
}

impl<'h> Scan<'h> {
    /// Takes in one field.
    fn field(&mut self, name: &[u8], value: &'h [u8]) {
        let is = |wanted: &[u8]| name.eq_ignore_ascii_case(wanted);
        if is(b"connection") {
            self.connection.read(value);
        } else if is(b"transfer-encoding") {
            let last = value.rsplit(|&byte| byte == b',').next().map(trim);
            self.transfer_encoding = Some(last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")));
        } else if is(b"content-length") {
            for item in value.split(|&byte| byte == b',').map(trim) {
                match decimal(item) {
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
    fn passes(&self, name: &[u8], switching: bool) -> bool {
        if is_hop_by_hop(name) {
            return switching && name.eq_ignore_ascii_case(b"upgrade");
        }
        let overridden =
            self.transfer_encoding.is_some() && name.eq_ignore_ascii_case(b"content-length");
        !overridden && !self.connection.names(name)
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
}

/// Parses the head at the start of `buffer`, removing its bytes: `Ok(None)` while it is not
/// whole yet; `noted` is room to work in. Hop-by-hop fields are left out (RFC 9110 section
/// 7.6.1; after a 101 the upgrade is kept, with `Connection: upgrade`).
pub(crate) fn parse(
    buffer: &mut BytesMut,
    reading: Reading,
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
    for field in response.headers.iter() {
        scan.field(field.name.as_bytes(), field.value);
    }
    let framing = scan.framing(status, reading.head_request)?;
    let switching = status == StatusCode::SWITCHING_PROTOCOLS;
    // After a 101 the connection speaks another protocol.
    let keep_alive =
        framing != Framing::UntilClose && !switching && scan.connection.persistent(version);
    let (mut parts, ()) = http::Response::new(()).into_parts();
    let passes = |name: &[u8]| scan.passes(name, switching);
    let lines = match reading.form {
        FieldForm::Lines => {
            let head = &buffer[..length];
            let lines =
                FieldLines::copy(response.headers, head, passes, scan.length, b"", Vec::new());
            buffer.advance(length);
            Some(lines)
        }
        FieldForm::Map => {
            let base = buffer.as_ptr() as usize;
            fields::note(response.headers, base, noted, passes).map_err(HeadError::Malformed)?;
            let head = buffer.split_to(length).freeze();
            parts.headers = fields::header_map(&head, noted, 1).map_err(HeadError::Malformed)?;
            None
        }
    };
    if switching {
        let upgrade = HeaderValue::from_static("upgrade");
        parts.headers.insert(header::CONNECTION, upgrade);
    }
    parts.status = status;
    parts.version = version;
    Ok(Some(Head {
        parts,
        framing,
        keep_alive,
        lines,
    }))
}

/// Like [`parse`], but skipping interim (1xx) heads other than 101: the final head, once it
/// is whole.
pub(crate) fn parse_final(
    buffer: &mut BytesMut,
    reading: Reading,
    noted: &mut Fields,
) -> Result<Option<Head>, HeadError> {
    loop {
        match parse(buffer, reading, noted)? {
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
    let reading = Reading {
        head_request,
        form: FieldForm::Map,
    };
    Ok(parse(&mut buffer, reading, &mut Fields::new())?.map(|head| (head, buffer.freeze())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Fields as (lower-case name, value) pairs.
    type Pairs = Vec<(String, String)>;

    /// The passed fields of `text` in each form, as sorted pairs; checks what the lines say
    /// about `Date`, `Content-Length`, framing and keep-alive against what the map says.
    fn both_forms(text: &[u8]) -> Option<(Pairs, Pairs)> {
        let read = |form| {
            let mut buffer = BytesMut::from(text);
            let reading = Reading {
                head_request: false,
                form,
            };
            parse(&mut buffer, reading, &mut Fields::new())
                .ok()
                .flatten()
        };
        let (map, lines) = (read(FieldForm::Map)?, read(FieldForm::Lines)?);
        let mut from_map: Pairs = map
            .parts
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        let kept = lines.lines.as_ref().unwrap();
        let mut from_lines: Vec<(String, String)> =
            std::str::from_utf8(&kept.bytes)
                .unwrap()
                .split_terminator("\r\n")
                .map(|line| {
                    let (name, value) = line.split_once(':').unwrap();
                    let value = value.trim_matches([' ', '\t']);
                    (name.to_ascii_lowercase(), value.to_owned())
                })
                .chain(
                    lines.parts.headers.iter().map(|(name, value)| {
                        (name.to_string(), value.to_str().unwrap().to_owned())
                    }),
                )
                .collect();
        let map_length = map
            .parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| decimal(value.as_bytes()));
        assert_eq!(kept.length, map_length);
        assert_eq!(kept.date, map.parts.headers.contains_key(header::DATE));
        assert_eq!(
            (lines.framing, lines.keep_alive),
            (map.framing, map.keep_alive)
        );
        from_map.sort();
        from_lines.sort();
        Some((from_map, from_lines))
    }

    /// Field lines that decide what is passed on.
    const FIELDS: [&str; 17] = [
        "Connection: Date, Content-Length",
        "X-Empty:",
        "X-Blank: \t ",
        "X-Padded:\t a b  ",
        "x-secret:1",
        "Connection: keep-alive, X-Secret",
        "Connection: close",
        "X-Secret: 1",
        "Keep-Alive: timeout=5",
        "Upgrade: websocket",
        "Transfer-Encoding: chunked",
        "Content-Length: 3",
        "Date: Thu, 26 Nov 2026 01:00:00 GMT",
        "Server: nginx",
        "X-Kept: a",
        "X-Kept: b",
        "SET-COOKIE: s=1",
    ];

    proptest! {
        #[test]
        fn both_forms_pass_the_same_fields(
            status in prop::sample::select(vec!["101 Switching Protocols", "200 OK", "304 Not Modified"]),
            fields in prop::collection::vec(0..FIELDS.len(), 0..8),
        ) {
            let lines: String = fields.iter().map(|&i| format!("{}\r\n", FIELDS[i])).collect();
            let text = format!("HTTP/1.1 {status}\r\n{lines}\r\n");
            if let Some((map, lines)) = both_forms(text.as_bytes()) {
                prop_assert_eq!(map, lines);
            }
        }
    }

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
