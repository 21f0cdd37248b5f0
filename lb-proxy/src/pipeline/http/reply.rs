//! The responses the proxy writes itself: refusals of malformed requests (400, 431), and
//! 502 (a server failed), 503 (no server usable), 504 (a server took longer than the server
//! timeout), each with a one-line text body and `Connection: close` for refusals.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Empty, Full};

use super::ProxyBody;
use super::guard::Violation;

/// The raw bytes of the response refusing a request (written by the guarded connection).
pub(crate) fn refusal_bytes(violation: Violation) -> Vec<u8> {
    let status = violation.status();
    let text = match status {
        431 => "Request Header Fields Too Large",
        _ => "Bad Request",
    };
    let body = format!("{status} {text}\n");
    format!(
        "HTTP/1.1 {status} {text}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A body with nothing in it (a request without a body is sent with this one).
pub(crate) fn empty_body() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// A response of the proxy's own with a one-line body naming the status.
pub(crate) fn status_response(status: StatusCode) -> Response<ProxyBody> {
    let body = format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    );
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
