//! Polls a session's watchdog (its close signal and idle timer) only when one of them woke the
//! session, not on every wake-up by socket readiness.
//!
//! The watchdog's futures are polled with a waker of their own, which raises a flag and then
//! wakes the session's task; a poll of the session checks the flag and skips the watchdog when
//! it is down. Cost: one small allocation per session, made on its first poll.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// The watchdog side of one session.
pub(crate) struct Watchdog {
    shared: Arc<Shared>,
    /// Wakes through `shared`: given to the watchdog's futures.
    waker: Waker,
    /// The session's own waker, as last seen.
    session: Waker,
}

struct Shared {
    fired: AtomicBool,
    session: Mutex<Waker>,
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::Release);
        self.session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .wake_by_ref();
    }
}

impl Watchdog {
    /// A watchdog for the session `cx` polls; its first [`Watchdog::poll`] runs the check.
    pub(crate) fn new(cx: &Context<'_>) -> Self {
        let shared = Arc::new(Shared {
            fired: AtomicBool::new(true),
            session: Mutex::new(cx.waker().clone()),
        });
        Watchdog {
            waker: Waker::from(Arc::clone(&shared)),
            shared,
            session: cx.waker().clone(),
        }
    }

    /// Runs `check` with the watchdog's waker if the watchdog woke the session since the last
    /// check; pending otherwise.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &Context<'_>,
        check: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        if !self.session.will_wake(cx.waker()) {
            self.session.clone_from(cx.waker());
            *self
                .shared
                .session
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = self.session.clone();
        }
        if !self.shared.fired.swap(false, Ordering::Acquire) {
            return Poll::Pending;
        }
        check(&mut Context::from_waker(&self.waker))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn checks_only_once_its_own_waker_woke_the_session() {
        let session = Arc::new(CountingWaker::default());
        let session_waker = Waker::from(Arc::clone(&session));
        let cx = Context::from_waker(&session_waker);
        let mut watchdog = Watchdog::new(&cx);
        let mut registered = None;
        let first = watchdog.poll(&cx, |cx| {
            registered = Some(cx.waker().clone());
            Poll::<()>::Pending
        });
        assert!(
            first.is_pending() && registered.is_some(),
            "the first poll checks"
        );

        let mut checked = false;
        let _ = watchdog.poll(&cx, |_| {
            checked = true;
            Poll::<()>::Pending
        });
        assert!(!checked, "a wake-up by something else skips the check");

        registered.expect("registered").wake();
        assert_eq!(session.0.load(Ordering::Relaxed), 1, "the session is woken");
        assert_eq!(watchdog.poll(&cx, |_| Poll::Ready(7)), Poll::Ready(7));
    }
}
