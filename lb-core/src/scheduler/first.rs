//! First available: the first eligible server in configured order (mysql, redis).
//!
//! Weights are ignored beyond weight 0 (which makes a server ineligible).

use super::{PickContext, Schedule};
use crate::pool::Member;

/// Picks the first eligible server not excluded.
#[derive(Debug, Default)]
pub struct First;

impl Schedule for First {
    fn pick(&self, members: &[Member], eligible: &[u32], context: &PickContext<'_>) -> Option<u32> {
        eligible
            .iter()
            .copied()
            .find(|&index| !context.exclude.contains(&members[index as usize].id))
    }
}
