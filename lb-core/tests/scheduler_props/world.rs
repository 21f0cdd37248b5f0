//! A VIP driven by operations: the servers as configured, their health, the live counters
//! and open connections, and the pool rebuilt after every change, as the proxy would.
//! Eligibility is recomputed here from the rules, independently of the pool.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use lb_core::model::{AdminState, Health, SchedulerKind, Server, ServerId};
use lb_core::pool::{LiveRegistry, Member, Pool, ServerLive};
use lb_core::scheduler::PickContext;
use proptest::prelude::*;

/// One thing that can happen to a VIP.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    SetWeight(usize, u16),
    Add {
        weight: u16,
        backup: bool,
    },
    Remove(usize),
    SetHealth(usize, Health),
    SetAdmin(usize, AdminState),
    /// Closes one of the open connections.
    Close(usize),
    /// Picks a server for a client (excluding the servers whose bit is set), then opens a
    /// connection to it.
    Pick {
        client: u8,
        random: u64,
        exclude_mask: u32,
    },
}

pub(crate) fn weight() -> impl Strategy<Value = u16> {
    prop_oneof![1 => Just(0u16), 6 => 1u16..=8, 1 => Just(100u16), 1 => Just(256u16)]
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    let index = 0usize..16;
    prop_oneof![
        2 => (index.clone(), weight()).prop_map(|(i, w)| Op::SetWeight(i, w)),
        1 => (weight(), prop::bool::weighted(0.2)).prop_map(|(weight, backup)| Op::Add { weight, backup }),
        1 => index.clone().prop_map(Op::Remove),
        2 => (index.clone(), prop_oneof![Just(Health::Up), Just(Health::Down)])
            .prop_map(|(i, h)| Op::SetHealth(i, h)),
        2 => (index.clone(), prop_oneof![
                Just(AdminState::Ready), Just(AdminState::Drain), Just(AdminState::Maintenance)
            ]).prop_map(|(i, a)| Op::SetAdmin(i, a)),
        4 => index.prop_map(Op::Close),
        12 => (any::<u8>(), any::<u64>(), prop_oneof![3 => Just(0u32), 1 => any::<u32>()])
            .prop_map(|(client, random, exclude_mask)| Op::Pick { client, random, exclude_mask }),
    ]
}

/// Initial servers: (weight, backup).
pub(crate) fn servers() -> impl Strategy<Value = Vec<(u16, bool)>> {
    prop::collection::vec((weight(), prop::bool::weighted(0.2)), 0..8)
}

pub(crate) struct World {
    pub(crate) kind: SchedulerKind,
    pub(crate) servers: Vec<Server>,
    health: HashMap<ServerId, Health>,
    registry: LiveRegistry,
    connections: Vec<Arc<ServerLive>>,
    next_id: u32,
    pub(crate) pool: Pool,
}

/// What one pick saw.
pub(crate) struct Picked {
    pub(crate) exclude: Vec<ServerId>,
    pub(crate) client: IpAddr,
    pub(crate) chosen: Option<ServerId>,
}

impl World {
    pub(crate) fn new(kind: SchedulerKind, servers: &[(u16, bool)]) -> Self {
        let mut world = World {
            kind,
            servers: Vec::new(),
            health: HashMap::new(),
            registry: LiveRegistry::default(),
            connections: Vec::new(),
            next_id: 0,
            pool: Pool::new(kind, Vec::new()),
        };
        for &(weight, backup) in servers {
            world.add(weight, backup);
        }
        world.rebuild();
        world
    }

    pub(crate) fn add(&mut self, weight: u16, backup: bool) -> ServerId {
        let id = ServerId(self.next_id);
        self.next_id += 1;
        let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + id.0)), 8080);
        let mut server = Server::new(id, format!("server-{}", id.0), address);
        server.weight = weight;
        server.backup = backup;
        self.servers.push(server);
        self.health.insert(id, Health::Up);
        id
    }

    pub(crate) fn remove(&mut self, id: ServerId) {
        self.servers.retain(|server| server.id != id);
        self.health.remove(&id);
        let ids: Vec<ServerId> = self.servers.iter().map(|s| s.id).collect();
        self.registry.retain(|id| ids.contains(&id));
    }

    pub(crate) fn rebuild(&mut self) {
        let health = &self.health;
        self.pool = Pool::build(
            self.kind,
            &self.servers,
            |id| health[&id],
            &mut self.registry,
        );
    }

    fn server_at(&self, index: usize) -> Option<ServerId> {
        (!self.servers.is_empty()).then(|| self.servers[index % self.servers.len()].id)
    }

    /// Applies `op`; returns what a pick saw.
    pub(crate) fn apply(&mut self, op: &Op) -> Option<Picked> {
        match *op {
            Op::SetWeight(i, weight) => self.configure(i, |server| server.weight = weight),
            Op::Add { weight, backup } if self.servers.len() < 16 => {
                self.add(weight, backup);
                self.rebuild();
            }
            Op::Add { .. } => {}
            Op::Remove(i) => {
                if let Some(id) = self.server_at(i) {
                    self.remove(id);
                    self.rebuild();
                }
            }
            Op::SetHealth(i, health) => {
                if let Some(id) = self.server_at(i) {
                    self.health.insert(id, health);
                    self.rebuild();
                }
            }
            Op::SetAdmin(i, admin) => self.configure(i, |server| server.admin = admin),
            Op::Close(i) => {
                if !self.connections.is_empty() {
                    let live = self.connections.swap_remove(i % self.connections.len());
                    live.connection_closed();
                }
            }
            Op::Pick {
                client,
                random,
                exclude_mask,
            } => {
                let exclude: Vec<ServerId> = (0..self.servers.len().min(32))
                    .filter(|bit| exclude_mask & (1 << bit) != 0)
                    .map(|position| self.servers[position].id)
                    .collect();
                let client = IpAddr::V4(Ipv4Addr::new(198, 51, 100, client));
                let chosen = self.pick_and_open(client, random, &exclude);
                return Some(Picked {
                    exclude,
                    client,
                    chosen,
                });
            }
        }
        None
    }

    fn configure(&mut self, index: usize, change: impl FnOnce(&mut Server)) {
        if self.servers.is_empty() {
            return;
        }
        let position = index % self.servers.len();
        change(&mut self.servers[position]);
        self.rebuild();
    }

    /// Picks, and opens a connection to the chosen server.
    pub(crate) fn pick_and_open(
        &mut self,
        client: IpAddr,
        random: u64,
        exclude: &[ServerId],
    ) -> Option<ServerId> {
        let context = PickContext {
            client,
            random,
            exclude,
        };
        let member = self.pool.pick(&context)?;
        member.live.connection_opened();
        self.connections.push(Arc::clone(&member.live));
        Some(member.id)
    }

    /// The servers that may take new connections, by the rules: usable primaries, else
    /// usable backups.
    pub(crate) fn expected_eligible(&self) -> Vec<ServerId> {
        let usable = |server: &&Server| {
            self.health[&server.id] == Health::Up
                && server.admin == AdminState::Ready
                && server.weight > 0
        };
        let tier = |backup: bool| -> Vec<ServerId> {
            self.servers
                .iter()
                .filter(|server| server.backup == backup)
                .filter(usable)
                .map(|server| server.id)
                .collect()
        };
        let primaries = tier(false);
        if primaries.is_empty() {
            tier(true)
        } else {
            primaries
        }
    }

    pub(crate) fn member(&self, id: ServerId) -> &Member {
        self.pool.member(id).expect("a member of the pool")
    }

    /// `(active, weight)` of a server.
    pub(crate) fn load(&self, id: ServerId) -> (u64, u64) {
        let member = self.member(id);
        (u64::from(member.live.active()), u64::from(member.weight))
    }

    /// Count of picks per server over `picks` picks, without opening connections.
    pub(crate) fn shares(
        &self,
        picks: usize,
        mut random: impl FnMut() -> u64,
    ) -> HashMap<ServerId, usize> {
        let mut counts = HashMap::new();
        for _ in 0..picks {
            let context = PickContext::new(IpAddr::V4(Ipv4Addr::LOCALHOST), random());
            if let Some(member) = self.pool.pick(&context) {
                *counts.entry(member.id).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// A fixed-seed random stream (SplitMix64), so statistical tests are reproducible.
pub(crate) fn random_stream(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = state;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }
}
