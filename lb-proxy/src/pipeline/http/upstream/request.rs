//! The head of a request as written to a server: the method, the target as given (the proxy
//! has made it origin-form), HTTP/1.1, every field in order, and the body's framing: as the
//! request's `Content-Length` says, else a length the body knows, else `chunked`.

use bytes::{BufMut, BytesMut};
use http::{header, request};
use hyper::body::Body;

use crate::pipeline::http::fields::{self, FieldLines};

/// How the request body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upload {
    /// There is no body.
    Empty,
    /// As it comes: its length is in the head.
    Raw,
    /// In chunks.
    Chunked,
}

/// Writes the head of `parts` (with the client's `lines`, if any, after its fields; whose
/// body is `body`) into `out`; answers how the body goes.
pub(crate) fn encode(
    parts: &request::Parts,
    lines: Option<&FieldLines>,
    body: &impl Body,
    out: &mut BytesMut,
) -> Upload {
    out.put_slice(parts.method.as_str().as_bytes());
    out.put_u8(b' ');
    match parts.uri.path_and_query() {
        Some(target) => out.put_slice(target.as_str().as_bytes()),
        None => out.put_u8(b'/'),
    }
    out.put_slice(b" HTTP/1.1\r\n");
    fields::write(&parts.headers, out);
    if let Some(lines) = lines {
        out.put_slice(&lines.bytes);
    }
    let declared = parts.headers.contains_key(header::CONTENT_LENGTH)
        || lines.is_some_and(|lines| lines.length.is_some());
    let upload = if body.is_end_stream() {
        Upload::Empty
    } else if declared {
        Upload::Raw
    } else if let Some(length) = body.size_hint().exact() {
        out.put_slice(b"content-length: ");
        out.put_slice(itoa::Buffer::new().format(length).as_bytes());
        out.put_slice(b"\r\n");
        Upload::Raw
    } else {
        out.put_slice(b"transfer-encoding: chunked\r\n");
        Upload::Chunked
    };
    out.put_slice(b"\r\n");
    upload
}

/// Writes the framing of one chunk of `length` bytes before its data.
pub(crate) fn chunk_start(length: usize, out: &mut BytesMut) {
    out.put_slice(format!("{length:x}\r\n").as_bytes());
}

/// The framing after a chunk's data.
pub(crate) const CHUNK_END: &[u8] = b"\r\n";
/// The last chunk, with no trailers.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::Request;
    use http_body_util::{Empty, Full};

    use crate::pipeline::http::body_decoder::UnsizedBody;

    fn head(request: Request<impl Body>) -> (String, Upload) {
        let (parts, body) = request.into_parts();
        let mut out = BytesMut::new();
        let upload = encode(&parts, None, &body, &mut out);
        (String::from_utf8(out.to_vec()).unwrap(), upload)
    }

    #[test]
    fn heads_carry_every_field_and_the_framing() {
        let get = Request::get("/a?b=c")
            .header("host", "api")
            .header("x-two", "1")
            .header("x-two", "2")
            .body(Empty::<Bytes>::new())
            .unwrap();
        assert_eq!(
            head(get),
            (
                "GET /a?b=c HTTP/1.1\r\nhost: api\r\nx-two: 1\r\nx-two: 2\r\n\r\n".into(),
                Upload::Empty
            )
        );
        let declared = Request::post("/")
            .header("content-length", "5")
            .body(Full::new(Bytes::from_static(b"hello")))
            .unwrap();
        assert_eq!(head(declared).1, Upload::Raw);
        let known = Request::put("/")
            .body(Full::new(Bytes::from_static(b"hello")))
            .unwrap();
        assert_eq!(
            head(known),
            (
                "PUT / HTTP/1.1\r\ncontent-length: 5\r\n\r\n".into(),
                Upload::Raw
            )
        );
        let streamed = Request::post("/")
            .body(UnsizedBody(Some(Bytes::from_static(b"hi"))))
            .unwrap();
        assert_eq!(
            head(streamed),
            (
                "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n".into(),
                Upload::Chunked
            )
        );
    }
}
