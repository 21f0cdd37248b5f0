//! Idle HTTP/2 client connections: the streams open on a connection are counted, and once
//! none has been open for the idle limit the connection is shut down gracefully (a GOAWAY,
//! then the close), as an idle HTTP/1 keep-alive connection is closed.
//!
//! A stream counts as open from the moment its request reaches the proxy until its response
//! body has been sent to its end or dropped (the stream reset, the connection gone). A
//! connection with a stream in progress, however slow, is never closed by this rule; one
//! whose client answers pings but opens no stream no longer stays open forever.
//!
//! Defaults: the idle limit is `timeouts.http_request` (10 s), the keep-alive limit of
//! HTTP/1.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::Service;
use hyper::{Request, Response};
use tokio::sync::watch;

/// The streams open on one HTTP/2 connection.
#[derive(Debug)]
pub(crate) struct OpenStreams(watch::Sender<usize>);

impl OpenStreams {
    /// No stream open yet.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(OpenStreams(watch::Sender::new(0)))
    }

    /// Counts a stream as open until the returned mark is dropped.
    fn open(self: &Arc<Self>) -> OpenStream {
        self.0.send_modify(|open| *open += 1);
        OpenStream(Arc::clone(self))
    }

    /// Resolves once no stream has been open for `limit` without a break.
    pub(crate) async fn idle_for(&self, limit: Duration) {
        let mut changes = self.0.subscribe();
        loop {
            // `self` holds the sender, so the channel cannot close while this waits.
            if changes.wait_for(|&open| open == 0).await.is_err() {
                return;
            }
            // Any change (a stream opening) after the count was seen at zero restarts the wait.
            if tokio::time::timeout(limit, changes.changed())
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// One open stream, counted as long as it lives.
#[derive(Debug)]
struct OpenStream(Arc<OpenStreams>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.0.send_modify(|open| *open -= 1);
    }
}

/// A service whose requests are counted in `streams` as open streams until their response
/// bodies end or are dropped.
#[derive(Debug)]
pub(crate) struct Counted<S> {
    service: S,
    streams: Arc<OpenStreams>,
}

impl<S> Counted<S> {
    /// `service`, counting its streams in `streams`.
    pub(crate) fn new(service: S, streams: Arc<OpenStreams>) -> Self {
        Counted { service, streams }
    }
}

impl<S, B> Service<Request<Incoming>> for Counted<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
{
    type Response = Response<CountedBody<B>>;
    type Error = S::Error;
    type Future = Counting<S::Future>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        Counting {
            response: Box::pin(self.service.call(request)),
            open: Some(self.streams.open()),
        }
    }
}

/// The response of a counted request, its stream counted as open until the response is made
/// and then by its body.
pub(crate) struct Counting<F> {
    response: Pin<Box<F>>,
    open: Option<OpenStream>,
}

impl<F, B, E> Future for Counting<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<CountedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let response = ready!(this.response.as_mut().poll(cx))?;
        let open = this.open.take();
        Poll::Ready(Ok(response.map(|body| CountedBody { body, _open: open })))
    }
}

/// A response body that keeps its stream counted as open.
#[derive(Debug)]
pub(crate) struct CountedBody<B> {
    body: B,
    _open: Option<OpenStream>,
}

impl<B: Body + Unpin> Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
