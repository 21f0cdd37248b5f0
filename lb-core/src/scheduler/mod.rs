//! Schedulers: which eligible server gets a new, non-sticky connection.
//!
//! One trait ([`Schedule`]), one file per algorithm. A scheduler is built from a [`Pool`]
//! snapshot's members and its eligible set (health, admin state, weight and backup tiers are
//! already applied by the pool) and is immutable apart from internal atomics, so picks never
//! take a lock and never allocate. A pick skips servers in [`PickContext::exclude`] (those a
//! retry already failed on) and answers `None` when nothing is left.
//!
//! | kind | pick cost | on a retry (excluded server) |
//! |------|-----------|------------------------------|
//! | [`RoundRobin`] | `O(1)`, one atomic increment | next in configured order |
//! | [`LeastConnections`] | `O(1)`, a tree kept by open/close in `O(log n)` | scan |
//! | [`SourceHash`] | `O(1)`, a ring sampled into a fixed table | next server on the ring |
//! | [`First`] | first allowed in configured order | the same |
//! | [`Random`] | `O(1)`, an alias table | next in configured order |
//! | [`TwoChoices`] | `O(1)`, two draws and two atomic loads | the other draw, else next in order |
//!
//! [`Pool`]: crate::pool::Pool

mod fallback;
mod first;
mod hash;
mod least_conn;
pub(crate) mod load_tree;
mod random;
mod round_robin;
mod smooth_cycle;
mod source_hash;
mod two_choices;
mod weighted_table;

use std::net::IpAddr;

use crate::model::{SchedulerKind, ServerId};
use crate::pool::Member;

pub use first::First;
pub use least_conn::LeastConnections;
pub use random::Random;
pub use round_robin::RoundRobin;
pub use source_hash::SourceHash;
pub use two_choices::TwoChoices;

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
    /// See [`RoundRobin`].
    RoundRobin(RoundRobin),
    /// See [`LeastConnections`].
    LeastConnections(LeastConnections),
    /// See [`SourceHash`].
    SourceHash(SourceHash),
    /// See [`First`].
    First(First),
    /// See [`Random`].
    Random(Random),
    /// See [`TwoChoices`].
    TwoChoices(TwoChoices),
}

impl Scheduler {
    /// Builds the scheduler of `kind` over `members` (configured order) and `eligible`.
    pub fn new(kind: SchedulerKind, members: &[Member], eligible: &[u32]) -> Self {
        match kind {
            SchedulerKind::RoundRobin => Scheduler::RoundRobin(RoundRobin::new(members, eligible)),
            SchedulerKind::LeastConnections => {
                Scheduler::LeastConnections(LeastConnections::new(members, eligible))
            }
            SchedulerKind::SourceHash => Scheduler::SourceHash(SourceHash::new(members, eligible)),
            SchedulerKind::First => Scheduler::First(First),
            SchedulerKind::Random => Scheduler::Random(Random::new(members, eligible)),
            SchedulerKind::TwoChoices => Scheduler::TwoChoices(TwoChoices::new(members, eligible)),
        }
    }

    /// Picks an index into `members`; `None` when no eligible server is left.
    pub fn pick(
        &self,
        members: &[Member],
        eligible: &[u32],
        context: &PickContext<'_>,
    ) -> Option<u32> {
        match self {
            Scheduler::RoundRobin(scheduler) => scheduler.pick(members, eligible, context),
            Scheduler::LeastConnections(scheduler) => scheduler.pick(members, eligible, context),
            Scheduler::SourceHash(scheduler) => scheduler.pick(members, eligible, context),
            Scheduler::First(scheduler) => scheduler.pick(members, eligible, context),
            Scheduler::Random(scheduler) => scheduler.pick(members, eligible, context),
            Scheduler::TwoChoices(scheduler) => scheduler.pick(members, eligible, context),
        }
    }
}
