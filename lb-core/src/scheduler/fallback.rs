//! What every scheduler does with retries: skip the servers already tried.

use crate::model::ServerId;
use crate::pool::Member;

/// Whether the member at `index` is among the servers already tried.
pub(crate) fn is_excluded(members: &[Member], index: u32, exclude: &[ServerId]) -> bool {
    !exclude.is_empty() && exclude.contains(&members[index as usize].id)
}

/// The member at `eligible[start]`, or the first after it in configured order (wrapping
/// around), that is not excluded; `None` when every eligible member is excluded.
pub(crate) fn first_allowed_from(
    members: &[Member],
    eligible: &[u32],
    start: usize,
    exclude: &[ServerId],
) -> Option<u32> {
    let (before, after) = eligible.split_at(start.min(eligible.len()));
    after
        .iter()
        .chain(before)
        .copied()
        .find(|&index| !is_excluded(members, index, exclude))
}
