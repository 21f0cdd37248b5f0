//! First available: the first eligible server in configured order (mysql, redis).
//!
//! Weights are ignored beyond weight 0 (which makes a server ineligible).

use super::fallback::first_allowed_from;
use super::{PickContext, Schedule};
use crate::pool::Member;

/// Picks the first eligible server not excluded.
#[derive(Debug, Default)]
pub struct First;

impl Schedule for First {
    fn pick(&self, members: &[Member], eligible: &[u32], context: &PickContext<'_>) -> Option<u32> {
        first_allowed_from(members, eligible, 0, context.exclude)
    }
}
