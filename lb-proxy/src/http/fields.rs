//! The fields of an HTTP/1 head as `http` types: each name parsed once, each value a slice of
//! the head's bytes (nothing copied). The head is parsed first (httparse), its fields noted
//! with where their values lie, then the head is split off the read buffer and the map made.
//! And the other way: a map written as field lines.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

/// Noted fields: each name, and where its value lies in the head. Kept by its connection so
/// that a head allocates nothing here once the vector has grown.
pub(crate) type Fields = Vec<(HeaderName, (usize, usize))>;

/// Notes the fields httparse found in a head that starts at address `base`, showing each to
/// `each` on the way.
pub(crate) fn note(
    parsed: &[httparse::Header<'_>],
    base: usize,
    fields: &mut Fields,
    mut each: impl FnMut(&HeaderName, &[u8]),
) -> Result<(), String> {
    fields.clear();
    for field in parsed {
        let name = HeaderName::from_bytes(field.name.as_bytes()).map_err(|e| e.to_string())?;
        each(&name, field.value);
        let start = field.value.as_ptr() as usize - base;
        fields.push((name, (start, field.value.len())));
    }
    Ok(())
}

/// The map of the noted fields that `passes` keeps, their values sliced out of `head`, with
/// room for `added` more.
pub(crate) fn header_map(
    head: &Bytes,
    fields: &mut Fields,
    added: usize,
    passes: impl Fn(&HeaderName) -> bool,
) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::with_capacity(fields.len() + added);
    for (name, (start, len)) in fields.drain(..) {
        if passes(&name) {
            let value = HeaderValue::from_maybe_shared(head.slice(start..start + len))
                .map_err(|error| error.to_string())?;
            headers.append(name, value);
        }
    }
    Ok(headers)
}

/// Writes `headers` as HTTP/1 field lines into `out`.
pub(crate) fn write(headers: &HeaderMap, out: &mut BytesMut) {
    for (name, value) in headers {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
}
