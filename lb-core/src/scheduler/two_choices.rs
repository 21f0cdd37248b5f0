//! Power of two random choices: two servers drawn by weight (from the caller's random number
//! and from a mix of it), and the one with fewer active connections per unit of weight wins;
//! the first drawn wins ties. Costs two alias-table draws and two atomic loads, whatever the
//! pool size.
//!
//! A retry skips excluded draws; when both draws are excluded, the next server in configured
//! order after the first draw is taken.

use super::fallback::{first_allowed_from, is_excluded};
use super::hash::mix64;
use super::least_conn::is_less_loaded;
use super::weighted_table::WeightedTable;
use super::{PickContext, Schedule};
use crate::pool::Member;

/// Power of two random choices, weighted.
#[derive(Debug)]
pub struct TwoChoices {
    table: WeightedTable,
}

impl TwoChoices {
    /// Builds the weight table of the `eligible` members.
    pub fn new(members: &[Member], eligible: &[u32]) -> Self {
        TwoChoices {
            table: WeightedTable::new(members, eligible),
        }
    }
}

impl Schedule for TwoChoices {
    fn pick(&self, members: &[Member], eligible: &[u32], context: &PickContext<'_>) -> Option<u32> {
        let first_position = self.table.position(context.random)?;
        let second_position = self.table.position(mix64(context.random))?;
        let first = eligible[first_position];
        let second = eligible[second_position];
        let allowed = |index| !is_excluded(members, index, context.exclude);
        match (allowed(first), allowed(second)) {
            (true, true) => {
                let load = |index: u32| {
                    let member = &members[index as usize];
                    (member.live.active(), u32::from(member.weight))
                };
                Some(if is_less_loaded(load(second), load(first)) {
                    second
                } else {
                    first
                })
            }
            (true, false) => Some(first),
            (false, true) => Some(second),
            (false, false) => {
                first_allowed_from(members, eligible, first_position, context.exclude)
            }
        }
    }
}
