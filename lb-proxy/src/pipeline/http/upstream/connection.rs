//! One HTTP/1.1 connection to a server, driven by the task of the client request that uses it
//! (it has no task of its own, so a request costs no hand-off between tasks): writes the
//! request head and streams its body, reads the response head (1xx responses other than 101
//! are skipped: hyper answers the client's `Expect: 100-continue` itself), then passes to the
//! response body ([`super::ResponseBody`]), which reads the body and gives the connection back
//! to the pool at its end.
//!
//! The server timeout for the response head starts once the request has been written whole
//! (one timer per connection, moved only when it fires early: [`IdleClock`]).
//! A response that comes before (a server answering an upload early) is passed on once the
//! upload has been written whole too, so that the client's upload is not cut short, or once
//! the server stops taking it or the server timeout has passed; in those two cases the
//! connection is not reused. A request whose head could not be written at all (the
//! server had closed the kept-alive connection) is handed back to be sent elsewhere, and so is
//! an idempotent request without a body (RFC 9110 section 9.2.2: GET, HEAD, OPTIONS, TRACE,
//! PUT, DELETE) whose connection the server closed or reset without a byte of response: on a
//! kept-alive connection, the server closed it as it was being reused; on a new one, the
//! server is going away (a restart closing its listener resets what it had accepted). Such a
//! request is sent again at most as often as the VIP's `retries` allow, as nginx does by
//! default (`proxy_next_upstream error`); a request with a body, or another method, never is.
//!
//! Defaults: reads of up to 16 KiB at a time.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use http::{Method, Request};
use hyper::body::Body;
use tokio::io::AsyncWrite;
use tokio::time::Sleep;
use tokio_util::io::poll_read_buf;

use super::request::{CHUNK_END, LAST_CHUNK, Upload, chunk_start, encode};
use super::response::{self, FieldForm, FieldLines, Fields, Head, Reading};
use crate::forward::IdleClock;
use crate::pipeline::http::ProxyBody;
use crate::pipeline::http::body_decoder::BodySource;
use crate::pipeline::selection::{ByteTally, Target};
use crate::stats::Counters;
use crate::tls::ServerStream;

/// Bytes made room for before each read.
const READ_SIZE: usize = 16 * 1024;

/// Why a request got no response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Nothing was sent: the request comes back, with why, for another connection.
    NotSent(Box<Request<ProxyBody>>, String),
    /// The exchange broke after the request was (at least partly) sent.
    Broken(String),
    /// No response head within the server timeout.
    TimedOut,
}

/// A request body being written.
struct Uploading {
    body: ProxyBody,
    framing: Upload,
    ended: bool,
}

/// A connection to a server and what was read from it but not used yet.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: ServerStream,
    pub(super) read: BytesMut,
    write: BytesMut,
    fields: Fields,
    /// The server timeout for response heads: one timer for the connection's life, moved only
    /// when it fires early.
    clock: IdleClock,
    timer: Pin<Box<Sleep>>,
    /// The bytes moved since they were last counted.
    pub(super) tally: Tally,
}

/// Bytes moved on a connection and not counted yet: counted when the connection goes back to
/// the pool or is dropped, so that a request pays no atomic operation per read or write.
#[derive(Debug)]
pub(crate) struct Tally {
    counted: ByteTally,
    sent: u64,
    received: u64,
}

impl Tally {
    /// Counts what was moved since the last time.
    pub(super) fn flush(&mut self) {
        if self.sent + self.received > 0 {
            self.counted.add(self.sent, self.received);
            (self.sent, self.received) = (0, 0);
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Connection {
    /// A connection over `stream`, just established, whose responses must start within
    /// `server_timeout` of their request, its bytes counted in `counted`.
    pub(crate) fn new(stream: ServerStream, server_timeout: Duration, counted: ByteTally) -> Self {
        let clock = IdleClock::start(server_timeout);
        let timer = Box::pin(tokio::time::sleep_until(clock.deadline()));
        Connection {
            stream,
            read: BytesMut::new(),
            write: BytesMut::new(),
            fields: Fields::new(),
            clock,
            timer,
            tally: Tally {
                counted,
                sent: 0,
                received: 0,
            },
        }
    }

    /// This kept-alive connection, its bytes counted for `target` from now on (the server
    /// at its address may have been replaced since it was last used).
    pub(crate) fn counted_for(mut self, target: &Target, counters: &Arc<Counters>) -> Self {
        if self.tally.counted.server() != target.id {
            self.tally.flush();
            self.tally.counted = target.tally(counters);
        }
        self
    }

    /// The stream, and the bytes read from it that nothing has used (an upgrade's first
    /// bytes); what the connection moved so far is counted.
    pub(crate) fn into_parts(self) -> (ServerStream, BytesMut) {
        (self.stream, self.read)
    }

    /// Whether a kept-alive connection is still open and quiet: nothing may arrive on an idle
    /// connection but the server's close (see [`ServerStream::is_quiet`]).
    pub(crate) fn is_quiet(&mut self) -> bool {
        self.stream.is_quiet()
    }

    /// Sends `request` and reads the response head within the connection's server timeout;
    /// answers the head and the connection, with whether the request was written whole (else
    /// the connection must not be reused).
    pub(crate) async fn send(
        mut self,
        request: Request<ProxyBody>,
        lines: Option<&FieldLines>,
        form: FieldForm,
    ) -> Result<(Head, Connection, bool), Failure> {
        let (parts, body) = request.into_parts();
        let reading = Reading {
            head_request: parts.method == Method::HEAD,
            form,
        };
        self.write.clear();
        let framing = encode(&parts, lines, &body, &mut self.write);
        let mut written = false;
        if let Err(error) = poll_fn(|cx| self.poll_write_out(cx, &mut written)).await {
            return Err(if written {
                Failure::Broken(error.to_string())
            } else {
                Failure::NotSent(
                    Box::new(Request::from_parts(parts, body)),
                    error.to_string(),
                )
            });
        }
        if framing == Upload::Empty {
            self.clock.touch();
            return match poll_fn(|cx| self.poll_head_within(cx, reading)).await {
                Ok(head) => Ok((head, self, true)),
                Err(Failure::Broken(error))
                    if self.read.is_empty() && parts.method.is_idempotent() =>
                {
                    Err(Failure::NotSent(
                        Box::new(Request::from_parts(parts, body)),
                        error,
                    ))
                }
                Err(failure) => Err(failure),
            };
        }
        let mut upload = Some(Uploading {
            body,
            framing,
            ended: false,
        });
        let mut whole = true;
        let mut head = None;
        let mut timing = false;
        poll_fn(|cx| {
            if let Some(uploading) = &mut upload {
                match self.poll_upload(cx, uploading) {
                    Poll::Ready(Ok(())) => upload = None,
                    Poll::Ready(Err(error)) if head.is_none() => {
                        return Poll::Ready(Err(Failure::Broken(error)));
                    }
                    Poll::Ready(Err(_)) => (upload, whole) = (None, false),
                    Poll::Pending => {}
                }
            }
            if head.is_none() {
                match self.poll_head(cx, reading) {
                    Poll::Ready(Ok(early_or_not)) => head = Some(early_or_not),
                    Poll::Ready(Err(failure)) => return Poll::Ready(Err(failure)),
                    Poll::Pending => {}
                }
            }
            if let (Some(_), None) = (&head, &upload) {
                return Poll::Ready(Ok(()));
            }
            if head.is_some() || upload.is_none() {
                if !timing {
                    self.clock.touch();
                    timing = true;
                }
                if self.clock.poll_expired(self.timer.as_mut(), cx).is_ready() {
                    if head.is_none() {
                        return Poll::Ready(Err(Failure::TimedOut));
                    }
                    (upload, whole) = (None, false);
                    return Poll::Ready(Ok(()));
                }
            }
            Poll::Pending
        })
        .await?;
        let head = head.ok_or_else(|| Failure::Broken("no response head".into()))?;
        Ok((head, self, whole))
    }

    /// Reads the response head, failing once the server timeout has passed since the request.
    fn poll_head_within(
        &mut self,
        cx: &mut Context<'_>,
        reading: Reading,
    ) -> Poll<Result<Head, Failure>> {
        if let Poll::Ready(head) = self.poll_head(cx, reading) {
            return Poll::Ready(head);
        }
        ready!(self.clock.poll_expired(self.timer.as_mut(), cx));
        Poll::Ready(Err(Failure::TimedOut))
    }

    /// Writes what is buffered, then flushes; `written` tells whether any byte went out.
    fn poll_write_out(&mut self, cx: &mut Context<'_>, written: &mut bool) -> Poll<io::Result<()>> {
        while !self.write.is_empty() {
            let count = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.write))?;
            if count == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written = true;
            self.tally.sent += count as u64;
            self.write.advance(count);
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    /// Streams the request body until it has been written whole.
    fn poll_upload(
        &mut self,
        cx: &mut Context<'_>,
        upload: &mut Uploading,
    ) -> Poll<Result<(), String>> {
        let chunked = upload.framing == Upload::Chunked;
        loop {
            ready!(self.poll_write_out(cx, &mut true)).map_err(|error| error.to_string())?;
            if upload.ended {
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut upload.body).poll_frame(cx)) {
                None => {
                    upload.ended = true;
                    if chunked {
                        self.write.put_slice(LAST_CHUNK);
                    }
                }
                Some(Err(error)) => return Poll::Ready(Err(format!("request body: {error}"))),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if data.is_empty() => {}
                    Ok(data) if chunked => {
                        chunk_start(data.len(), &mut self.write);
                        self.write.put_slice(&data);
                        self.write.put_slice(CHUNK_END);
                    }
                    Ok(data) => self.write.put_slice(&data),
                    // Trailers are not passed on.
                    Err(_) => {}
                },
            }
        }
    }

    /// Reads until a final response head (or a 101) has come.
    fn poll_head(&mut self, cx: &mut Context<'_>, reading: Reading) -> Poll<Result<Head, Failure>> {
        loop {
            if !self.read.is_empty() {
                match response::parse_final(&mut self.read, reading, &mut self.fields) {
                    Ok(Some(head)) => return Poll::Ready(Ok(head)),
                    Ok(None) => {}
                    Err(error) => return Poll::Ready(Err(Failure::Broken(error.to_string()))),
                }
            }
            let empty = self.read.is_empty();
            match ready!(self.poll_fill(cx)) {
                Ok(0) if empty => {
                    return Poll::Ready(Err(Failure::Broken(
                        "the server closed the connection without a response".into(),
                    )));
                }
                Ok(0) => {
                    return Poll::Ready(Err(Failure::Broken(
                        "the server closed the connection within the response head".into(),
                    )));
                }
                Ok(_) => {}
                Err(error) => return Poll::Ready(Err(Failure::Broken(error.to_string()))),
            }
        }
    }
}

impl BodySource for Connection {
    fn buffer(&mut self) -> &mut BytesMut {
        &mut self.read
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.read.reserve(READ_SIZE);
        let read = ready!(poll_read_buf(
            Pin::new(&mut self.stream),
            cx,
            &mut self.read
        ))?;
        self.tally.received += read as u64;
        Poll::Ready(Ok(read))
    }
}
