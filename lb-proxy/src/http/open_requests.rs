//! The requests open on one client connection, counted from the moment a request reaches the
//! proxy until its response body has been sent to its end or dropped (the stream reset, the
//! connection gone).
//!
//! HTTP/2: once no stream has been open for the idle limit the connection is shut down
//! gracefully (a GOAWAY, then the close), as an idle HTTP/1 keep-alive connection is closed. A
//! connection with a stream in progress, however slow, is never closed by this rule; one whose
//! client answers pings but opens no stream no longer stays open forever. HTTP/1: a refusal of
//! a pipelined request waits until the requests before it have been answered (see
//! [`super::io`]).
//!
//! Defaults: the HTTP/2 idle limit is `timeouts.http_request` (10 s), the keep-alive limit of
//! HTTP/1.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::watch;

/// The requests open on one client connection.
#[derive(Debug)]
pub(crate) struct OpenRequests(watch::Sender<usize>);

impl OpenRequests {
    /// No request open yet.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(OpenRequests(watch::Sender::new(0)))
    }

    /// Counts a request as open until the returned mark is dropped.
    pub(crate) fn open(self: &Arc<Self>) -> OpenRequest {
        self.0.send_modify(|open| *open += 1);
        OpenRequest(Arc::clone(self))
    }

    /// Resolves once no request is open.
    pub(crate) async fn none_open(&self) {
        // `self` holds the sender, so the channel cannot close while this waits.
        let _ = self.0.subscribe().wait_for(|&open| open == 0).await;
    }

    /// Resolves once no request has been open for `limit` without a break.
    pub(crate) async fn idle_for(&self, limit: Duration) {
        let mut changes = self.0.subscribe();
        loop {
            // `self` holds the sender, so the channel cannot close while this waits.
            if changes.wait_for(|&open| open == 0).await.is_err() {
                return;
            }
            // Any change (a request opening) after the count was seen at zero restarts the wait.
            if tokio::time::timeout(limit, changes.changed())
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// One open request, counted as long as it lives.
#[derive(Debug)]
pub(crate) struct OpenRequest(Arc<OpenRequests>);

impl Drop for OpenRequest {
    fn drop(&mut self) {
        self.0.0.send_modify(|open| *open -= 1);
    }
}

/// A response body that keeps its request counted as open.
#[derive(Debug)]
pub(crate) struct CountedBody<B> {
    body: B,
    _open: OpenRequest,
}

impl<B> CountedBody<B> {
    /// `body`, its request counted as `open` until it ends or is dropped.
    pub(crate) fn new(body: B, open: OpenRequest) -> Self {
        CountedBody { body, _open: open }
    }
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
