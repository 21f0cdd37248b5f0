//! HTTP/1.1 clients, served by lb's own loop over the guarded connection ([`ClientIo`]): one
//! request at a time, in order: read the head (within `timeouts.http_request`, which is also
//! how long an idle kept-alive connection waits; one timer per connection, moved only when it
//! fires early: [`IdleClock`]), hand the request to the proxy (its body, if
//! any, read from the connection as the server takes it: [`request_body`]), write the
//! response ([`response`]) and its body as the server sends it, then the next request, or the
//! close. The guard has checked every byte before the loop sees it; a head the `http` types
//! still refuse gets 400. A 101 from the server joins both connections in a tunnel.
//!
//! The connection closes after a response when the client or the response asks, when the
//! request body was not read whole, when the response body ends with the close, or when the
//! response body fails (the client sees it cut short, as the server cut it).
//!
//! Defaults: reads of up to 16 KiB (4 KiB for a connection's first).

mod request;
mod request_body;
// Public for the fuzz targets (feature `fuzzing`); the unit tests use it too.
#[cfg(any(test, feature = "fuzzing"))]
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
mod request_ends;
mod response;
mod write;

use std::future::poll_fn;
use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Method, Request};
use hyper::body::{Body, Frame};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::io::poll_read_buf;

use super::body_decoder::{BodySource, Framing};
use super::guard::Violation;
use super::io::ClientIo;
use super::proxy::{Client, ClientProtocol};
use super::reply::{empty_body, refusal_bytes};
use super::tunnel;
use super::{BoxError, ProxyBody};
use crate::forward::IdleClock;
use crate::pipeline::ClientStream;
use crate::pipeline::downstream::ClientSocket;
use request::{Head, Room};
use request_body::{Home, RequestBody};
use response::Asked;
use write::write_parts;

#[cfg(feature = "fuzzing")]
pub use request_ends::{RequestEnds, request_ends};

/// Bytes made room for before each read.
const READ_SIZE: usize = 16 * 1024;
/// Bytes made room for before a connection's first read: a head fits, and a connection that
/// carries one request does not take (and give back) a large buffer.
const FIRST_READ_SIZE: usize = 4 * 1024;

/// A client connection and what was read from it but not used yet.
pub(crate) struct Conn<S> {
    io: ClientIo<S>,
    read: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> BodySource for Conn<S> {
    fn buffer(&mut self) -> &mut BytesMut {
        &mut self.read
    }

    /// Reads more checked bytes.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let room = if self.read.capacity() == 0 {
            FIRST_READ_SIZE
        } else {
            READ_SIZE
        };
        self.read.reserve(room);
        poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read)
    }
}

/// Serves requests on `io` until the client is done, a timeout, a refusal or a failure.
pub(crate) async fn serve<S>(
    io: ClientIo<S>,
    client: &Client,
    request_timeout: Duration,
) -> Result<(), BoxError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static + Into<ClientStream> + ClientSocket,
{
    let mut conn = Conn {
        io,
        read: BytesMut::new(),
    };
    let mut room = Room::default();
    let added = client.added_request_lines();
    let mut out = BytesMut::new();
    let mut clock = IdleClock::start(request_timeout);
    let mut timer = pin!(tokio::time::sleep_until(clock.deadline()));
    loop {
        clock.touch();
        let head = poll_fn(|cx| {
            if let Poll::Ready(head) = poll_head(&mut conn, added, &mut room, cx) {
                return Poll::Ready(Some(head));
            }
            clock.poll_expired(timer.as_mut(), cx).map(|()| None)
        })
        .await;
        let head = match head {
            None | Some(Ok(None)) => return Ok(()),
            Some(Ok(Some(head))) => head,
            Some(Err(error)) => {
                if error.kind() == io::ErrorKind::InvalidInput {
                    refuse(&mut conn.io, &error).await;
                }
                return Err(error.into());
            }
        };
        let Head {
            parts,
            framing,
            keep_alive,
            expects_continue,
            lines,
        } = head;
        let mut asked = Asked {
            head_request: parts.method == Method::HEAD,
            version: parts.version,
            keep_alive,
        };
        let answer = if framing == Framing::Empty {
            client
                .handle(
                    Request::from_parts(parts, empty_body()),
                    ClientProtocol::Http1,
                    lines.as_ref(),
                )
                .await
        } else {
            let home: Home<S> = Arc::new(Mutex::new(None));
            let body = RequestBody::new(conn, framing, expects_continue, Arc::clone(&home));
            let answer = client
                .handle(
                    Request::from_parts(parts, body),
                    ClientProtocol::Http1,
                    lines.as_ref(),
                )
                .await;
            let back = home.lock().unwrap_or_else(|p| p.into_inner()).take();
            let Some((back, whole)) = back else {
                unreachable!("a request body gives its connection back when it is dropped");
            };
            conn = back;
            asked.keep_alive &= whole;
            answer
        };
        if let Some(sent) = lines {
            room.lines = sent.bytes;
        }
        client
            .counters()
            .count_response(answer.response.status().as_u16());
        let (parts, body) = answer.response.into_parts();
        out.clear();
        let sending = response::encode(&parts, answer.lines.as_ref(), &body, asked, &mut out);
        write_response(&mut conn.io, &mut out, body, sending.framing).await?;
        if let Some(server) = answer.tunnel {
            tunnel::join(conn.io.into_stream().into(), conn.read, server).await;
            return Ok(());
        }
        if !sending.keep_alive {
            conn.io.shutdown().await?;
            return Ok(());
        }
    }
}

/// Reads until a whole request head has come: `None` if the client closed first. A head the
/// `http` types refuse is an `InvalidInput` error.
fn poll_head<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    added: Option<&[u8]>,
    room: &mut Room,
    cx: &mut Context<'_>,
) -> Poll<io::Result<Option<Head>>> {
    loop {
        if !conn.read.is_empty() {
            match request::parse(&mut conn.read, added, room) {
                Ok(Some(head)) => return Poll::Ready(Ok(Some(head))),
                Ok(None) => {}
                Err(error) => {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidInput, error)));
                }
            }
        }
        let empty = conn.read.is_empty();
        match ready!(conn.poll_fill(cx))? {
            0 if empty => return Poll::Ready(Ok(None)),
            0 => return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into())),
            _ => {}
        }
    }
}

/// Answers a head that passed the guard but not the `http` types with 400, then closes.
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(io: &mut ClientIo<S>, error: &io::Error) {
    tracing::debug!(%error, "request head refused");
    let refusal = refusal_bytes(Violation::Malformed("invalid request head"));
    let _ = io.write_all(&refusal).await;
    let _ = io.shutdown().await;
}

/// Writes the head in `out`, then the body framed as `framing` says, then flushes. The first
/// frame goes out with the head when it is there at once.
async fn write_response<S: AsyncRead + AsyncWrite + Unpin + ClientSocket>(
    io: &mut ClientIo<S>,
    out: &mut BytesMut,
    mut body: ProxyBody,
    framing: Framing,
) -> Result<(), BoxError> {
    let mut next = Some(poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx))).await);
    let mut head = Some(out.split().freeze());
    let mut watching = true;
    loop {
        let frame = match next.take() {
            Some(Poll::Ready(frame)) => frame,
            Some(Poll::Pending) => {
                if let Some(head) = head.take() {
                    write_parts(io, [&head, &[], &[], &[]]).await?;
                    poll_fn(|cx| Pin::new(&mut *io).poll_flush(cx)).await?;
                }
                next_frame(&mut body, io.get_ref().socket(), &mut watching).await?
            }
            None => next_frame(&mut body, io.get_ref().socket(), &mut watching).await?,
        };
        let head = head.take().unwrap_or_default();
        let data = match frame {
            None => break finish(io, &head, framing).await,
            Some(Err(error)) => return Err(error),
            Some(Ok(frame)) => frame.into_data().unwrap_or_default(),
        };
        match framing {
            Framing::Empty => write_parts(io, [&head, &[], &[], &[]]).await?,
            Framing::Chunked if !data.is_empty() => {
                let size = format!("{:x}\r\n", data.len());
                write_parts(io, [&head, size.as_bytes(), &data, b"\r\n"]).await?;
            }
            Framing::Chunked => write_parts(io, [&head, &[], &[], &[]]).await?,
            Framing::Length(_) | Framing::UntilClose => {
                write_parts(io, [&head, &data, &[], &[]]).await?
            }
        }
    }
}

/// The response body's next frame, once the server sends it. Meanwhile the client's socket is
/// watched, without reading from it: a client that resets its connection fails the response
/// at once, so that its server connection closes rather than waiting for the server's next
/// bytes (or its timeout) to find out. A client that half-closes, or that has sent more (a
/// pipelined request, read after this response), is not watched any further for this
/// response: the next write finds out.
async fn next_frame(
    body: &mut ProxyBody,
    client: &TcpStream,
    watching: &mut bool,
) -> io::Result<Option<Result<Frame<Bytes>, BoxError>>> {
    poll_fn(|cx| {
        if let Poll::Ready(frame) = Pin::new(&mut *body).poll_frame(cx) {
            return Poll::Ready(Ok(frame));
        }
        if *watching {
            match client.poll_peek(cx, &mut ReadBuf::new(&mut [0u8; 1])) {
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Ready(Ok(_)) => *watching = false,
                Poll::Pending => {}
            }
        }
        Poll::Pending
    })
    .await
}

/// Ends a response: the head if it has not gone yet, the last chunk, the flush.
async fn finish<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut ClientIo<S>,
    head: &Bytes,
    framing: Framing,
) -> Result<(), BoxError> {
    let last: &[u8] = if framing == Framing::Chunked {
        b"0\r\n\r\n"
    } else {
        &[]
    };
    write_parts(io, [head, last, &[], &[]]).await?;
    poll_fn(|cx| Pin::new(&mut *io).poll_flush(cx)).await?;
    Ok(())
}
