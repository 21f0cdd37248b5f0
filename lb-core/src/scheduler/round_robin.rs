//! Smooth weighted round-robin, as nginx interleaves it: weights 5, 1, 1 give
//! `a a b a c a a`, not `a a a a a b c`.
//!
//! One full cycle is computed when the pool snapshot is built, with the weights divided by
//! their greatest common divisor, so the cycle is `sum(weights) / gcd` long (at most
//! 1000 servers x 256 = 256,000 entries, 1 MiB). A pick is one atomic increment and one
//! table read: no lock. Building the cycle (see [`smooth_cycle`]) replays nginx's algorithm
//! in about `O(cycle x log(distinct weights))`.
//!
//! Every rebuild of the pool starts a new cycle from its beginning. A retry that lands on an
//! excluded server takes the next one in configured order.
//!
//! [`smooth_cycle`]: super::smooth_cycle

use std::sync::atomic::{AtomicUsize, Ordering};

use super::fallback::{first_allowed_from, is_excluded};
use super::smooth_cycle::smooth_cycle;
use super::{PickContext, Schedule};
use crate::pool::Member;

/// Smooth weighted round-robin over a precomputed cycle.
#[derive(Debug)]
pub struct RoundRobin {
    /// Positions into the eligible set, in pick order.
    cycle: Box<[u32]>,
    next: AtomicUsize,
}

impl RoundRobin {
    /// Builds the cycle for the `eligible` members' weights.
    pub fn new(members: &[Member], eligible: &[u32]) -> Self {
        let weights: Vec<u32> = eligible
            .iter()
            .map(|&index| u32::from(members[index as usize].weight))
            .collect();
        RoundRobin {
            cycle: smooth_cycle(&weights).into_boxed_slice(),
            next: AtomicUsize::new(0),
        }
    }
}

impl Schedule for RoundRobin {
    fn pick(&self, members: &[Member], eligible: &[u32], context: &PickContext<'_>) -> Option<u32> {
        if self.cycle.is_empty() {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.cycle.len();
        let position = self.cycle[turn] as usize;
        let index = eligible[position];
        if !is_excluded(members, index, context.exclude) {
            return Some(index);
        }
        first_allowed_from(members, eligible, position, context.exclude)
    }
}
