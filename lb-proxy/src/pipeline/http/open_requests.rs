//! The streams open on one HTTP/2 client connection, counted from the moment a request
//! reaches the proxy until its response body has been sent to its end or dropped (the stream
//! reset, the connection gone).
//!
//! Once no stream has been open for the idle limit the connection is shut down gracefully (a
//! GOAWAY, then the close), as an idle HTTP/1 keep-alive connection is closed (the quiet is
//! checked at the end of each limit, so an idle connection closes between one and two limits
//! after its last stream). A connection with a stream in progress, however slow, is never
//! closed by this rule; one whose client answers pings but opens no stream no longer stays
//! open forever.
//!
//! Defaults: the HTTP/2 idle limit is `timeouts.http_request` (10 s), the keep-alive limit of
//! HTTP/1.

use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::Notify;

/// The requests open on one client connection: two atomic counts per request, and a wake-up
/// only for a task waiting for none to be open.
#[derive(Debug, Default)]
pub(crate) struct OpenRequests {
    open: AtomicUsize,
    /// Requests opened so far, to tell whether one came and went during a wait.
    opened: AtomicU64,
    none_open: Notify,
}

impl OpenRequests {
    /// No request open yet.
    pub(crate) fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Counts a request as open until the returned mark is dropped.
    pub(crate) fn open(self: &Arc<Self>) -> OpenRequest {
        self.opened.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::AcqRel);
        OpenRequest(Arc::clone(self))
    }

    /// Resolves once no request is open.
    pub(crate) async fn none_open(&self) {
        loop {
            let mut woken = pin!(self.none_open.notified());
            // Registered before the count is read: a close in between still wakes it.
            woken.as_mut().enable();
            if self.open.load(Ordering::Acquire) == 0 {
                return;
            }
            woken.await;
        }
    }

    /// Resolves once no request has been open for `limit` without a break.
    pub(crate) async fn idle_for(&self, limit: Duration) {
        loop {
            self.none_open().await;
            let opened = self.opened.load(Ordering::Relaxed);
            tokio::time::sleep(limit).await;
            // A request that opened meanwhile (even one already done) restarts the wait.
            if self.opened.load(Ordering::Relaxed) == opened {
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
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none_open.notify_waiters();
        }
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

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;

    const LIMIT: Duration = Duration::from_secs(10);

    /// Whether `future` is still pending after being polled once.
    fn pending(future: &mut Pin<&mut impl Future<Output = ()>>) -> bool {
        let waker = std::task::Waker::noop();
        future
            .as_mut()
            .poll(&mut Context::from_waker(waker))
            .is_pending()
    }

    #[tokio::test]
    async fn none_open_waits_for_the_last_request_to_end() {
        let requests = OpenRequests::new();
        requests.none_open().await;
        let first = requests.open();
        let second = requests.open();
        let mut none = pin!(requests.none_open());
        assert!(pending(&mut none));
        drop(first);
        assert!(pending(&mut none));
        drop(second);
        tokio::time::timeout(LIMIT, none).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn idle_for_needs_a_whole_limit_without_any_request() {
        let requests = OpenRequests::new();
        let start = Instant::now();
        requests.idle_for(LIMIT).await;
        assert_eq!(start.elapsed(), LIMIT);

        // A request that comes and goes during the wait restarts it.
        let start = Instant::now();
        let mut idle = pin!(requests.idle_for(LIMIT));
        assert!(pending(&mut idle));
        tokio::time::sleep(LIMIT / 2).await;
        drop(requests.open());
        idle.as_mut().await;
        assert_eq!(start.elapsed(), 2 * LIMIT);

        // An open request holds it as long as it is open.
        let open = requests.open();
        let start = Instant::now();
        let mut idle = pin!(requests.idle_for(LIMIT));
        tokio::time::sleep(3 * LIMIT).await;
        assert!(pending(&mut idle));
        drop(open);
        idle.as_mut().await;
        assert_eq!(start.elapsed(), 4 * LIMIT);
    }
}
