//! The head of a response as written to an HTTP/1.1 client, and how its body goes: the status
//! line (always `HTTP/1.1`), the server's field lines when they pass unchanged
//! ([`FieldLines`]), the fields as the proxy made them, `Date` when the response has
//! none, and the framing: none after a HEAD request or for 1xx, 204 and 304; the response's
//! own `Content-Length`; else a length the body knows; else `chunked` for an HTTP/1.1 client
//! and until the close for an HTTP/1.0 one. The connection stays open if the client wants it,
//! the response does not say `Connection: close` and the body's end is known without a close;
//! an HTTP/1.0 client is told `Connection: keep-alive`, an HTTP/1.1 one `Connection: close`
//! when it is closed.

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, BytesMut};
use http::{StatusCode, Version, header, response};
use hyper::body::Body;

use crate::pipeline::http::body_decoder::Framing;
use crate::pipeline::http::field_value::{decimal, trim};
use crate::pipeline::http::fields::{self, FieldLines};

/// What the client asked, as far as the response is concerned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    /// The request was HEAD.
    pub(crate) head_request: bool,
    /// The request's version.
    pub(crate) version: Version,
    /// The client keeps the connection open (and its request body was read whole).
    pub(crate) keep_alive: bool,
}

/// How a response goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sending {
    /// How the body is framed (`Length` and `UntilClose` bodies are written as they come).
    pub(crate) framing: Framing,
    /// Whether the connection stays open afterwards.
    pub(crate) keep_alive: bool,
}

/// Writes the head of `parts` (with the server's `lines`, if any, before its fields; whose
/// body is `body`), answering `asked`, into `out`.
pub(crate) fn encode(
    parts: &response::Parts,
    lines: Option<&FieldLines>,
    body: &impl Body,
    asked: Asked,
    out: &mut BytesMut,
) -> Sending {
    let status = parts.status;
    out.put_slice(b"HTTP/1.1 ");
    out.put_slice(status.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    out.put_slice(b"\r\n");
    if let Some(lines) = lines {
        out.put_slice(&lines.bytes);
    }
    fields::write(&parts.headers, out);
    if !parts.headers.contains_key(header::DATE) && !lines.is_some_and(|lines| lines.date) {
        out.put_slice(b"date: ");
        with_date(|date| out.put_slice(date));
        out.put_slice(b"\r\n");
    }
    let framing = if asked.head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        Framing::Empty
    } else if let Some(length) = declared_length(parts).or(lines.and_then(|lines| lines.length)) {
        Framing::Length(length)
    } else if let Some(length) = body.size_hint().exact() {
        out.put_slice(b"content-length: ");
        out.put_slice(itoa::Buffer::new().format(length).as_bytes());
        out.put_slice(b"\r\n");
        Framing::Length(length)
    } else if asked.version == Version::HTTP_11 {
        out.put_slice(b"transfer-encoding: chunked\r\n");
        Framing::Chunked
    } else {
        Framing::UntilClose
    };
    let closing = parts
        .headers
        .get_all(header::CONNECTION)
        .iter()
        .any(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
    let keep_alive = asked.keep_alive
        && !closing
        && framing != Framing::UntilClose
        && status != StatusCode::SWITCHING_PROTOCOLS;
    if asked.version == Version::HTTP_10 && keep_alive {
        out.put_slice(b"connection: keep-alive\r\n");
    } else if asked.version == Version::HTTP_11
        && !keep_alive
        && !closing
        && status != StatusCode::SWITCHING_PROTOCOLS
    {
        out.put_slice(b"connection: close\r\n");
    }
    out.put_slice(b"\r\n");
    Sending {
        framing,
        keep_alive,
    }
}

/// The response's own `Content-Length`, when it has one valid value.
fn declared_length(parts: &response::Parts) -> Option<u64> {
    let value = parts.headers.get(header::CONTENT_LENGTH)?;
    decimal(trim(value.as_bytes()))
}

thread_local! {
    /// The `Date` value of the current second, made once a second.
    static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
}

/// Shows the current `Date` value (IMF-fixdate) to `show`.
fn with_date(show: impl FnOnce(&[u8])) {
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    DATE.with_borrow_mut(|(made, date)| {
        if *made != second {
            let text = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(second));
            if text.len() == date.len() {
                date.copy_from_slice(text.as_bytes());
                *made = second;
            }
        }
        show(&date[..]);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::Response;
    use http_body_util::{Empty, Full};

    use crate::pipeline::http::body_decoder::UnsizedBody;

    fn head(response: Response<impl Body>, asked: Asked) -> (String, Sending) {
        with_lines(response, None, asked)
    }

    fn with_lines(
        response: Response<impl Body>,
        lines: Option<&FieldLines>,
        asked: Asked,
    ) -> (String, Sending) {
        let (parts, body) = response.into_parts();
        let mut out = BytesMut::new();
        let sending = encode(&parts, lines, &body, asked, &mut out);
        (String::from_utf8(out.to_vec()).unwrap(), sending)
    }

    const KEPT_11: Asked = Asked {
        head_request: false,
        version: Version::HTTP_11,
        keep_alive: true,
    };

    #[test]
    fn framing_and_connection_follow_the_client() {
        let full = || Response::new(Full::new(Bytes::from_static(b"hello")));
        let (text, sending) = head(full(), KEPT_11);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\ndate: "), "{text}");
        assert!(text.ends_with("content-length: 5\r\n\r\n"), "{text}");
        assert_eq!(
            sending,
            Sending {
                framing: Framing::Length(5),
                keep_alive: true
            }
        );
        let unsized_body = Response::new(UnsizedBody(None));
        let (text, sending) = head(unsized_body, KEPT_11);
        assert!(
            text.ends_with("transfer-encoding: chunked\r\n\r\n"),
            "{text}"
        );
        assert_eq!(sending.framing, Framing::Chunked);
        let old = Asked {
            version: Version::HTTP_10,
            ..KEPT_11
        };
        let (text, _) = head(full(), old);
        assert!(text.ends_with("connection: keep-alive\r\n\r\n"), "{text}");
        let unsized_body = Response::new(UnsizedBody(None));
        assert_eq!(
            head(unsized_body, old).1,
            Sending {
                framing: Framing::UntilClose,
                keep_alive: false
            }
        );
        let closing = Asked {
            keep_alive: false,
            ..KEPT_11
        };
        let (text, _) = head(full(), closing);
        assert!(text.ends_with("connection: close\r\n\r\n"), "{text}");
    }

    #[test]
    fn field_lines_pass_verbatim_before_the_fields_the_proxy_adds() {
        let response = Response::builder()
            .header("set-cookie", "lb=1")
            .body(Full::new(Bytes::from_static(b"abc")))
            .unwrap();
        let lines = FieldLines {
            bytes: b"Server: x\r\nDate: Thu, 26 Nov 2026 01:00:00 GMT\r\nContent-Length: 3\r\n"
                .to_vec(),
            date: true,
            length: Some(3),
        };
        let (text, sending) = with_lines(response, Some(&lines), KEPT_11);
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nServer: x\r\nDate: Thu, 26 Nov 2026 01:00:00 GMT\r\n\
             Content-Length: 3\r\nset-cookie: lb=1\r\n\r\n"
        );
        assert_eq!(sending.framing, Framing::Length(3));
    }

    #[test]
    fn some_responses_have_no_body() {
        let with_length = Response::builder()
            .header("content-length", "42")
            .header("date", "Thu, 26 Nov 2026 01:00:00 GMT")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let asked = Asked {
            head_request: true,
            ..KEPT_11
        };
        let (text, sending) = head(with_length, asked);
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\ncontent-length: 42\r\ndate: Thu, 26 Nov 2026 01:00:00 GMT\r\n\r\n"
        );
        assert_eq!(
            sending,
            Sending {
                framing: Framing::Empty,
                keep_alive: true
            }
        );
        let not_modified = Response::builder()
            .status(304)
            .body(Empty::<Bytes>::new())
            .unwrap();
        assert_eq!(head(not_modified, KEPT_11).1.framing, Framing::Empty);
    }
}
