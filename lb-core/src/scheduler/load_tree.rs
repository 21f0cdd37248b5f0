//! A lock-free tournament tree that keeps the least loaded eligible server of a
//! least-connections scheduler at its root, so a pick reads one atomic.
//!
//! Leaves are the eligible servers (their active count copied from [`ServerLive`]); each inner
//! node holds the winner of its two children: fewer active connections per unit of weight,
//! then the one opened least recently (so ties rotate), then configured order. When a
//! connection opens or closes, [`ServerLive`] tells every tree indexing the server through its
//! [`LoadHooks`], and the path from that leaf to the root is recomputed: `O(log n)`, about 10
//! compare-and-swaps at 1000 servers.
//!
//! Concurrent updates stay exact without locks: every leaf and node carries a version beside
//! its value, and is written only by a compare-and-swap from the version read before its
//! inputs were read. Whoever writes a node last therefore read inputs newer than every change
//! below it, so once updates stop the root is the true minimum.
//!
//! [`ServerLive`]: crate::pool::ServerLive

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::least_conn::is_less_loaded;

/// No winner (a padding leaf, or an empty subtree).
const NONE: u32 = u32::MAX;

/// Orders every tree update; the proof of exactness assumes one total order.
const ORDER: Ordering = Ordering::SeqCst;

/// The tree over one snapshot's eligible servers.
pub(crate) struct LoadTree {
    /// Weight of each leaf (eligible position).
    weights: Box<[u32]>,
    /// Per leaf: version (high 32 bits) and active connections (low 32 bits).
    leaves: Box<[AtomicU64]>,
    /// Per leaf: when its last connection opened, on `clock`; 0 when never.
    opened_at: Box<[AtomicU64]>,
    clock: AtomicU64,
    /// Heap layout, root at 1: version (high 32 bits) and winning leaf (low 32 bits).
    /// Children of node `i` are `2i` and `2i + 1`; indices from `width` on are leaves.
    nodes: Box<[AtomicU64]>,
    width: usize,
}

impl LoadTree {
    /// A tree over leaves of these weights, all with no connection yet.
    pub(crate) fn new(weights: Box<[u32]>) -> Self {
        let width = weights.len().next_power_of_two().max(2);
        let atomics = |count: usize| (0..count).map(|_| AtomicU64::new(0)).collect();
        let tree = LoadTree {
            leaves: atomics(weights.len()),
            opened_at: atomics(weights.len()),
            clock: AtomicU64::new(0),
            nodes: atomics(width),
            width,
            weights,
        };
        for node in (1..width).rev() {
            let winner = tree.better(tree.winner(2 * node), tree.winner(2 * node + 1));
            tree.nodes[node].store(u64::from(winner), ORDER);
        }
        tree
    }

    /// The least loaded leaf, if any.
    pub(crate) fn least_loaded(&self) -> Option<usize> {
        let winner = self.winner(1);
        (winner != NONE).then_some(winner as usize)
    }

    /// The least loaded leaf among those `allowed`, by a full scan.
    pub(crate) fn least_loaded_where(&self, allowed: impl Fn(usize) -> bool) -> Option<usize> {
        (0..self.weights.len())
            .filter(|&leaf| allowed(leaf))
            .reduce(|best, leaf| self.better(best as u32, leaf as u32) as usize)
    }

    /// Number of leaves.
    pub(crate) fn len(&self) -> usize {
        self.weights.len()
    }

    /// Records a change of `leaf`'s active count (read through `active`), then fixes the path
    /// to the root. `opened` marks a new connection, which sends the leaf behind its ties.
    pub(crate) fn update(&self, leaf: usize, active: impl Fn() -> u32, opened: bool) {
        if opened {
            let now = self.clock.fetch_add(1, ORDER) + 1;
            self.opened_at[leaf].store(now, ORDER);
        }
        compare_and_swap(&self.leaves[leaf], active);
        let mut node = (self.width + leaf) / 2;
        while node >= 1 {
            compare_and_swap(&self.nodes[node], || {
                self.better(self.winner(2 * node), self.winner(2 * node + 1))
            });
            node /= 2;
        }
    }

    fn winner(&self, node: usize) -> u32 {
        if node < self.width {
            return self.nodes[node].load(ORDER) as u32;
        }
        let leaf = node - self.width;
        if leaf < self.weights.len() {
            leaf as u32
        } else {
            NONE
        }
    }

    /// The winner of two leaves (either may be [`NONE`]).
    fn better(&self, a: u32, b: u32) -> u32 {
        if a == NONE {
            return b;
        }
        if b == NONE {
            return a;
        }
        let key = |leaf: u32| {
            let leaf = leaf as usize;
            let active = self.leaves[leaf].load(ORDER) as u32;
            (
                (active, self.weights[leaf]),
                self.opened_at[leaf].load(ORDER),
            )
        };
        let ((load_a, opened_a), (load_b, opened_b)) = (key(a), key(b));
        if is_less_loaded(load_b, load_a) {
            return b;
        }
        if is_less_loaded(load_a, load_b) {
            return a;
        }
        if (opened_b, b) < (opened_a, a) { b } else { a }
    }
}

/// Replaces the value (low 32 bits) of `cell` with `value()`, computed after reading `cell`,
/// bumping its version so that a concurrent writer who read earlier inputs fails and retries.
fn compare_and_swap(cell: &AtomicU64, value: impl Fn() -> u32) {
    let mut current = cell.load(ORDER);
    loop {
        let version = (current >> 32).wrapping_add(1) & u64::from(u32::MAX);
        let next = version << 32 | u64::from(value());
        match cell.compare_exchange_weak(current, next, ORDER, ORDER) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

impl fmt::Debug for LoadTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadTree")
            .field("leaves", &self.weights.len())
            .field("least_loaded", &self.least_loaded())
            .finish()
    }
}

/// One tree indexing a server, and the server's leaf in it.
#[derive(Debug)]
pub(crate) struct LoadHook {
    pub(crate) tree: Arc<LoadTree>,
    pub(crate) leaf: usize,
}

/// The trees a server must tell about its connections: one per live least-connections
/// snapshot containing it (usually one; two while a rebuilt pool replaces the old one).
#[derive(Debug, Default)]
pub(crate) struct LoadHooks {
    hooks: RwLock<Vec<LoadHook>>,
    /// `hooks.len()`, read without the lock so servers of other schedulers pay one load.
    count: AtomicUsize,
}

impl LoadHooks {
    /// Tells every tree that the active count (read through `active`) changed.
    pub(crate) fn notify(&self, active: impl Fn() -> u32, opened: bool) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let hooks = self.hooks.read().unwrap_or_else(PoisonError::into_inner);
        for hook in hooks.iter() {
            hook.tree.update(hook.leaf, &active, opened);
        }
    }

    /// Starts telling `hook.tree`, then brings its leaf up to date.
    pub(crate) fn attach(&self, hook: LoadHook, active: impl Fn() -> u32) {
        let (tree, leaf) = (Arc::clone(&hook.tree), hook.leaf);
        let mut hooks = self.hooks.write().unwrap_or_else(PoisonError::into_inner);
        hooks.push(hook);
        self.count.store(hooks.len(), Ordering::Release);
        drop(hooks);
        tree.update(leaf, active, false);
    }

    /// Stops telling `tree`.
    pub(crate) fn detach(&self, tree: &Arc<LoadTree>) {
        let mut hooks = self.hooks.write().unwrap_or_else(PoisonError::into_inner);
        hooks.retain(|hook| !Arc::ptr_eq(&hook.tree, tree));
        self.count.store(hooks.len(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::thread;

    #[test]
    fn root_follows_opens_and_closes() {
        let tree = LoadTree::new(vec![1, 2, 1].into_boxed_slice());
        assert_eq!(tree.least_loaded(), Some(0));
        tree.update(0, || 1, true);
        assert_eq!(tree.least_loaded(), Some(1));
        tree.update(1, || 1, true);
        // 0 has 1/1, 1 has 1/2, 2 has 0/1.
        assert_eq!(tree.least_loaded(), Some(2));
        tree.update(2, || 1, true);
        assert_eq!(tree.least_loaded(), Some(1));
        tree.update(0, || 0, false);
        assert_eq!(tree.least_loaded(), Some(0));
    }

    #[test]
    fn empty_tree_has_no_winner() {
        let tree = LoadTree::new(Box::new([]));
        assert_eq!(tree.least_loaded(), None);
        assert_eq!(tree.least_loaded_where(|_| true), None);
    }

    #[test]
    fn concurrent_updates_leave_an_exact_root() {
        let leaves = 37;
        let tree = LoadTree::new(vec![1; leaves].into_boxed_slice());
        let active: Vec<AtomicU32> = (0..leaves).map(|_| AtomicU32::new(0)).collect();
        thread::scope(|scope| {
            for worker in 0..4 {
                let (tree, active) = (&tree, &active);
                scope.spawn(move || {
                    for step in 0..20_000usize {
                        let leaf = (step * 7 + worker * 13) % leaves;
                        let read = || active[leaf].load(Ordering::SeqCst);
                        active[leaf].fetch_add(1, Ordering::SeqCst);
                        tree.update(leaf, read, true);
                        // Every connection closes again, except those to leaf 5.
                        if leaf != 5 {
                            active[leaf].fetch_sub(1, Ordering::SeqCst);
                            tree.update(leaf, read, false);
                        }
                    }
                });
            }
        });
        let expected = (0..leaves)
            .min_by_key(|&leaf| active[leaf].load(Ordering::SeqCst))
            .map(|leaf| active[leaf].load(Ordering::SeqCst));
        let root = tree.least_loaded().unwrap();
        assert_eq!(Some(active[root].load(Ordering::SeqCst)), expected);
        for (leaf, count) in tree.leaves.iter().zip(&active) {
            assert_eq!(leaf.load(ORDER) as u32, count.load(Ordering::SeqCst));
        }
    }
}
