//! Accepting: each listening socket of a VIP has a task that accepts connections and spawns
//! one task per connection, which sets the client side up ([`super::downstream`]) and hands it
//! to the VIP's mode: [`super::tcp`] or [`crate::pipeline::http`].
//!
//! A connection runs under the generation of the service's shared state that was current when
//! it was accepted, for its whole life. A failed accept (out of file descriptors, say) makes
//! the task pause [`ACCEPT_BACKOFF`] before accepting again; connections not accepted yet wait
//! in the listen backlog, and established ones go on. Failures are logged once per
//! [`ACCEPT_LOG_INTERVAL`] at most, each line saying how many failed since the last one, so
//! that a descriptor shortage does not flood the log (20 failures a second otherwise).

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use lb_core::model::Mode;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::warn;

use super::generation::Shared;
use super::{http, tcp};

/// Pause after a failed accept before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Least time between two log lines of failed accepts.
const ACCEPT_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Failed accepts since the last line logged, and when it was.
#[derive(Debug, Default)]
struct AcceptFailures {
    logged_at: Option<Instant>,
    unlogged: u64,
}

impl AcceptFailures {
    /// Counts a failure at `now`; answers how many to report if a line is due.
    fn failed(&mut self, now: Instant) -> Option<u64> {
        self.unlogged += 1;
        let due = self
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= ACCEPT_LOG_INTERVAL);
        due.then(|| {
            self.logged_at = Some(now);
            std::mem::take(&mut self.unlogged)
        })
    }
}

/// Accepts on `listener` until aborted; every connection task holds a clone of `alive`, so
/// that the service can wait for them all to end.
pub(crate) async fn accept(
    listener: TcpListener,
    current: Arc<ArcSwap<Shared>>,
    alive: mpsc::Sender<()>,
) {
    let mut failures = AcceptFailures::default();
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                let shared = current.load_full();
                let alive = alive.clone();
                // Each mode sets its client up first (`super::downstream`). The HTTP future is
                // boxed: a task is as large as its largest future, and an idle TCP session
                // should only hold what TCP relaying needs (about 2 KiB).
                tokio::spawn(async move {
                    match shared.settings.mode {
                        Mode::Tcp => tcp::serve(shared, socket, peer).await,
                        Mode::Http => Box::pin(http::serve(shared, socket, peer)).await,
                    }
                    drop(alive);
                });
            }
            Err(error) => {
                if let Some(failed) = failures.failed(Instant::now()) {
                    let vip = &current.load().settings.name;
                    warn!(%vip, %error, failed, "accept failed");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_logged_once_per_interval_with_how_many_there_were() {
        let start = Instant::now();
        let mut failures = AcceptFailures::default();
        assert_eq!(
            failures.failed(start),
            Some(1),
            "the first is logged at once"
        );
        let mut logged = Vec::new();
        for tick in 1..=200 {
            let now = start + ACCEPT_BACKOFF * tick;
            logged.extend(failures.failed(now));
        }
        // 200 failures 50 ms apart over 10 s: a line at 5 s and one at 10 s.
        assert_eq!(logged, [100, 100]);
    }
}
