//! Schedulers: which eligible server gets a new, non-sticky connection.
//!
//! One trait ([`Schedule`]), one file per algorithm. A scheduler is built from a [`Pool`]
//! snapshot's members and its eligible set (health, admin state, weight and backup tiers are
//! already applied by the pool) and is immutable apart from internal atomics, so picks never
//! take a lock and never allocate. A pick skips servers in [`PickContext::exclude`] (those a
//! retry already failed on) and answers `None` when nothing is left.
//!
//! [`Pool`]: crate::pool::Pool

mod first;

use std::net::IpAddr;

use crate::model::{SchedulerKind, ServerId};
use crate::pool::Member;

pub use first::First;

/// What a pick may depend on.
#[derive(Debug, Clone, Copy)]
pub struct PickContext<'a> {
    /// The client's address (source-hash).
    pub client: IpAddr,
    /// A fresh random number drawn by the caller (random, two-choices).
    pub random: u64,
    /// Servers already tried for this connection.
    pub exclude: &'a [ServerId],
}

impl<'a> PickContext<'a> {
    /// A context for a first attempt.
    pub fn new(client: IpAddr, random: u64) -> Self {
        PickContext {
            client,
            random,
            exclude: &[],
        }
    }
}

/// One scheduling algorithm over an immutable set of eligible members.
pub trait Schedule {
    /// Picks an index into `members`, among `eligible` and outside `context.exclude`.
    fn pick(&self, members: &[Member], eligible: &[u32], context: &PickContext<'_>) -> Option<u32>;
}

/// The scheduler of a pool, one variant per [`SchedulerKind`].
#[derive(Debug)]
pub enum Scheduler {
    /// See [`First`].
    First(First),
}

impl Scheduler {
    /// Builds the scheduler of `kind` over `members` (configured order) and `eligible`.
    pub fn new(kind: SchedulerKind, members: &[Member], eligible: &[u32]) -> Self {
        let _ = (kind, members, eligible);
        Scheduler::First(First)
    }

    /// Picks an index into `members`; `None` when no eligible server is left.
    pub fn pick(
        &self,
        members: &[Member],
        eligible: &[u32],
        context: &PickContext<'_>,
    ) -> Option<u32> {
        match self {
            Scheduler::First(first) => first.pick(members, eligible, context),
        }
    }
}
