//! Weighted random: each eligible server with probability weight / total weight, drawn from
//! the caller's random number through an alias table (`O(1)`). A retry that draws an
//! excluded server takes the next one in configured order.

use super::fallback::{first_allowed_from, is_excluded};
use super::weighted_table::WeightedTable;
use super::{PickContext, Schedule};
use crate::pool::Member;

/// Weighted random choice.
#[derive(Debug)]
pub struct Random {
    table: WeightedTable,
}

impl Random {
    /// Builds the weight table of the `eligible` members.
    pub fn new(members: &[Member], eligible: &[u32]) -> Self {
        Random {
            table: WeightedTable::new(members, eligible),
        }
    }
}

impl Schedule for Random {
    fn pick(&self, members: &[Member], eligible: &[u32], context: &PickContext<'_>) -> Option<u32> {
        let position = self.table.position(context.random)?;
        let index = eligible[position];
        if !is_excluded(members, index, context.exclude) {
            return Some(index);
        }
        first_allowed_from(members, eligible, position, context.exclude)
    }
}
