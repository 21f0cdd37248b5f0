//! The fields of an HTTP/1 head as `http` types: each name parsed once, each value a slice of
//! the head's bytes (nothing copied). The head is parsed first (httparse), the fields to keep
//! noted with where their values lie, then the head is split off the read buffer and the map
//! made. And the other way: a map, or fields as bytes, written as field lines.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

/// The fields of a head kept as the bytes of their lines when nothing is to change in them:
/// a server's response fields for an HTTP/1.1 client, an HTTP/1.1 client's request fields for
/// the server. They travel beside the message, whose `headers` then hold only the fields the
/// proxy adds.
#[derive(Debug, Clone)]
pub(crate) struct FieldLines {
    /// The field lines, each ending in CRLF. A `Vec`, not `Bytes`: it is read once, and
    /// freezing would allocate a shared header besides the buffer.
    pub(crate) bytes: Vec<u8>,
    /// Whether a `Date` field is among them.
    pub(crate) date: bool,
    /// The value of the `Content-Length` field among them, if any.
    pub(crate) length: Option<u64>,
}

impl FieldLines {
    /// The lines of the fields httparse found in `head` that `keep` takes, each as the peer
    /// wrote it (name, colon and value) and ended with CRLF, then the lines in `added`;
    /// `length` is the head's valid `Content-Length`, if any. The lines go into `into`
    /// (cleared first), so that a buffer kept from one head to the next is reused.
    pub(crate) fn copy(
        parsed: &[httparse::Header<'_>],
        head: &[u8],
        keep: impl Fn(&[u8]) -> bool,
        length: Option<u64>,
        added: &[u8],
        mut into: Vec<u8>,
    ) -> FieldLines {
        let base = head.as_ptr() as usize;
        into.clear();
        into.reserve(head.len() + added.len());
        let mut kept = FieldLines {
            bytes: into,
            date: false,
            length: None,
        };
        for field in parsed.iter().filter(|field| keep(field.name.as_bytes())) {
            let name = field.name.as_bytes();
            if name.eq_ignore_ascii_case(b"date") {
                kept.date = true;
            } else if name.eq_ignore_ascii_case(b"content-length") {
                kept.length = length;
            }
            let start = name.as_ptr() as usize - base;
            let end = field.value.as_ptr() as usize - base + field.value.len();
            kept.bytes.extend_from_slice(&head[start..end]);
            kept.bytes.extend_from_slice(b"\r\n");
        }
        kept.bytes.extend_from_slice(added);
        kept
    }
}

/// Noted fields: each name, and where its value lies in the head. Kept by its connection so
/// that a head allocates nothing here once the vector has grown.
pub(crate) type Fields = Vec<(HeaderName, (usize, usize))>;

/// Notes the fields httparse found in a head that starts at address `base`, those whose name
/// `keep` takes.
pub(crate) fn note(
    parsed: &[httparse::Header<'_>],
    base: usize,
    fields: &mut Fields,
    keep: impl Fn(&[u8]) -> bool,
) -> Result<(), String> {
    fields.clear();
    for field in parsed.iter().filter(|field| keep(field.name.as_bytes())) {
        let name = HeaderName::from_bytes(field.name.as_bytes()).map_err(|e| e.to_string())?;
        let start = field.value.as_ptr() as usize - base;
        fields.push((name, (start, field.value.len())));
    }
    Ok(())
}

/// The map of the noted fields, their values sliced out of `head`, with room for `added`
/// more.
pub(crate) fn header_map(
    head: &Bytes,
    fields: &mut Fields,
    added: usize,
) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::with_capacity(fields.len() + added);
    for (name, (start, len)) in fields.drain(..) {
        let value = HeaderValue::from_maybe_shared(head.slice(start..start + len))
            .map_err(|error| error.to_string())?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// Writes `headers` as HTTP/1 field lines into `out`.
pub(crate) fn write(headers: &HeaderMap, out: &mut BytesMut) {
    for (name, value) in headers {
        write_line(name.as_str().as_bytes(), value.as_bytes(), out);
    }
}

/// Writes one field line into `out`.
fn write_line(name: &[u8], value: &[u8], out: &mut BytesMut) {
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines `copy` makes of `head`'s fields, less `Drop`, then `added`.
    fn copied(head: &str, added: &str) -> String {
        let mut parsed = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut parsed);
        response.parse(head.as_bytes()).unwrap();
        let keep = |name: &[u8]| !name.eq_ignore_ascii_case(b"drop");
        let lines = FieldLines::copy(
            response.headers,
            head.as_bytes(),
            keep,
            None,
            added.as_bytes(),
            b"stale".to_vec(),
        );
        String::from_utf8(lines.bytes).unwrap()
    }

    #[test]
    fn lines_are_copied_as_written_less_what_is_left_out_and_trailing_blanks() {
        let head = "HTTP/1.1 200 OK\r\nA: 1\r\nB:2\r\nDrop: x\r\nC: 3 \t\r\nD: 4\r\nE: 5\r\ndrop: y\r\n\r\n";
        assert_eq!(
            copied(head, "X: lb\r\n"),
            "A: 1\r\nB:2\r\nC: 3\r\nD: 4\r\nE: 5\r\nX: lb\r\n"
        );
        assert_eq!(copied("HTTP/1.1 200 OK\r\nDrop: x\r\n\r\n", ""), "");
    }

    #[test]
    fn bare_line_feeds_become_crlf() {
        assert_eq!(
            copied("HTTP/1.1 200 OK\nA: 1\nDrop: 2\nB: 3\r\nC: 4\n\n", ""),
            "A: 1\r\nB: 3\r\nC: 4\r\n"
        );
    }
}
