//! The idle clock of a session: when a byte last moved either way, and a future that resolves
//! once nothing has moved for a given limit.
//!
//! Touching the clock is one atomic store of the milliseconds since the session started; the
//! watchdog sleeps until the deadline the last touch implies and checks again, so activity
//! never has to reset a timer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// When a session last moved a byte.
#[derive(Debug)]
pub(crate) struct IdleClock {
    origin: Instant,
    last_ms: AtomicU64,
}

impl IdleClock {
    /// A clock that counts the session as active now.
    pub(crate) fn start() -> Self {
        IdleClock {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    /// Records activity now.
    pub(crate) fn touch(&self) {
        let now = self.origin.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `limit`.
    pub(crate) async fn expired(&self, limit: Duration) {
        loop {
            let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = self.origin + last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn expires_only_after_a_full_limit_without_activity() {
        let clock = IdleClock::start();
        let limit = Duration::from_secs(10);
        let toucher = async {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(6)).await;
                clock.touch();
            }
        };
        let (_, ()) = tokio::join!(clock.expired(limit), toucher);
        assert_eq!(clock.origin.elapsed(), Duration::from_secs(28));
    }
}
