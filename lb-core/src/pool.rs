//! The per-VIP pool: an immutable snapshot of the servers, their admin and health states, and
//! the scheduler built over them, plus the live counters kept beside it.
//!
//! A [`Pool`] is cheap to rebuild and is rebuilt whenever a server's weight, admin state or
//! health changes; the I/O layer swaps it atomically. Live counters ([`ServerLive`]) are not
//! part of the snapshot: each member holds an `Arc` to its server's counters, looked up by
//! [`ServerId`] in a [`LiveRegistry`] at build time, so a rebuild never loses in-flight counts.
//!
//! Eligibility rules, shared by every scheduler:
//! - a server that is down or in maintenance gets nothing, not even sticky traffic;
//! - a drained server or one of weight 0 gets no new non-sticky connections;
//! - backup servers get new connections only when no primary server can take them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::model::{AdminState, Health, SchedulerKind, Server, ServerId};
use crate::scheduler::load_tree::LoadHooks;
use crate::scheduler::{PickContext, Scheduler};

/// Live counters of one server, shared by every snapshot that contains it.
#[derive(Debug, Default)]
pub struct ServerLive {
    active: AtomicU32,
    total: AtomicU64,
    bytes_from_clients: AtomicU64,
    bytes_to_clients: AtomicU64,
    /// Least-connections trees to tell about opens and closes.
    pub(crate) load_hooks: LoadHooks,
}

impl ServerLive {
    /// Connections currently open to this server.
    pub fn active(&self) -> u32 {
        self.active.load(Ordering::Relaxed)
    }

    /// Connections ever opened to this server.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Bytes forwarded from clients to this server, by sessions that have ended.
    pub fn bytes_from_clients(&self) -> u64 {
        self.bytes_from_clients.load(Ordering::Relaxed)
    }

    /// Bytes forwarded from this server to clients, by sessions that have ended.
    pub fn bytes_to_clients(&self) -> u64 {
        self.bytes_to_clients.load(Ordering::Relaxed)
    }

    /// Counts the bytes of a session that ended.
    pub fn add_bytes(&self, from_client: u64, to_client: u64) {
        self.bytes_from_clients
            .fetch_add(from_client, Ordering::Relaxed);
        self.bytes_to_clients
            .fetch_add(to_client, Ordering::Relaxed);
    }

    /// Counts a new connection; call [`ServerLive::connection_closed`] when it ends.
    pub fn connection_opened(&self) {
        self.active.fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        self.load_hooks.notify(|| self.active(), true);
    }

    /// Counts the end of a connection counted by [`ServerLive::connection_opened`].
    pub fn connection_closed(&self) {
        let previous = self.active.fetch_sub(1, Ordering::Relaxed);
        debug_assert!(previous > 0, "connection_closed without connection_opened");
        self.load_hooks.notify(|| self.active(), false);
    }
}

/// Live counters of every server of a VIP, by stable id. Survives pool rebuilds and reloads.
#[derive(Debug, Default)]
pub struct LiveRegistry {
    servers: HashMap<ServerId, Arc<ServerLive>>,
}

impl LiveRegistry {
    /// The counters of `id`, created on first use.
    pub fn get(&mut self, id: ServerId) -> Arc<ServerLive> {
        Arc::clone(self.servers.entry(id).or_default())
    }

    /// Drops the counters of servers not in `keep` (after a server was removed).
    pub fn retain(&mut self, keep: impl Fn(ServerId) -> bool) {
        self.servers.retain(|id, _| keep(*id));
    }
}

/// One server as a snapshot sees it.
#[derive(Debug, Clone)]
pub struct Member {
    /// Stable id.
    pub id: ServerId,
    /// Where traffic goes.
    pub address: SocketAddr,
    /// Relative share of new connections.
    pub weight: u16,
    /// Used only when no primary can take new connections.
    pub backup: bool,
    /// The operator's state.
    pub admin: AdminState,
    /// What health checks say.
    pub health: Health,
    /// Live counters (shared across snapshots).
    pub live: Arc<ServerLive>,
}

impl Member {
    /// A member for `server` with the given health and counters.
    pub fn new(server: &Server, health: Health, live: Arc<ServerLive>) -> Self {
        Member {
            id: server.id,
            address: server.address,
            weight: server.weight,
            backup: server.backup,
            admin: server.admin,
            health,
            live,
        }
    }

    /// Up and not in maintenance: may receive traffic that persistence sends to it.
    pub fn takes_sticky(&self) -> bool {
        self.health == Health::Up && self.admin != AdminState::Maintenance
    }

    /// Up, ready and weighted: may receive new non-sticky connections (tier aside).
    pub fn takes_new(&self) -> bool {
        self.health == Health::Up && self.admin == AdminState::Ready && self.weight > 0
    }
}

/// An immutable snapshot of a VIP's servers with the scheduler built over them.
#[derive(Debug)]
pub struct Pool {
    members: Box<[Member]>,
    /// Indices into `members` of the servers new connections may go to: the usable primaries,
    /// or the usable backups when no primary is usable. In configured order.
    eligible: Box<[u32]>,
    /// `(id, index)` sorted by id, for lookups by id.
    by_id: Box<[(ServerId, u32)]>,
    scheduler: Scheduler,
}

impl Pool {
    /// Builds a snapshot from members in configured order.
    pub fn new(kind: SchedulerKind, members: Vec<Member>) -> Self {
        let members = members.into_boxed_slice();
        let indices_where = |backup: bool| -> Box<[u32]> {
            (0u32..)
                .zip(members.iter())
                .filter(|(_, m)| m.backup == backup && m.takes_new())
                .map(|(index, _)| index)
                .collect()
        };
        let mut eligible = indices_where(false);
        if eligible.is_empty() {
            eligible = indices_where(true);
        }
        let mut by_id: Box<[(ServerId, u32)]> = (0u32..)
            .zip(members.iter())
            .map(|(index, m)| (m.id, index))
            .collect();
        by_id.sort_unstable();
        debug_assert!(
            by_id.windows(2).all(|w| w[0].0 != w[1].0),
            "duplicate server ids"
        );
        let scheduler = Scheduler::new(kind, &members, &eligible);
        Pool {
            members,
            eligible,
            by_id,
            scheduler,
        }
    }

    /// Builds a snapshot for `servers` with health from `health` and counters from `live`.
    pub fn build(
        kind: SchedulerKind,
        servers: &[Server],
        health: impl Fn(ServerId) -> Health,
        live: &mut LiveRegistry,
    ) -> Self {
        let members = servers
            .iter()
            .map(|server| Member::new(server, health(server.id), live.get(server.id)))
            .collect();
        Pool::new(kind, members)
    }

    /// Every member, in configured order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Indices (into [`Pool::members`]) of the servers that may take new connections.
    pub fn eligible(&self) -> &[u32] {
        &self.eligible
    }

    /// The member with this id.
    pub fn member(&self, id: ServerId) -> Option<&Member> {
        let slot = self.by_id.binary_search_by_key(&id, |(id, _)| *id).ok()?;
        Some(&self.members[self.by_id[slot].1 as usize])
    }

    /// The member persistence points at, if it may still take sticky traffic.
    pub fn sticky(&self, id: ServerId) -> Option<&Member> {
        self.member(id).filter(|member| member.takes_sticky())
    }

    /// Asks the scheduler for a server for a new connection; `None` when no server is usable
    /// (or every usable one is in `context.exclude`).
    pub fn pick(&self, context: &PickContext<'_>) -> Option<&Member> {
        let index = self
            .scheduler
            .pick(&self.members, &self.eligible, context)?;
        let member = &self.members[index as usize];
        debug_assert!(member.takes_new(), "scheduler picked an ineligible server");
        debug_assert!(
            !context.exclude.contains(&member.id),
            "scheduler picked an excluded server"
        );
        Some(member)
    }
}
