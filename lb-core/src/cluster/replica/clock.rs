//! The hybrid logical clock that stamps every replicated change.
//!
//! A [`Version`] is `(millis, counter, node)`, compared in that order: `millis` follows the
//! writer's wall clock (milliseconds since the Unix epoch, passed in by the caller), `counter`
//! orders changes within one millisecond or while the wall clock lags behind a version already
//! seen, and `node` breaks the last ties so that two nodes never make equal versions. A
//! [`Clock`] never goes back: each [`Clock::tick`] is newer than every version it made or
//! [`Clock::observe`]d before, whatever the wall clock says. Arithmetic saturates: a version at
//! the very top of the range (only a broken peer could send one) is never exceeded, and never
//! makes the clock panic.

use ring::digest;

/// When and by whom a replicated entry was written; the newest version wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    /// The writer's wall clock in ms, or the newest `millis` it had seen when that was ahead.
    pub millis: u64,
    /// Orders the versions made within one `millis`.
    pub counter: u32,
    /// The writing node (see [`node_id`]).
    pub node: u64,
}

/// The clock of one node.
#[derive(Debug, Clone)]
pub struct Clock {
    node: u64,
    last: Version,
}

impl Clock {
    /// A clock for `node` that has seen nothing yet.
    pub fn new(node: u64) -> Self {
        Clock {
            node,
            last: Version {
                node,
                ..Version::default()
            },
        }
    }

    /// A fresh version for a local change: newer than any version made or observed before.
    pub fn tick(&mut self, wall_millis: u64) -> Version {
        let next = if wall_millis > self.last.millis {
            Version {
                millis: wall_millis,
                counter: 0,
                node: self.node,
            }
        } else {
            self.after(self.last)
        };
        debug_assert!(next >= self.last);
        self.last = next;
        next
    }

    /// Takes in a version made elsewhere, so that the next [`tick`](Self::tick) is newer.
    pub fn observe(&mut self, seen: Version, wall_millis: u64) {
        if seen > self.last {
            self.last = Version {
                node: self.node,
                ..seen
            };
        }
        if wall_millis > self.last.millis {
            self.last = Version {
                millis: wall_millis,
                counter: 0,
                node: self.node,
            };
        }
    }

    /// The least version of this node above `version` (itself at the very top of the range).
    fn after(&self, version: Version) -> Version {
        match version.counter.checked_add(1) {
            Some(counter) => Version {
                counter,
                node: self.node,
                ..version
            },
            None => match version.millis.checked_add(1) {
                Some(millis) => Version {
                    millis,
                    counter: 0,
                    node: self.node,
                },
                None => version,
            },
        }
    }
}

/// The `node` of the versions a node makes: the first 8 bytes of the SHA-256 of its name, so
/// both nodes agree on it without configuring numbers.
pub fn node_id(name: &str) -> u64 {
    let hash = digest::digest(&digest::SHA256, name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_ref()[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_increase_when_the_wall_clock_stalls_or_goes_back() {
        let mut clock = Clock::new(7);
        let a = clock.tick(1000);
        let b = clock.tick(1000);
        let c = clock.tick(900);
        assert!(a < b && b < c);
        assert_eq!((c.millis, c.counter, c.node), (1000, 2, 7));
        assert_eq!(clock.tick(1001).counter, 0);
    }

    #[test]
    fn a_tick_after_observing_is_newer_than_what_was_observed() {
        let mut clock = Clock::new(1);
        let remote = Version {
            millis: 5000,
            counter: 3,
            node: 2,
        };
        clock.observe(remote, 1000);
        let next = clock.tick(1000);
        assert!(next > remote);
        assert_eq!((next.millis, next.counter, next.node), (5000, 4, 1));
    }

    #[test]
    fn the_counter_overflows_into_the_millis_and_the_top_saturates() {
        let mut clock = Clock::new(1);
        let full = Version {
            millis: 10,
            counter: u32::MAX,
            node: 2,
        };
        clock.observe(full, 0);
        let next = clock.tick(0);
        assert!(next > full);
        assert_eq!((next.millis, next.counter), (11, 0));
        let top = Version {
            millis: u64::MAX,
            counter: u32::MAX,
            node: u64::MAX,
        };
        clock.observe(top, 0);
        assert_eq!(clock.tick(0), Version { node: 1, ..top });
    }

    #[test]
    fn node_ids_differ_by_name_and_are_stable() {
        assert_eq!(node_id("lb1"), node_id("lb1"));
        assert_ne!(node_id("lb1"), node_id("lb2"));
    }
}
