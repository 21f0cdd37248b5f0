//! Connection caps: one per VIP and one over all VIPs, with a bounded wait queue.
//!
//! A connection takes a slot of its VIP, then a global slot, for its whole life. When either
//! cap is reached it waits, first come first served, for at most the VIP's queue timeout,
//! and is closed if none frees by then. At most as many connections wait as the VIP's cap
//! allows to be open ([`Limits::new`]); one more is closed at once.
//!
//! Defaults: the global cap is [`Global::default`]'s (20480) unless the embedder shares a
//! [`GlobalLimit`] between services.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lb_core::model::Global;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The cap on connections open at once over every service that shares it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GlobalLimit {
    slots: Arc<Semaphore>,
}

impl GlobalLimit {
    /// A cap of `max_connections` open connections.
    pub fn new(max_connections: u32) -> Self {
        GlobalLimit {
            slots: Arc::new(Semaphore::new(max_connections as usize)),
        }
    }

    /// Slots free right now.
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }
}

impl Default for GlobalLimit {
    fn default() -> Self {
        GlobalLimit::new(Global::default().max_connections)
    }
}

/// The caps one VIP's connections go through.
#[derive(Debug)]
pub(crate) struct Limits {
    vip: Arc<Semaphore>,
    global: GlobalLimit,
    waiting: AtomicU32,
    max_waiting: u32,
}

/// A connection's place under both caps; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct Slot {
    _vip: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

/// Why a connection got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The wait queue was full.
    QueueFull,
    /// No slot freed within the queue timeout.
    QueueTimeout,
}

impl Limits {
    /// Caps of `max_connections` for the VIP, under `global`.
    pub(crate) fn new(max_connections: u32, global: GlobalLimit) -> Self {
        Limits {
            vip: Arc::new(Semaphore::new(max_connections as usize)),
            global,
            waiting: AtomicU32::new(0),
            max_waiting: max_connections,
        }
    }

    /// Connections waiting for a slot right now.
    pub(crate) fn waiting(&self) -> u32 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Takes a slot, waiting up to `queue_timeout` if both caps are not free at once.
    pub(crate) async fn admit(&self, queue_timeout: Duration) -> Result<Slot, Refused> {
        if let Some(slot) = self.try_admit() {
            return Ok(slot);
        }
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(Refused::QueueFull);
        }
        let acquire = async {
            let vip = Arc::clone(&self.vip).acquire_owned().await;
            let global = Arc::clone(&self.global.slots).acquire_owned().await;
            (vip, global)
        };
        let outcome = tokio::time::timeout(queue_timeout, acquire).await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        match outcome {
            Ok((Ok(vip), Ok(global))) => Ok(Slot {
                _vip: vip,
                _global: global,
            }),
            Ok(_) => unreachable!("the semaphores are never closed"),
            Err(_) => Err(Refused::QueueTimeout),
        }
    }

    fn try_admit(&self) -> Option<Slot> {
        let vip = Arc::clone(&self.vip).try_acquire_owned().ok()?;
        let global = Arc::clone(&self.global.slots).try_acquire_owned().ok()?;
        Some(Slot {
            _vip: vip,
            _global: global,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_over_the_cap_waits_then_gets_a_freed_slot_or_times_out() {
        let limits = Limits::new(1, GlobalLimit::new(10));
        let first = limits.admit(Duration::from_secs(1)).await.unwrap();
        assert_eq!(
            limits.admit(Duration::from_secs(1)).await.unwrap_err(),
            Refused::QueueTimeout
        );
        let (second, ()) = tokio::join!(limits.admit(Duration::from_secs(1)), async {
            tokio::task::yield_now().await;
            assert_eq!(limits.waiting(), 1);
            drop(first);
        });
        assert!(second.is_ok());
        assert_eq!(limits.waiting(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_global_cap_binds_every_vip_and_the_queue_is_bounded() {
        let global = GlobalLimit::new(1);
        let a = Limits::new(5, global.clone());
        let b = Limits::new(1, global.clone());
        let _held = a.admit(Duration::from_secs(1)).await.unwrap();
        assert_eq!(global.available(), 0);
        let (waiting, refused) = tokio::join!(b.admit(Duration::from_secs(1)), async {
            tokio::task::yield_now().await;
            b.admit(Duration::from_secs(1)).await
        });
        assert_eq!(waiting.unwrap_err(), Refused::QueueTimeout);
        assert_eq!(refused.unwrap_err(), Refused::QueueFull);
    }
}
