//! Weighted least-connections: the eligible server with the fewest active connections per
//! unit of weight (compared by cross-multiplication, no floats); among equals, the one whose
//! last connection opened longest ago, so ties rotate; then configured order.
//!
//! Active counts live in [`ServerLive`], outside the snapshot. The scheduler keeps a
//! [`LoadTree`] that every [`ServerLive::connection_opened`] and
//! [`ServerLive::connection_closed`] of its servers updates in `O(log n)`, so a pick reads
//! the tree's root: `O(1)`. A retry whose best server is excluded scans the eligible set
//! (`O(n)`, on the failure path only).
//!
//! [`ServerLive`]: crate::pool::ServerLive
//! [`ServerLive::connection_opened`]: crate::pool::ServerLive::connection_opened
//! [`ServerLive::connection_closed`]: crate::pool::ServerLive::connection_closed

use std::sync::Arc;

use super::fallback::is_excluded;
use super::load_tree::{LoadHook, LoadTree};
use super::{PickContext, Schedule};
use crate::pool::{Member, ServerLive};

/// Weighted least-connections over a live tournament tree.
#[derive(Debug)]
pub struct LeastConnections {
    tree: Arc<LoadTree>,
    /// The counters of each eligible server, told about `tree` until this is dropped.
    servers: Box<[Arc<ServerLive>]>,
}

impl LeastConnections {
    /// Builds the tree over `eligible` and asks their counters to keep it up to date.
    pub fn new(members: &[Member], eligible: &[u32]) -> Self {
        let servers: Box<[Arc<ServerLive>]> = eligible
            .iter()
            .map(|&index| Arc::clone(&members[index as usize].live))
            .collect();
        let weights = eligible
            .iter()
            .map(|&index| u32::from(members[index as usize].weight))
            .collect();
        let tree = Arc::new(LoadTree::new(weights));
        for (leaf, server) in servers.iter().enumerate() {
            let hook = LoadHook {
                tree: Arc::clone(&tree),
                leaf,
            };
            server.load_hooks.attach(hook, || server.active());
        }
        LeastConnections { tree, servers }
    }
}

impl Drop for LeastConnections {
    fn drop(&mut self) {
        for server in self.servers.iter() {
            server.load_hooks.detach(&self.tree);
        }
    }
}

impl Schedule for LeastConnections {
    fn pick(&self, members: &[Member], eligible: &[u32], context: &PickContext<'_>) -> Option<u32> {
        debug_assert_eq!(eligible.len(), self.tree.len(), "built for another set");
        let index = eligible[self.tree.least_loaded()?];
        if !is_excluded(members, index, context.exclude) {
            return Some(index);
        }
        let leaf = self
            .tree
            .least_loaded_where(|leaf| !is_excluded(members, eligible[leaf], context.exclude))?;
        Some(eligible[leaf])
    }
}

/// Whether `(active, weight)` `a` carries less load per unit of weight than `b`.
pub(crate) fn is_less_loaded(a: (u32, u32), b: (u32, u32)) -> bool {
    u64::from(a.0) * u64::from(b.1) < u64::from(b.0) * u64::from(a.1)
}
