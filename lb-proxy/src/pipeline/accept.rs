//! Accepting: each listening socket of a VIP has a task that accepts connections and spawns
//! one task per connection, which sets the client side up ([`super::downstream`]) and hands it
//! to the VIP's mode: [`super::tcp`] or [`crate::pipeline::http`].
//!
//! A connection runs under the generation of the service's shared state that was current when
//! it was accepted, for its whole life. A failed accept (out of file descriptors, say) is
//! logged and the task pauses [`ACCEPT_BACKOFF`] before accepting again.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use lb_core::model::Mode;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::warn;

use super::generation::Shared;
use super::{http, tcp};

/// Pause after a failed accept before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts on `listener` until aborted; every connection task holds a clone of `alive`, so
/// that the service can wait for them all to end.
pub(crate) async fn accept(
    listener: TcpListener,
    current: Arc<ArcSwap<Shared>>,
    alive: mpsc::Sender<()>,
) {
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
                warn!(vip = %current.load().settings.name, %error, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}
