//! Which server a new connection goes to, attempt after attempt: persistence first, then the
//! pool's scheduler, never a server this connection already failed on.
//!
//! - `source-ip`: the client's entry in the VIP's table, while its server may take sticky
//!   traffic; the server that accepts is recorded (entries expire after the table's timeout).
//! - `last-successful`: the VIP's one entry, likewise; recorded only if no other connection
//!   moved it meanwhile, so traffic never fails back.
//! - `none`, and `cookie` (an HTTP mode, which TCP forwarding does not read): the scheduler
//!   alone.
//!
//! A selection works on one pool snapshot for its whole life, so a pool swapped mid-way (health
//! or admin change) affects the next connection, not the retries of this one.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use lb_core::model::{Persistence, ServerId};
use lb_core::persistence::{
    ClientKey, LastSuccessful, SourceIpSettings, SourceIpTable, Stickiness, Vacancy,
};
use lb_core::pool::{Member, Pool, ServerLive};
use lb_core::scheduler::PickContext;

use smallvec::SmallVec;

use crate::events::{Events, VipEvent};
use crate::persistence::{PersistenceEntries, SourceIpLease};
use crate::random::random_u64;
use crate::stats::Counters;

/// The persistence state of one VIP, kept across pool rebuilds.
#[derive(Debug)]
pub(crate) enum Stick {
    /// Every connection is scheduled afresh.
    None,
    /// Client address to server.
    SourceIp(SourceIpTable),
    /// The VIP's last server to accept a connection.
    LastSuccessful(LastSuccessful),
}

impl Stick {
    /// The state `persistence` needs, empty.
    pub(crate) fn new(persistence: &Persistence) -> Self {
        if let Some(settings) = SourceIpSettings::from_model(persistence) {
            Stick::SourceIp(SourceIpTable::new(settings, random_u64()))
        } else if let Some(entry) = LastSuccessful::from_model(persistence) {
            Stick::LastSuccessful(entry)
        } else {
            Stick::None
        }
    }

    /// Forgets whatever points at `server` (removed from the VIP); answers how many entries
    /// there were.
    pub(crate) fn remove_server(&self, server: ServerId) -> usize {
        match self {
            Stick::None => 0,
            Stick::SourceIp(table) => table.remove_server(server),
            Stick::LastSuccessful(entry) => usize::from(entry.remove_server(server)),
        }
    }

    /// Forgets every entry (admin API); answers how many there were.
    pub(crate) fn clear(&self) -> usize {
        match self {
            Stick::None => 0,
            Stick::SourceIp(table) => {
                let entries = table.len();
                table.clear();
                entries
            }
            Stick::LastSuccessful(entry) => {
                let had = entry.server().is_some();
                entry.set(None);
                usize::from(had)
            }
        }
    }
}

impl Stick {
    /// The entries as they stand at `now` (for replication).
    pub(crate) fn entries(&self, now: Duration) -> PersistenceEntries {
        match self {
            Stick::None => PersistenceEntries::None,
            Stick::LastSuccessful(entry) => PersistenceEntries::LastSuccessful(entry.server()),
            Stick::SourceIp(table) => {
                let timeout = table.settings().timeout;
                let leases = table
                    .entries(now)
                    .into_iter()
                    .map(|entry| SourceIpLease {
                        client: entry.client.addr(),
                        server: entry.server,
                        remaining: timeout.saturating_sub(now.saturating_sub(entry.last_used)),
                    })
                    .collect();
                PersistenceEntries::SourceIp(leases)
            }
        }
    }

    /// Sets the last-successful entry to `server` (`None` forgets it); answers whether this
    /// VIP keeps one.
    pub(crate) fn learn_last_successful(&self, server: Option<ServerId>) -> bool {
        match self {
            Stick::LastSuccessful(entry) => {
                entry.set(server);
                true
            }
            _ => false,
        }
    }

    /// Sets `client`'s source-IP entry to `server` for `remaining` from `now` (`None` forgets
    /// it); answers whether this VIP keeps such entries.
    pub(crate) fn learn_source_ip(
        &self,
        client: IpAddr,
        server: Option<ServerId>,
        remaining: Duration,
        now: Duration,
    ) -> bool {
        let Stick::SourceIp(table) = self else {
            return false;
        };
        let key = table.key(client);
        match server {
            Some(server) => {
                // Used as long ago as makes it expire `remaining` from now.
                let idle = table.settings().timeout.saturating_sub(remaining);
                table.record(key, server, now.saturating_sub(idle));
            }
            None => {
                table.remove(key);
            }
        }
        true
    }
}

/// What to record once a server accepts.
#[derive(Debug, Clone, Copy)]
enum Token {
    None,
    SourceIp(ClientKey),
    LastSuccessful(Vacancy),
}

/// A server to try.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Its stable id.
    pub(crate) id: ServerId,
    /// Where to connect.
    pub(crate) address: SocketAddr,
    live: Arc<ServerLive>,
}

impl Target {
    /// Counts `to_server` bytes sent to this server and `from_server` bytes received from it,
    /// in its own counters and the VIP's `counters`.
    pub(crate) fn count(&self, counters: &Counters, to_server: u64, from_server: u64) {
        self.live.add_bytes(to_server, from_server);
        counters.add_bytes(to_server, from_server);
    }

    /// Where the bytes moved to and from this server are counted, for a connection that
    /// counts them as it goes: its own counters and the VIP's `counters`.
    pub(crate) fn tally(&self, counters: &Arc<Counters>) -> ByteTally {
        ByteTally {
            server: self.id,
            live: Arc::clone(&self.live),
            counters: Arc::clone(counters),
        }
    }

    fn of(member: &Member) -> Self {
        Target {
            id: member.id,
            address: member.address,
            live: Arc::clone(&member.live),
        }
    }
}

/// The server choices of one connection.
#[derive(Debug)]
pub(crate) struct Selection<'s> {
    pool: Arc<Pool>,
    stick: &'s Stick,
    client: IpAddr,
    now: Duration,
    sticky: Option<Target>,
    token: Token,
    /// The servers tried so far; inline up to [`TRIED_INLINE`], so that a connection that gets
    /// its first pick allocates nothing here.
    tried: SmallVec<[ServerId; TRIED_INLINE]>,
}

/// Servers tried that fit in a [`Selection`] without an allocation: the first pick and a few
/// retries.
const TRIED_INLINE: usize = 4;

impl<'s> Selection<'s> {
    /// Choices for a connection from `client` at `now` (the service's monotonic clock).
    pub(crate) fn new(pool: Arc<Pool>, stick: &'s Stick, client: IpAddr, now: Duration) -> Self {
        let (sticky, token) = match stick {
            Stick::None => (None, Token::None),
            Stick::SourceIp(table) => split(table.sticky(client, now, &pool), Token::SourceIp),
            Stick::LastSuccessful(entry) => split(entry.sticky(&pool), Token::LastSuccessful),
        };
        Selection {
            pool,
            stick,
            client,
            now,
            sticky,
            token,
            tried: SmallVec::new(),
        }
    }

    /// Puts `server` first, ahead of any other persistence, if it may take sticky traffic
    /// (cookie persistence, which the HTTP layer reads).
    pub(crate) fn prefer(&mut self, server: ServerId) {
        if let Some(member) = self.pool.sticky(server) {
            self.sticky = Some(Target::of(member));
        }
    }

    /// The next server to try: the persisted one first, then the scheduler's picks among
    /// those not tried yet; `None` when nothing is left.
    pub(crate) fn next(&mut self) -> Option<Target> {
        let target = match self.sticky.take() {
            Some(sticky) => sticky,
            None => {
                let context = PickContext {
                    client: self.client,
                    random: random_u64(),
                    exclude: &self.tried,
                };
                Target::of(self.pool.pick(&context)?)
            }
        };
        self.tried.push(target.id);
        Some(target)
    }

    /// Records that `target` accepted the connection (persistence follows it, and what that
    /// changes is published to `events`) and counts it open until the returned guard drops.
    pub(crate) fn connected(self, target: &Target, events: &Events) -> OpenConnection {
        let server = target.id;
        let changed = match (self.stick, self.token) {
            (Stick::SourceIp(table), Token::SourceIp(key)) => table
                .record(key, server, self.now)
                .then(|| VipEvent::SourceIpRecorded {
                    client: key.addr(),
                    server,
                }),
            (Stick::LastSuccessful(entry), Token::LastSuccessful(vacancy)) => entry
                .record(vacancy, server)
                .then_some(VipEvent::LastSuccessfulMoved { server }),
            _ => None,
        };
        if let Some(event) = changed {
            events.publish(event);
        }
        target.live.connection_opened();
        OpenConnection {
            live: Arc::clone(&target.live),
        }
    }
}

fn split<R>(stickiness: Stickiness<'_, R>, token: fn(R) -> Token) -> (Option<Target>, Token) {
    let sticky = stickiness.member().map(Target::of);
    (sticky, token(stickiness.into_token()))
}

/// Counts one open connection to a server for as long as it lives.
#[derive(Debug)]
pub(crate) struct OpenConnection {
    live: Arc<ServerLive>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.live.connection_closed();
    }
}

/// Counts bytes moved to and from one server, in its counters and its VIP's.
#[derive(Debug, Clone)]
pub(crate) struct ByteTally {
    server: ServerId,
    live: Arc<ServerLive>,
    counters: Arc<Counters>,
}

impl ByteTally {
    /// The server counted.
    pub(crate) fn server(&self) -> ServerId {
        self.server
    }

    /// Adds `to_server` bytes sent to the server (from its clients) and `from_server` bytes
    /// received from it (for its clients).
    pub(crate) fn add(&self, to_server: u64, from_server: u64) {
        self.live.add_bytes(to_server, from_server);
        self.counters.add_bytes(to_server, from_server);
    }
}
