//! Source-IP persistence: a table from client address to the server it was sent to.
//!
//! - Clients are grouped by prefix: IPv4 addresses are masked to `netmask_v4` bits, IPv6 ones
//!   to `netmask_v6` bits; IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, from dual-stack
//!   listeners) count as IPv4. Defaults (the model's): /32 and /128, each address alone.
//! - An entry idle for `timeout` (default 30 min) is expired: a lookup misses and drops it. A
//!   hit refreshes it.
//! - The table holds at most `size` entries (default 10240), counted by one atomic. It is split
//!   into 16 shards, each a [`std::sync::Mutex`] over a recency list, so connections lock only
//!   their client's shard. Recording a new client first drops the shard's expired entries;
//!   when the table is full, the new entry replaces the **least recently used** entry of its
//!   shard, as approximated by second chance (CLOCK): the oldest entry not used since it was
//!   last moved to the new end. If that shard is empty (small tables), the next shard with
//!   entries gives up one instead; such a shard is only tried, never waited for, so in the rare
//!   case that all are busy the client is not recorded.
//! - A hit only marks its entry used and reads one map bucket: in a table of a million
//!   entries, a lookup costs the cache misses of the hash probe and nothing more.
//! - The shard and the slot within it come from one keyed SipHash-1-3 of the client key,
//!   keyed by the seed the caller draws: deterministic for a given seed, and clients cannot
//!   aim their addresses at one shard or one hash chain.
//! - Entries name servers by stable [`ServerId`], so a pool rebuild loses nothing; a server
//!   removed from the configuration is dropped with [`SourceIpTable::remove_server`].

use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use siphasher::sip::SipHasher13;

use super::Stickiness;
use super::lru::Lru;
use crate::model::{Persistence, ServerId};
use crate::pool::Pool;

/// How many shards a table is split into.
const SHARDS: usize = 16;

/// The settings of a source-IP table (see the module doc for defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceIpSettings {
    /// Entries idle this long expire.
    pub timeout: Duration,
    /// Most entries kept.
    pub size: usize,
    /// Prefix length kept of IPv4 clients (larger values count as 32).
    pub netmask_v4: u8,
    /// Prefix length kept of IPv6 clients (larger values count as 128).
    pub netmask_v6: u8,
}

impl SourceIpSettings {
    /// The settings of a `source-ip` persistence; `None` for any other kind.
    pub fn from_model(persistence: &Persistence) -> Option<Self> {
        match *persistence {
            Persistence::SourceIp {
                timeout,
                size,
                netmask_v4,
                netmask_v6,
            } => Some(SourceIpSettings {
                timeout,
                size,
                netmask_v4,
                netmask_v6,
            }),
            _ => None,
        }
    }
}

/// A client address after masking: the key of a table entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The masked address.
    pub fn addr(self) -> IpAddr {
        self.0
    }
}

/// One entry, as exposed for replication to a standby balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceIpEntry {
    /// The (masked) client.
    pub client: ClientKey,
    /// Where the client goes.
    pub server: ServerId,
    /// When the entry was last used (same origin as the `now` given to the table).
    pub last_used: Duration,
}

/// A client key packed in 16 bytes (IPv4 as IPv4-mapped IPv6), with its keyed hash computed
/// once for both the shard and the slot. Kept small so that a shard's map buckets are 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hashed {
    hash: u64,
    octets: [u8; 16],
}

impl Hashed {
    fn client(&self) -> ClientKey {
        ClientKey(Ipv6Addr::from(self.octets).to_canonical())
    }
}

impl Hash for Hashed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Hands the precomputed hash of a [`Hashed`] to the shard's map.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

#[derive(Debug, Clone, Copy)]
struct Stick {
    server: ServerId,
    /// Nanoseconds since the time origin (enough for 584 years).
    last_used: u64,
}

type Shard = Lru<Hashed, Stick, BuildHasherDefault<PassThrough>>;

/// A sharded, bounded, expiring map from client to server. Shared by reference between the
/// connections of a VIP; every operation locks one shard at most (all shards for the admin
/// operations).
#[derive(Debug)]
pub struct SourceIpTable {
    shards: Box<[Mutex<Shard>]>,
    /// Entries in all shards; never more than `settings.size`.
    count: AtomicUsize,
    hasher: SipHasher13,
    settings: SourceIpSettings,
}

impl SourceIpTable {
    /// An empty table; `seed` keys the hash (draw it at random once per table).
    pub fn new(settings: SourceIpSettings, seed: u64) -> Self {
        let shards = (0..SHARDS)
            .map(|_| Mutex::new(Lru::new(BuildHasherDefault::default())))
            .collect();
        SourceIpTable {
            shards,
            count: AtomicUsize::new(0),
            hasher: SipHasher13::new_with_keys(seed, seed.rotate_left(32) ^ 0x5eed_5eed_5eed_5eed),
            settings,
        }
    }

    /// The table's settings.
    pub fn settings(&self) -> &SourceIpSettings {
        &self.settings
    }

    /// The key of `client`: its address masked to the configured prefix.
    pub fn key(&self, client: IpAddr) -> ClientKey {
        ClientKey(match client.to_canonical() {
            IpAddr::V4(addr) => {
                let mask = prefix_mask(self.settings.netmask_v4, 32) as u32;
                IpAddr::V4(Ipv4Addr::from_bits(addr.to_bits() & mask))
            }
            IpAddr::V6(addr) => {
                let mask = prefix_mask(self.settings.netmask_v6, 128);
                IpAddr::V6(Ipv6Addr::from_bits(addr.to_bits() & mask))
            }
        })
    }

    /// The server of `key`, if its entry exists and has not expired; a hit refreshes it.
    pub fn lookup(&self, key: ClientKey, now: Duration) -> Option<ServerId> {
        let hashed = self.hashed(key);
        let mut shard = self.shard(&hashed);
        let stick = shard.get_mut(&hashed)?;
        if self.expired(stick, now) {
            shard.remove(&hashed);
            self.count.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        stick.last_used = stick.last_used.max(nanos(now));
        Some(stick.server)
    }

    /// Where persistence sends a new connection from `client`: its recorded server if that
    /// one may still take sticky traffic (up and not in maintenance), else nowhere. Either way
    /// the answer carries the client's key, to [`record`](Self::record) the server that
    /// accepts the connection.
    pub fn sticky<'p>(
        &self,
        client: IpAddr,
        now: Duration,
        pool: &'p Pool,
    ) -> Stickiness<'p, ClientKey> {
        let key = self.key(client);
        match self.lookup(key, now).and_then(|id| pool.sticky(id)) {
            Some(member) => Stickiness::Sticky(member, key),
            None => Stickiness::Vacant(key),
        }
    }

    /// Records that `key` goes to `server` as of `now`, replacing any previous entry. Also
    /// applies an entry replicated from a peer (with its `last_used` as `now`). Answers whether
    /// the table says something it did not (a new entry, or one moved to another server), as
    /// opposed to an entry only used again (for replication and events).
    pub fn record(&self, key: ClientKey, server: ServerId, now: Duration) -> bool {
        let hashed = self.hashed(key);
        let stick = Stick {
            server,
            last_used: nanos(now),
        };
        let index = self.shard_index(&hashed);
        let mut shard = lock(&self.shards[index]);
        if let Some(existing) = shard.get_mut(&hashed) {
            let moved = existing.server != server;
            *existing = stick;
            return moved;
        }
        let expired = shard.remove_expired(|stick| self.expired(stick, now));
        self.count.fetch_sub(expired, Ordering::Relaxed);
        let reserved = self
            .count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |count| {
                (count < self.settings.size).then_some(count + 1)
            })
            .is_ok();
        // When full, the new entry takes the place of a least recently used one.
        let room = reserved || shard.evict() || self.evict_elsewhere(index);
        if room {
            shard.insert_new(hashed, stick);
        }
        room
    }

    /// Drops the entry of `key` (a delete replicated from a peer); answers whether there was
    /// one.
    pub fn remove(&self, key: ClientKey) -> bool {
        let hashed = self.hashed(key);
        let removed = self.shard(&hashed).remove(&hashed);
        if removed {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Drops every entry pointing at `server` (removed from the configuration); returns how
    /// many there were.
    pub fn remove_server(&self, server: ServerId) -> usize {
        let removed = self
            .shards
            .iter()
            .map(|shard| lock(shard).retain(|_, stick| stick.server != server))
            .sum();
        self.count.fetch_sub(removed, Ordering::Relaxed);
        removed
    }

    /// Drops every entry (admin API).
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let removed = lock(shard).clear();
            self.count.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// Entries stored, expired ones not yet dropped included. Never more than `size`.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether the table stores no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The unexpired entries as of `now`, for replication, in no particular order.
    pub fn entries(&self, now: Duration) -> Vec<SourceIpEntry> {
        let mut entries = Vec::new();
        for shard in self.shards.iter() {
            let shard = lock(shard);
            entries.extend(
                shard
                    .iter()
                    .filter(|(_, stick)| !self.expired(stick, now))
                    .map(|(hashed, stick)| SourceIpEntry {
                        client: hashed.client(),
                        server: stick.server,
                        last_used: Duration::from_nanos(stick.last_used),
                    }),
            );
        }
        entries
    }

    fn expired(&self, stick: &Stick, now: Duration) -> bool {
        nanos(now).saturating_sub(stick.last_used) >= nanos(self.settings.timeout)
    }

    fn hashed(&self, key: ClientKey) -> Hashed {
        let octets = match key.0 {
            IpAddr::V4(addr) => addr.to_ipv6_mapped().octets(),
            IpAddr::V6(addr) => addr.octets(),
        };
        Hashed {
            hash: self.hasher.hash(&octets),
            octets,
        }
    }

    /// The shard of `hashed`, locked.
    fn shard(&self, hashed: &Hashed) -> MutexGuard<'_, Shard> {
        lock(&self.shards[self.shard_index(hashed)])
    }

    /// Hash bits 32..64 (the map inside a shard uses the low bits for its buckets and the top
    /// 7 as tags), reduced to the shard count by multiplication.
    fn shard_index(&self, hashed: &Hashed) -> usize {
        (((hashed.hash >> 32) * SHARDS as u64) >> 32) as usize
    }

    /// Removes the least recently used entry of the first other shard that has one and is
    /// free (tried, never waited for: the caller holds shard `own`).
    fn evict_elsewhere(&self, own: usize) -> bool {
        (1..SHARDS).any(|offset| {
            let other = &self.shards[(own + offset) % SHARDS];
            match other.try_lock() {
                Ok(mut shard) => shard.evict(),
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().evict(),
                Err(TryLockError::WouldBlock) => false,
            }
        })
    }
}

fn nanos(time: Duration) -> u64 {
    u64::try_from(time.as_nanos()).unwrap_or(u64::MAX)
}

/// A shard's state stays consistent even if a holder panicked (no operation panics midway).
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The mask keeping the first `prefix` of `width` bits (in the low `width` bits).
fn prefix_mask(prefix: u8, width: u32) -> u128 {
    let kept = u32::from(prefix).min(width);
    let all = u128::MAX >> (128 - width);
    all ^ (all.checked_shr(kept).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(netmask_v4: u8, netmask_v6: u8) -> SourceIpTable {
        let settings = SourceIpSettings {
            timeout: Duration::from_secs(60),
            size: 100,
            netmask_v4,
            netmask_v6,
        };
        SourceIpTable::new(settings, 7)
    }

    fn key(table: &SourceIpTable, addr: &str) -> IpAddr {
        table.key(addr.parse().unwrap()).addr()
    }

    #[test]
    fn masks_group_clients_by_prefix() {
        let t = table(24, 64);
        assert_eq!(
            key(&t, "192.0.2.77"),
            "192.0.2.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            key(&t, "2001:db8::1:2"),
            "2001:db8::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            key(&t, "::ffff:192.0.2.9"),
            "192.0.2.0".parse::<IpAddr>().unwrap()
        );
        let whole = table(32, 128);
        assert_eq!(
            key(&whole, "192.0.2.77"),
            "192.0.2.77".parse::<IpAddr>().unwrap()
        );
        let all = table(0, 0);
        assert_eq!(
            key(&all, "192.0.2.77"),
            "0.0.0.0".parse::<IpAddr>().unwrap()
        );
        let oversized = table(200, 200);
        assert_eq!(
            key(&oversized, "2001:db8::5"),
            "2001:db8::5".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn entries_give_back_the_keys_recorded() {
        let t = table(24, 64);
        let recorded: Vec<ClientKey> = ["192.0.2.7", "2001:db8::9", "::", "0.0.0.0"]
            .into_iter()
            .map(|addr| t.key(addr.parse().unwrap()))
            .collect();
        for (i, &key) in recorded.iter().enumerate() {
            t.record(key, ServerId(i as u32), Duration::from_secs(i as u64));
        }
        let mut entries = t.entries(Duration::from_secs(5));
        entries.sort_by_key(|entry| entry.server);
        let clients: Vec<ClientKey> = entries.iter().map(|entry| entry.client).collect();
        assert_eq!(clients, recorded);
        assert_eq!(entries[3].last_used, Duration::from_secs(3));
        assert_eq!(t.len(), 4, "IPv4 0.0.0.0 and IPv6 :: are different clients");
    }

    #[test]
    fn expires_after_idle_timeout_and_refreshes_on_use() {
        let t = table(32, 128);
        let client = t.key("192.0.2.1".parse().unwrap());
        let s = Duration::from_secs;
        assert!(t.record(client, ServerId(3), s(0)), "a new entry");
        assert!(
            !t.record(client, ServerId(3), s(0)),
            "the same entry, used again"
        );
        assert_eq!(t.lookup(client, s(59)), Some(ServerId(3)));
        assert_eq!(
            t.lookup(client, s(118)),
            Some(ServerId(3)),
            "refreshed at 59 s"
        );
        assert_eq!(t.lookup(client, s(178)), None, "idle 60 s");
        assert_eq!(t.len(), 0, "the expired entry was dropped");
    }
}
