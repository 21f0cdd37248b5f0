//! The checks of one complete request head (CRLF line endings already verified): what makes a
//! request ambiguous between this proxy and a server, refused with 400, or too big, with 431.
//!
//! - request line: `METHOD SP target SP HTTP/1.1` (or `HTTP/1.0`), single spaces, a token
//!   method, a target of visible ASCII in origin (`/...`), absolute (`http://...`) or asterisk
//!   (`OPTIONS *`) form; `CONNECT` and the HTTP/2 preface are refused;
//! - fields: a token name directly followed by `:` (no whitespace before the colon), no
//!   obs-fold, no control character in a value;
//! - framing: at most one `Content-Length` of digits only, `Transfer-Encoding` exactly
//!   `chunked` and only in HTTP/1.1, never both;
//! - `Host`: exactly one in HTTP/1.1, at most one in HTTP/1.0, never empty;
//! - upgrades: `h2c` and `HTTP2-Settings` are refused; any other upgrade must carry no body.

use super::Violation;
use super::chunked::is_text;
use crate::pipeline::http::field_value::{decimal, elements, lists, trim};

/// How the body of a checked request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// A protocol upgrade: what follows is no longer HTTP/1.1 if the server agrees.
    Upgrade,
}

/// What the fields of a head said, counted.
#[derive(Default)]
struct Fields<'h> {
    count: usize,
    length: Option<&'h [u8]>,
    lengths: usize,
    encodings: Vec<&'h [u8]>,
    host: Option<&'h [u8]>,
    hosts: usize,
    upgrade: Option<&'h [u8]>,
    connection_upgrade: bool,
}

/// Checks `head` (request line, fields and the empty line) against at most `max_fields`.
pub(crate) fn check(head: &[u8], max_fields: usize) -> Result<Framing, Violation> {
    let bad = |reason| Err(Violation::Malformed(reason));
    let mut start = 0;
    let mut lines = memchr::memchr_iter(b'\n', head).map(|end| {
        let line = &head[start..end];
        start = end + 1;
        line.strip_suffix(b"\r").unwrap_or(line)
    });
    let http10 = request_line(lines.next().unwrap_or_default())?;
    let mut fields = Fields::default();
    for line in lines.take_while(|line| !line.is_empty()) {
        field(line, &mut fields)?;
        if fields.count > max_fields {
            return Err(Violation::TooLarge("too many header fields"));
        }
    }
    if fields.lengths > 1 {
        return bad("more than one Content-Length");
    }
    if fields.hosts > 1 || (fields.hosts == 0 && !http10) {
        return bad("missing or repeated Host");
    }
    if fields.host.is_some_and(|host| !is_host(host)) {
        return bad("invalid Host");
    }
    if fields.upgrade.is_some_and(|upgrade| lists(upgrade, b"h2c")) {
        return bad("h2c upgrade");
    }
    let length = match fields.length.map(decimal) {
        Some(None) => return bad("invalid Content-Length"),
        Some(Some(length)) => Some(length),
        None => None,
    };
    let framing = match (fields.encodings.as_slice(), length) {
        ([], None | Some(0)) => Framing::Empty,
        ([], Some(length)) => Framing::Length(length),
        ([chunked], None) if chunked.eq_ignore_ascii_case(b"chunked") && !http10 => {
            Framing::Chunked
        }
        (_, Some(_)) => return bad("Content-Length with Transfer-Encoding"),
        _ => return bad("Transfer-Encoding other than a single chunked"),
    };
    match (
        fields.upgrade.is_some() && fields.connection_upgrade,
        framing,
    ) {
        (true, Framing::Empty) => Ok(Framing::Upgrade),
        (true, _) => bad("upgrade with a body"),
        (false, framing) => Ok(framing),
    }
}

/// Checks the request line; answers whether it is HTTP/1.0.
fn request_line(line: &[u8]) -> Result<bool, Violation> {
    let bad = |reason| Err(Violation::Malformed(reason));
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bad("request line is not METHOD SP target SP version");
    };
    if method == b"PRI" {
        return bad("HTTP/2 preface on an HTTP/1.1 listener");
    }
    if !is_token(method) {
        return bad("invalid method");
    }
    if method == b"CONNECT" {
        return bad("CONNECT");
    }
    let form_ok = target.starts_with(b"/")
        || (target == b"*" && method == b"OPTIONS")
        || starts_with_ignore_case(target, b"http://")
        || starts_with_ignore_case(target, b"https://");
    if !form_ok || !all_of(target, |byte| (0x21..0x7f).contains(&byte)) {
        return bad("invalid request target");
    }
    match version {
        b"HTTP/1.1" => Ok(false),
        b"HTTP/1.0" => Ok(true),
        _ => bad("unsupported HTTP version"),
    }
}

/// Checks one field line and records what framing depends on.
fn field<'h>(line: &'h [u8], fields: &mut Fields<'h>) -> Result<(), Violation> {
    let bad = |reason| Err(Violation::Malformed(reason));
    if line.starts_with(b" ") || line.starts_with(b"\t") {
        return bad("obs-fold");
    }
    let Some(colon) = memchr::memchr(b':', line) else {
        return bad("field without a colon");
    };
    let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
    if !is_token(name) {
        return bad("invalid field name (or whitespace before the colon)");
    }
    if !all_of(value, is_text) {
        return bad("control character in a field value");
    }
    fields.count += 1;
    let is = |wanted: &[u8]| name.eq_ignore_ascii_case(wanted);
    if is(b"content-length") {
        fields.lengths += 1;
        fields.length = Some(value);
    } else if is(b"transfer-encoding") {
        fields.encodings.extend(elements(value));
        if elements(value).next().is_none() {
            return bad("empty Transfer-Encoding");
        }
    } else if is(b"host") {
        fields.hosts += 1;
        fields.host = Some(value);
    } else if is(b"upgrade") {
        fields.upgrade = Some(value);
    } else if is(b"http2-settings") {
        return bad("h2c upgrade");
    } else if is(b"connection") {
        fields.connection_upgrade |= lists(value, b"upgrade");
    }
    Ok(())
}

/// The bytes of an RFC 9110 token.
const TOKEN: [bool; 256] = alphanumerics_and(b"!#$%&'*+-.^_`|~");
/// The bytes of a `Host` value: a name, IPv4 or bracketed IPv6 literal, with a port.
const HOST: [bool; 256] = alphanumerics_and(b"-._~!$&'()*+,;=:%[]");

/// A byte set: ASCII letters and digits, and `others`.
const fn alphanumerics_and(others: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        set[byte] = (byte as u8).is_ascii_alphanumeric();
        byte += 1;
    }
    let mut at = 0;
    while at < others.len() {
        set[others[at] as usize] = true;
        at += 1;
    }
    set
}

/// Whether every byte of `bytes` is `allowed`, all looked at without an early exit so that
/// the loop is vectorised (values such as tokens run to hundreds of bytes).
fn all_of(bytes: &[u8], allowed: impl Fn(u8) -> bool) -> bool {
    bytes.iter().fold(true, |all, &byte| all & allowed(byte))
}

/// Whether `bytes` is not empty and all its bytes are in `set`.
fn all_in(bytes: &[u8], set: &[bool; 256]) -> bool {
    !bytes.is_empty() && all_of(bytes, |byte| set[usize::from(byte)])
}

/// An RFC 9110 token.
fn is_token(bytes: &[u8]) -> bool {
    all_in(bytes, &TOKEN)
}

/// A `Host` value.
fn is_host(bytes: &[u8]) -> bool {
    all_in(bytes, &HOST)
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}
