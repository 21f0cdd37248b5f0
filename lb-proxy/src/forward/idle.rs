//! The idle clock of a session: when a byte last moved either way, and when nothing has moved
//! for the idle limit.
//!
//! The session touches the clock (one clock read) after a poll that moved bytes. One timer
//! waits for the deadline the last touch implies; when it fires early (activity since it was
//! set) it is moved to the new deadline, so activity never has to reset a timer.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// When a session last moved a byte, and how long it may stay idle.
#[derive(Debug)]
pub(crate) struct IdleClock {
    limit: Duration,
    last: Instant,
}

impl IdleClock {
    /// A clock that counts the session as active now.
    pub(crate) fn start(limit: Duration) -> Self {
        IdleClock {
            limit,
            last: Instant::now(),
        }
    }

    /// Records activity now.
    pub(crate) fn touch(&mut self) {
        self.last = Instant::now();
    }

    /// When the session expires unless something moves before.
    pub(crate) fn deadline(&self) -> Instant {
        self.last + self.limit
    }

    /// Ready once nothing has moved for the limit; `timer` is the session's idle timer,
    /// created with [`IdleClock::deadline`].
    pub(crate) fn poll_expired(
        &self,
        mut timer: Pin<&mut Sleep>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        while timer.as_mut().poll(cx).is_ready() {
            if timer.deadline() >= self.deadline() {
                return Poll::Ready(());
            }
            timer.as_mut().reset(self.deadline());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::pin::pin;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn expires_only_after_a_full_limit_without_activity() {
        let origin = Instant::now();
        let limit = Duration::from_secs(10);
        let mut clock = IdleClock::start(limit);
        let mut timer = pin!(tokio::time::sleep_until(clock.deadline()));
        for _ in 0..3 {
            // Each wait outlasts the timer's first deadline but not the limit.
            let touched = tokio::time::sleep(Duration::from_secs(6));
            let mut touched = pin!(touched);
            poll_fn(|cx| match clock.poll_expired(timer.as_mut(), cx) {
                Poll::Ready(()) => panic!("expired {:?} in", origin.elapsed()),
                Poll::Pending => touched.as_mut().poll(cx),
            })
            .await;
            clock.touch();
        }
        poll_fn(|cx| clock.poll_expired(timer.as_mut(), cx)).await;
        assert_eq!(origin.elapsed(), Duration::from_secs(28));
    }
}
