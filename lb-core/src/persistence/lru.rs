//! A map that evicts its least recently used entry, by second chance: one shard of a
//! persistence table.
//!
//! Values live in the hash map itself, so a hit reads one bucket and writes nothing else (in a
//! table of a million entries every other line touched would be a cache miss). Beside the map,
//! a slab (`Vec`) of keys threaded by a doubly linked list keeps the order entries were placed
//! in. A hit only marks its entry used. When the old end is examined, for eviction or expiry,
//! a used entry gets a second chance: its mark is cleared and it moves to the new end.
//! Eviction thus takes the oldest entry not used since it was last placed, the CLOCK
//! approximation of least recently used. Every operation is amortised O(1) apart from
//! [`Lru::retain`] and iteration. Freed slab slots are reused before the slab grows, so
//! memory follows the most entries held at once.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

/// No slot: the end of the list.
const NIL: u32 = u32::MAX;

#[derive(Debug)]
struct Entry<V> {
    value: V,
    /// Used since it was last placed at the new end.
    used: bool,
    /// Its place in the list.
    link: u32,
}

#[derive(Debug)]
struct Link<K> {
    key: K,
    /// Towards the new end.
    newer: u32,
    /// Towards the old end.
    older: u32,
}

/// A map in (approximate) recency order.
#[derive(Debug)]
pub(crate) struct Lru<K, V, S> {
    entries: HashMap<K, Entry<V>, S>,
    links: Vec<Link<K>>,
    free: Vec<u32>,
    newest: u32,
    oldest: u32,
}

impl<K: Hash + Eq + Copy, V, S: BuildHasher + Clone> Lru<K, V, S> {
    /// An empty map.
    pub(crate) fn new(hasher: S) -> Self {
        Lru {
            entries: HashMap::with_hasher(hasher),
            links: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
        }
    }

    /// Entries stored.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry of `key`, marked used.
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let entry = self.entries.get_mut(key)?;
        entry.used = true;
        Some(&mut entry.value)
    }

    /// Removes the entries at the old end for which `expired` holds, giving used ones a
    /// second chance, up to the first unused, unexpired entry. Returns how many it removed.
    pub(crate) fn remove_expired(&mut self, expired: impl Fn(&V) -> bool) -> usize {
        let mut removed = 0;
        while let Some(key) = self.oldest_key() {
            let entry = self.entry_mut(&key);
            if expired(&entry.value) {
                self.remove(&key);
                removed += 1;
            } else if !self.second_chance(&key) {
                break;
            }
        }
        removed
    }

    /// Removes the least recently used entry (by second chance); returns whether there was one.
    pub(crate) fn evict(&mut self) -> bool {
        while let Some(key) = self.oldest_key() {
            if !self.second_chance(&key) {
                return self.remove(&key);
            }
        }
        false
    }

    /// Stores `value` under `key`, which must be absent, at the new end.
    pub(crate) fn insert_new(&mut self, key: K, value: V) {
        debug_assert!(
            !self.entries.contains_key(&key),
            "insert_new of a present key"
        );
        debug_assert!(self.len() < NIL as usize, "slot numbers exhausted");
        let link = Link {
            key,
            newer: NIL,
            older: NIL,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.links[slot as usize] = link;
                slot
            }
            None => {
                self.links.push(link);
                (self.links.len() - 1) as u32
            }
        };
        self.link_newest(slot);
        let entry = Entry {
            value,
            used: false,
            link: slot,
        };
        self.entries.insert(key, entry);
    }

    /// Removes the entry of `key`; returns whether there was one.
    pub(crate) fn remove(&mut self, key: &K) -> bool {
        let Some(entry) = self.entries.remove(key) else {
            return false;
        };
        self.unlink(entry.link);
        self.free.push(entry.link);
        true
    }

    /// Keeps only the entries for which `keep` holds; returns how many were removed.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) -> usize {
        let doomed: Vec<K> = self
            .iter()
            .filter(|(key, value)| !keep(key, value))
            .map(|(key, _)| *key)
            .collect();
        for key in &doomed {
            self.remove(key);
        }
        doomed.len()
    }

    /// Removes every entry and frees the memory; returns how many there were.
    pub(crate) fn clear(&mut self) -> usize {
        let removed = self.len();
        *self = Lru::new(self.entries.hasher().clone());
        removed
    }

    /// Every entry, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(key, entry)| (key, &entry.value))
    }

    fn oldest_key(&self) -> Option<K> {
        self.links.get(self.oldest as usize).map(|link| link.key)
    }

    fn entry_mut(&mut self, key: &K) -> &mut Entry<V> {
        self.entries
            .get_mut(key)
            .expect("every listed key has an entry")
    }

    /// If the entry of `key` was used, clears the mark and moves it to the new end.
    fn second_chance(&mut self, key: &K) -> bool {
        let entry = self.entry_mut(key);
        if !entry.used {
            return false;
        }
        entry.used = false;
        let slot = entry.link;
        self.unlink(slot);
        self.link_newest(slot);
        true
    }

    fn link_newest(&mut self, slot: u32) {
        let previous = self.newest;
        let link = &mut self.links[slot as usize];
        link.newer = NIL;
        link.older = previous;
        match self.links.get_mut(previous as usize) {
            Some(previous) => previous.newer = slot,
            None => self.oldest = slot,
        }
        self.newest = slot;
    }

    fn unlink(&mut self, slot: u32) {
        let Link { newer, older, .. } = self.links[slot as usize];
        match self.links.get_mut(newer as usize) {
            Some(link) => link.older = older,
            None => self.newest = older,
        }
        match self.links.get_mut(older as usize) {
            Some(link) => link.newer = newer,
            None => self.oldest = newer,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::hash::RandomState;

    use super::*;

    /// The keys from the new end to the old end.
    fn keys(lru: &Lru<i32, u32, RandomState>) -> Vec<i32> {
        let mut slot = lru.newest;
        std::iter::from_fn(|| {
            let link = lru.links.get(slot as usize)?;
            slot = link.older;
            Some(link.key)
        })
        .collect()
    }

    fn filled(count: i32) -> Lru<i32, u32, RandomState> {
        let mut lru = Lru::new(RandomState::new());
        for key in 1..=count {
            lru.insert_new(key, 0);
        }
        lru
    }

    #[test]
    fn evicts_the_oldest_entry_not_used_since_placed() {
        let mut lru = filled(3);
        assert_eq!(keys(&lru), [3, 2, 1]);
        assert_eq!(lru.get_mut(&1), Some(&mut 0));
        assert!(lru.evict());
        assert_eq!(
            keys(&lru),
            [1, 3],
            "1 was used: 2 goes, 1 moves to the new end"
        );
        lru.get_mut(&1);
        lru.get_mut(&3);
        assert!(lru.evict());
        assert_eq!(
            keys(&lru),
            [1],
            "all used: the oldest after a full turn goes"
        );
        assert_eq!(lru.clear(), 1);
        assert!(!lru.evict());
    }

    #[test]
    fn removes_expired_entries_from_the_old_end() {
        let mut lru = filled(5);
        for key in 1..=5 {
            *lru.get_mut(&key).unwrap() = key as u32;
        }
        let removed = lru.remove_expired(|&value| value != 4);
        assert_eq!(removed, 4, "every expired entry went, past the used ones");
        assert_eq!(keys(&lru), [4]);
        let mut unused = filled(3);
        assert_eq!(unused.remove_expired(|_| false), 0);
        assert_eq!(
            keys(&unused),
            [3, 2, 1],
            "stops at the first unused, unexpired entry"
        );
    }

    #[test]
    fn reuses_freed_slots() {
        let mut lru = Lru::new(RandomState::new());
        for key in 0..100 {
            lru.insert_new(key, 0);
            if lru.len() > 3 {
                lru.evict();
            }
        }
        assert_eq!(keys(&lru), [99, 98, 97]);
        assert!(lru.links.len() <= 4, "slab grew to {}", lru.links.len());
        assert_eq!(lru.retain(|key, _| key % 3 == 0), 2);
        assert_eq!(keys(&lru), [99]);
        assert!(lru.remove(&99));
        assert!(!lru.remove(&99));
    }
}
