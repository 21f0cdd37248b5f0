//! The HTTP/1.x check: sends `METHOD path HTTP/1.1` with `Host` (the configured one, else the
//! check address), `Connection: close` and `User-Agent: lb-check`; passes when the status line,
//! read strictly as `HTTP/1.x DDD reason`, carries an expected status and, when a body
//! substring is configured, the body contains it (see [`super::http_body`]).
//!
//! Defaults (those of [`HttpCheck`]): `GET /`, statuses 200-399 up, no body match. Without a
//! body match the verdict comes with the status line. Responses to `HEAD` and 1xx, 204 and 304
//! responses have no body. Bare LF line ends are accepted. A method, path or host that would
//! break the request line (spaces, control bytes) fails every probe instead of being sent.

use std::net::SocketAddr;

use lb_core::model::{HttpCheck, StatusRange};

use super::http_body::{BodyMatch, Framing};
use super::{CheckFailure, Outcome, Probe, Step, printable, quoted};

/// One HTTP check conversation.
pub(super) struct HttpProbe {
    request: Result<Vec<u8>, CheckFailure>,
    expect: Vec<StatusRange>,
    body_contains: Option<Vec<u8>>,
    head_request: bool,
    state: State,
}

enum State {
    /// Reading the status line and headers: `head[..parsed]` are complete lines and
    /// `head[parsed..scanned]` holds no line end.
    Head {
        head: Vec<u8>,
        parsed: usize,
        scanned: usize,
        status: Option<u16>,
        headers: Framings,
    },
    Body(BodyMatch),
}

/// The framing headers seen so far.
#[derive(Default)]
struct Framings {
    content_length: Option<u64>,
    /// Whether a `Transfer-Encoding` was seen, and if its last coding is `chunked`.
    transfer_chunked: Option<bool>,
}

impl HttpProbe {
    pub(super) fn new(check: &HttpCheck, target: SocketAddr) -> Self {
        let host = check.host.clone().unwrap_or_else(|| target.to_string());
        HttpProbe {
            request: request(&check.method, &check.path, &host),
            expect: check.expect.clone(),
            body_contains: check
                .body_contains
                .as_ref()
                .map(|text| text.as_bytes().to_vec()),
            head_request: check.method.eq_ignore_ascii_case("HEAD"),
            state: State::Head {
                head: Vec::new(),
                parsed: 0,
                scanned: 0,
                status: None,
                headers: Framings::default(),
            },
        }
    }

    /// Reads complete head lines; switches to the body once the head ends.
    fn read_head(&mut self) -> Step {
        let State::Head {
            head,
            parsed,
            scanned,
            status,
            headers,
        } = &mut self.state
        else {
            return Step::NeedMore;
        };
        while let Some(at) = head[*scanned..].iter().position(|&byte| byte == b'\n') {
            let line = &head[*parsed..*scanned + at];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            *parsed = *scanned + at + 1;
            *scanned = *parsed;
            let Some(code) = *status else {
                match expected_status(&self.expect, line) {
                    Err(failure) => return Step::Done(Err(failure)),
                    Ok(_) if self.body_contains.is_none() => return Step::Done(Ok(())),
                    Ok(code) => *status = Some(code),
                }
                continue;
            };
            if !line.is_empty() {
                if let Err(failure) = headers.record(line) {
                    return Step::Done(Err(failure));
                }
                continue;
            }
            let no_body = self.head_request || matches!(code, 100..=199 | 204 | 304);
            let framing = if no_body {
                Framing::Length(0)
            } else {
                headers.framing()
            };
            let rest = head.split_off(*parsed);
            let mut body =
                BodyMatch::new(self.body_contains.as_deref().unwrap_or_default(), framing);
            let verdict = body.feed(&rest);
            self.state = State::Body(body);
            return verdict.map_or(Step::NeedMore, Step::Done);
        }
        *scanned = head.len();
        Step::NeedMore
    }
}

impl Probe for HttpProbe {
    fn start(&mut self) -> Step {
        match &self.request {
            Ok(request) => Step::Send(request.clone()),
            Err(failure) => Step::Done(Err(failure.clone())),
        }
    }

    fn on_bytes(&mut self, bytes: &[u8]) -> Step {
        match &mut self.state {
            State::Head { head, .. } => {
                head.extend_from_slice(bytes);
                self.read_head()
            }
            State::Body(body) => body.feed(bytes).map_or(Step::NeedMore, Step::Done),
        }
    }

    fn on_eof(&mut self) -> Outcome {
        match &self.state {
            State::Head {
                head, status: None, ..
            } => Err(CheckFailure(format!(
                "connection closed before a complete HTTP status line (received {})",
                quoted(head)
            ))),
            State::Head { .. } => Err(CheckFailure::new(
                "connection closed in the HTTP response headers",
            )),
            State::Body(body) => body.on_eof(),
        }
    }
}

impl Framings {
    /// Notes a header line's framing information; fails on a malformed line.
    fn record(&mut self, line: &[u8]) -> Result<(), CheckFailure> {
        let malformed = || CheckFailure(format!("malformed HTTP header line {}", quoted(line)));
        let colon = line
            .iter()
            .position(|&byte| byte == b':')
            .ok_or_else(malformed)?;
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.is_empty() || !name.iter().all(|&byte| is_visible(byte)) {
            return Err(malformed());
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let length = std::str::from_utf8(value)
                .ok()
                .filter(|digits| {
                    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
                })
                .and_then(|digits| digits.parse::<u64>().ok())
                .ok_or_else(malformed)?;
            if self.content_length.is_some_and(|known| known != length) {
                return Err(CheckFailure::new("conflicting Content-Length headers"));
            }
            self.content_length = Some(length);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value
                .rsplit(|&byte| byte == b',')
                .next()
                .unwrap_or_default();
            self.transfer_chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        }
        Ok(())
    }

    /// The body framing these headers give (RFC 9112 section 6.3).
    fn framing(&self) -> Framing {
        match (self.transfer_chunked, self.content_length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) | (None, None) => Framing::UntilEof,
            (None, Some(length)) => Framing::Length(length),
        }
    }
}

/// The request bytes, or why the configured parts cannot form a request.
fn request(method: &str, path: &str, host: &str) -> Result<Vec<u8>, CheckFailure> {
    for (part, value) in [("method", method), ("path", path), ("host", host)] {
        if value.is_empty() || !value.bytes().all(is_visible) {
            return Err(CheckFailure(format!(
                "invalid HTTP check {part} {}: empty or with spaces or control characters",
                quoted(value.as_bytes())
            )));
        }
    }
    Ok(format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: lb-check\r\n\r\n"
    )
    .into_bytes())
}

/// A visible ASCII byte: no space, no control character.
fn is_visible(byte: u8) -> bool {
    byte.is_ascii_graphic()
}

/// The status of a status line when it is one of the expected ones.
fn expected_status(expect: &[StatusRange], line: &[u8]) -> Result<u16, CheckFailure> {
    match status_line(line) {
        Some((code, _)) if expect.iter().any(|range| range.contains(code)) => Ok(code),
        Some((code, reason)) => Err(CheckFailure(format!(
            "HTTP {code} {} (expected {})",
            printable(reason),
            ranges(expect)
        ))),
        None => Err(CheckFailure(format!(
            "malformed HTTP status line {}",
            quoted(line)
        ))),
    }
}

/// The status code and reason phrase of `HTTP/1.x DDD[ reason]`.
fn status_line(line: &[u8]) -> Option<(u16, &[u8])> {
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let (&minor, rest) = rest.split_first()?;
    let rest = rest.strip_prefix(b" ").filter(|_| minor.is_ascii_digit())?;
    let (digits, reason) = rest.split_at_checked(3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let reason = if reason.is_empty() {
        reason
    } else {
        reason.strip_prefix(b" ")?
    };
    let code = digits
        .iter()
        .fold(0, |code, digit| code * 10 + u16::from(digit - b'0'));
    Some((code, reason))
}

/// Status ranges as configured: `200`, `200-499`, joined by commas.
fn ranges(expect: &[StatusRange]) -> String {
    let ranges: Vec<String> = expect
        .iter()
        .map(|range| {
            if range.low == range.high {
                range.low.to_string()
            } else {
                format!("{}-{}", range.low, range.high)
            }
        })
        .collect();
    ranges.join(", ")
}
