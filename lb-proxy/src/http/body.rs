//! Bodies relayed from one side to the other, streamed frame by frame (hyper's backpressure
//! holds: a frame is read only when the other side has taken the previous one), never
//! buffered whole.
//!
//! A relay fails when the next frame takes longer than its idle limit (the client timeout for
//! request bodies, the server timeout for response bodies) or when its close signal fires
//! (the server was put in maintenance, or marked down with `shutdown_sessions_on_down`).
//! When a response body has been read to its end, its server connection goes back to the
//! keep-alive pool; what the relay holds (the count of requests open to its server) is
//! released when the relay is dropped.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::Sleep;

use super::access::HttpAccess;
use super::{BoxError, ProxyBody};

/// What runs when a body has been read to its end.
pub(crate) type OnEnd = Box<dyn FnOnce() + Send>;
/// What fires when the body must stop.
pub(crate) type Closed = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A body read from one side, to be written to the other.
pub(crate) struct Relay {
    inner: Incoming,
    idle_limit: Duration,
    stall: Option<Pin<Box<Sleep>>>,
    closed: Option<Closed>,
    on_end: Option<OnEnd>,
    access: Option<HttpAccess>,
    _held: Option<Box<dyn Any + Send>>,
}

impl Relay {
    /// Relays `inner`, failing after `idle_limit` without a frame.
    pub(crate) fn new(inner: Incoming, idle_limit: Duration) -> Self {
        Relay {
            inner,
            idle_limit,
            stall: None,
            closed: None,
            on_end: None,
            access: None,
            _held: None,
        }
    }

    /// Fails the body once `closed` fires.
    pub(crate) fn closed_by(mut self, closed: Closed) -> Self {
        self.closed = Some(closed);
        self
    }

    /// Runs `on_end` once the body has been read to its end.
    pub(crate) fn on_end(mut self, on_end: OnEnd) -> Self {
        self.on_end = Some(on_end);
        self
    }

    /// Counts the body's bytes into `access`, whose line is written when the body is dropped.
    pub(crate) fn logging(mut self, mut access: HttpAccess) -> Self {
        access.termination = "aborted";
        self.access = Some(access);
        self
    }

    /// Keeps `held` alive as long as the body.
    pub(crate) fn holding(mut self, held: impl Any + Send) -> Self {
        self._held = Some(Box::new(held));
        self
    }

    /// The relay as the body type the proxy sends.
    pub(crate) fn boxed(self) -> ProxyBody {
        BodyExt::boxed_unsync(self)
    }

    fn ended(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end();
        }
        if let Some(access) = &mut self.access {
            access.termination = "finished";
        }
    }
}

impl Body for Relay {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(closed) = &mut this.closed {
            if closed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Err("closed by the administrator".into())));
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
