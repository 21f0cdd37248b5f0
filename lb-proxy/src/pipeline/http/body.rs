//! Bodies relayed from one side to the other, streamed frame by frame (backpressure holds: a
//! frame is read only when the other side has taken the previous one), never buffered whole.
//!
//! A relay fails when the next frame takes longer than its idle limit (the client timeout for
//! request bodies, the server timeout for response bodies) or when its close signal fires
//! (the server was put in maintenance, or marked down with `shutdown_sessions_on_down`).
//! What the relay holds (the count of requests open to its server) is released when the
//! relay is dropped.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use super::access::HttpAccess;
use super::{BoxError, ProxyBody};
use crate::pipeline::selection::OpenConnection;
use crate::sessions::CloseSignal;

/// The error of a body stopped by its close signal.
const CLOSED: &str = "closed by the administrator";

/// A body read from one side, to be written to the other.
pub(crate) struct Relay<B> {
    inner: B,
    idle_limit: Duration,
    stall: Option<Pin<Box<Sleep>>>,
    /// The close signal, kept as it is while frames come without waiting.
    close: Option<CloseSignal>,
    /// The close signal as a future (which costs an allocation), made the first time the body
    /// has to wait. A close sent in between is not missed: the signal remembers the
    /// generation it started under.
    closed: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    access: Option<HttpAccess>,
    _held: Option<OpenConnection>,
}

impl<B> Relay<B>
where
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<BoxError>,
{
    /// Relays `inner`, failing after `idle_limit` without a frame.
    pub(crate) fn new(inner: B, idle_limit: Duration) -> Self {
        Relay {
            inner,
            idle_limit,
            stall: None,
            close: None,
            closed: None,
            access: None,
            _held: None,
        }
    }

    /// Fails the body once `closed` fires.
    pub(crate) fn closed_by(mut self, closed: CloseSignal) -> Self {
        self.close = Some(closed);
        self
    }

    /// Counts the body's bytes into `access`, whose line is written when the body is dropped.
    pub(crate) fn logging(mut self, mut access: HttpAccess) -> Self {
        access.termination = "aborted";
        self.access = Some(access);
        self
    }

    /// Keeps `held` (the count of requests open to a server) as long as the body.
    pub(crate) fn holding(mut self, held: OpenConnection) -> Self {
        self._held = Some(held);
        self
    }

    /// The relay as the body type the proxy sends.
    pub(crate) fn boxed(self) -> ProxyBody {
        BodyExt::boxed_unsync(self)
    }

    fn ended(&mut self) {
        if let Some(access) = &mut self.access {
            access.termination = "finished";
        }
    }
}

impl<B> Body for Relay<B>
where
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(closed) = &mut this.closed {
            if closed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Err(CLOSED.into())));
            }
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.stall = None;
                match frame {
                    None => {
                        this.ended();
                        Poll::Ready(None)
                    }
                    Some(frame) => {
                        if let (Some(access), Ok(frame)) = (&mut this.access, &frame) {
                            let length = frame.data_ref().map_or(0, Bytes::len);
                            access.bytes_out += length as u64;
                        }
                        if this.inner.is_end_stream() {
                            this.ended();
                        }
                        Poll::Ready(Some(frame.map_err(Into::into)))
                    }
                }
            }
            Poll::Pending => {
                if let Some(mut signal) = this.close.take() {
                    let mut closed = Box::pin(async move { signal.closed().await });
                    if closed.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Some(Err(CLOSED.into())));
                    }
                    this.closed = Some(closed);
                }
                let limit = this.idle_limit;
                let stall = this
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match stall.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err("body idle timeout".into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
