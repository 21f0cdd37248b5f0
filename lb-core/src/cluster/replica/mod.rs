//! The replicated tables of a clustered pair, with their merge rules.
//!
//! A [`Replica`] holds the latest [`Version`] and [`Value`] of every [`Key`] this node knows,
//! whoever wrote it. The I/O shell calls [`Replica::record`] for each local change and sends
//! the returned [`Update`] to the peer; it calls [`Replica::apply`] for each update received and
//! changes the live persistence tables as the answer says. Time is `now_ms`, the local wall
//! clock in ms since the Unix epoch, passed in.
//!
//! Rules:
//! - **Last writer wins**: an update is applied only when its version is newer than the
//!   stored one. An older or equal one is [`Applied::Stale`] and changes nothing, so replays,
//!   double delivery and any delivery order are harmless, and two nodes that received the same
//!   updates hold the same entries.
//! - **The node that holds the VIP wins for `last-successful`**: an incoming `last-successful`
//!   update, even a newer one, for a VIP that `holds_vip` says this node holds, whose value
//!   differs from this node's live value, is not applied. This node's value is re-stamped
//!   with a fresh version, newer than the incoming one, and returned as
//!   [`Applied::Overruled`] for the I/O to send back: the peer, which does not hold the VIP,
//!   applies it. So after a partition the writer the clients' traffic actually goes to
//!   stays the writer. When this node has no value (or a delete) the incoming one is applied.
//!   `holds_vip` must answer `false` when the peer claims the VIP as well (split brain): two
//!   holders would overrule each other forever, while plain last-writer-wins converges.
//!   `source-ip` and `server-admin` entries are always plain last-writer-wins.
//! - **Deletes are tombstones** ([`Value::Deleted`]), kept for the retention given to
//!   [`Replica::new`] counted from when they were stored here; it must be at least the
//!   longest source-ip timeout and [`MIN_TOMBSTONE_RETENTION_MS`] (10 min), so that an older
//!   update arriving late never brings a deleted entry back.
//! - **Expiry**: a source-ip entry past its `expires_at` counts as deleted at its version:
//!   [`Replica::expire`] turns it into a tombstone (its retention starts then) and
//!   [`Replica::snapshot`] sends it as one, so a replay of the entry, or an older one, is
//!   stale like any other. [`Replica::expire`] also drops tombstones past their retention.
//!   Other entries never expire.
//! - **Clock**: every version applied or not is observed by this node's [`Clock`], so the next
//!   local change is newer than anything seen.

mod clock;
mod digest;
mod entry;
mod scan;

use std::collections::BTreeMap;

use ring::digest::{Context, SHA256};

pub use clock::{Clock, Version, node_id};
pub use entry::{Key, Update, Value};
pub(crate) use entry::{admin_code, admin_from_code};

/// The least tombstone retention (10 min): give [`Replica::new`] at least this much, and at
/// least the longest source-ip timeout.
pub const MIN_TOMBSTONE_RETENTION_MS: u64 = 10 * 60 * 1000;

/// What [`Replica::apply`] did with an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The update was newer and is stored: set the live table's entry for its key to its
    /// value (remove it for [`Value::Deleted`]).
    Applied {
        /// The live value the key had before (`None` when it had none, a tombstone or an
        /// expired one): the entry to undo in the live table, e.g. the server a client was
        /// mapped to.
        previous: Option<Value>,
    },
    /// The update was not newer than the stored version: nothing changed.
    Stale,
    /// The update was refused because this node holds the VIP (see the module doc): nothing
    /// changed in the live tables; send this update, this node's value with a fresh version,
    /// back to the peer.
    Overruled(Update),
}

/// The stored state of one key.
#[derive(Debug, Clone)]
struct Entry {
    version: Version,
    value: Value,
    /// When this node stored this version, in local ms: the start of a tombstone's retention.
    stored_at: u64,
}

/// Every replicated entry of this node, with its version.
#[derive(Debug, Clone)]
pub struct Replica {
    clock: Clock,
    entries: BTreeMap<Key, Entry>,
    tombstone_retention_ms: u64,
}

impl Replica {
    /// An empty replica for node `node` (see [`node_id`]) that keeps tombstones
    /// `tombstone_retention_ms` (see [`MIN_TOMBSTONE_RETENTION_MS`]).
    pub fn new(node: u64, tombstone_retention_ms: u64) -> Self {
        Replica {
            clock: Clock::new(node),
            entries: BTreeMap::new(),
            tombstone_retention_ms,
        }
    }

    /// Stores a local change, stamped with a fresh version of this node's clock, and returns
    /// the update to send to the peer. `value` must be of `key`'s table or
    /// [`Value::Deleted`].
    pub fn record(&mut self, key: Key, value: Value, now_ms: u64) -> Update {
        debug_assert!(key.accepts(&value), "{value:?} stored under {key:?}");
        let version = self.clock.tick(now_ms);
        let entry = Entry {
            version,
            value: value.clone(),
            stored_at: now_ms,
        };
        self.entries.insert(key.clone(), entry);
        Update {
            key,
            version,
            value,
        }
    }

    /// Merges an update received from the peer; `holds_vip(vip)` says whether this node holds
    /// that VIP alone (see the module doc for the rules and what to do with the answer).
    pub fn apply(
        &mut self,
        update: &Update,
        now_ms: u64,
        holds_vip: impl Fn(&str) -> bool,
    ) -> Applied {
        debug_assert!(update.key.accepts(&update.value), "{update:?}");
        self.clock.observe(update.version, now_ms);
        if let Some(current) = self.entries.get_mut(&update.key) {
            if update.version <= current.version {
                return Applied::Stale;
            }
            let defended = matches!(update.key, Key::LastSuccessful { .. })
                && current.value != Value::Deleted
                && current.value != update.value
                && holds_vip(update.key.vip());
            if defended {
                current.version = self.clock.tick(now_ms);
                current.stored_at = now_ms;
                debug_assert!(current.version > update.version);
                return Applied::Overruled(Update {
                    key: update.key.clone(),
                    version: current.version,
                    value: current.value.clone(),
                });
            }
        }
        let entry = Entry {
            version: update.version,
            value: update.value.clone(),
            stored_at: now_ms,
        };
        let previous = self.entries.insert(update.key.clone(), entry);
        Applied::Applied {
            previous: previous
                .map(|entry| entry.value)
                .filter(|value| value.is_live(now_ms)),
        }
    }

    /// Turns the source-ip entries expired at `now_ms` into tombstones, and drops the
    /// tombstones older than the retention.
    pub fn expire(&mut self, now_ms: u64) {
        for entry in self.entries.values_mut() {
            if matches!(entry.value, Value::SourceIp { expires_at, .. } if expires_at <= now_ms) {
                entry.value = Value::Deleted;
                entry.stored_at = now_ms;
            }
        }
        let retention = self.tombstone_retention_ms;
        self.entries.retain(|_, entry| {
            entry.value != Value::Deleted || now_ms < entry.stored_at.saturating_add(retention)
        });
    }

    /// The latest version and value of `key`, tombstones included, and expired source-ip
    /// entries until [`expire`](Self::expire) turns them into tombstones.
    pub fn get(&self, key: &Key) -> Option<(Version, &Value)> {
        self.entries
            .get(key)
            .map(|entry| (entry.version, &entry.value))
    }

    /// Every entry, in key order, source-ip entries expired at `now_ms` as tombstones: what a
    /// node sends the peer when the link comes up.
    pub fn snapshot(&self, now_ms: u64) -> Vec<Update> {
        self.entries
            .iter()
            .map(|(key, entry)| Update {
                key: key.clone(),
                version: entry.version,
                value: match entry.value {
                    Value::SourceIp { .. } if !entry.value.is_live(now_ms) => Value::Deleted,
                    _ => entry.value.clone(),
                },
            })
            .collect()
    }

    /// The SHA-256 of the live entries at `now_ms` (keys, versions and values; not
    /// tombstones, not source-ip expiry times), in key order: two nodes that hold the same
    /// entries have the same digest, whatever order they learned them in.
    pub fn digest(&self, now_ms: u64) -> [u8; 32] {
        let mut hash = Context::new(&SHA256);
        for (key, entry) in &self.entries {
            if entry.value.is_live(now_ms) {
                digest::feed(&mut hash, key, entry.version, &entry.value);
            }
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(hash.finish().as_ref());
        out
    }
}

#[cfg(test)]
mod tests;
