//! What the admin side of a service changes (scheduler, servers with their admin states and
//! weights, health), kept under the handle's lock and rebuilt into a pool snapshot after every
//! change.
//!
//! Defaults: a server new to the service starts in its check's initial state.

use std::collections::HashMap;

use lb_core::model::{Health, InitialState, SchedulerKind, Server, ServerId, Vip};
use lb_core::pool::{LiveRegistry, Pool};

use crate::limits::GlobalLimit;

/// The state a pool is built from.
#[derive(Debug)]
pub(crate) struct Control {
    /// The VIP's settings as last configured (its server list is not kept up to date: see
    /// `servers`).
    pub(crate) vip: Vip,
    /// The global cap the service runs under.
    pub(crate) global: GlobalLimit,
    kind: SchedulerKind,
    initial: Health,
    /// The servers, runtime changes included, in configured order.
    pub(crate) servers: Vec<Server>,
    /// What health checks say of each server.
    pub(crate) health: HashMap<ServerId, Health>,
    live: LiveRegistry,
}

impl Control {
    /// The state of a service that starts with `vip`.
    pub(crate) fn new(vip: &Vip, global: GlobalLimit) -> Self {
        let initial = initial_health(vip);
        Control {
            vip: vip.clone(),
            global,
            kind: vip.scheduler,
            initial,
            servers: vip.servers.clone(),
            health: vip.servers.iter().map(|s| (s.id, initial)).collect(),
            live: LiveRegistry::default(),
        }
    }

    /// Takes `vip`'s scheduler and initial state; returns the settings it replaces.
    pub(crate) fn reconfigure(&mut self, vip: &Vip) -> Vip {
        self.kind = vip.scheduler;
        self.initial = initial_health(vip);
        std::mem::replace(&mut self.vip, vip.clone())
    }

    /// Replaces the server list (health and counters kept by id, new servers in the initial
    /// state); returns the ids of the servers removed.
    pub(crate) fn set_servers(&mut self, servers: Vec<Server>) -> Vec<ServerId> {
        let kept: HashMap<ServerId, Health> = servers
            .iter()
            .map(|server| {
                let health = self.health.get(&server.id).copied();
                (server.id, health.unwrap_or(self.initial))
            })
            .collect();
        let removed = self
            .servers
            .iter()
            .map(|server| server.id)
            .filter(|id| !kept.contains_key(id))
            .collect();
        self.live.retain(|id| kept.contains_key(&id));
        self.health = kept;
        self.servers = servers;
        removed
    }

    /// The server with id `server`, to change.
    pub(crate) fn server_mut(&mut self, server: ServerId) -> Option<&mut Server> {
        self.servers.iter_mut().find(|s| s.id == server)
    }

    /// The pool snapshot for the current state.
    pub(crate) fn build(&mut self) -> Pool {
        let health = &self.health;
        Pool::build(
            self.kind,
            &self.servers,
            |id| health.get(&id).copied().unwrap_or(Health::Down),
            &mut self.live,
        )
    }
}

fn initial_health(vip: &Vip) -> Health {
    match vip.check.initial {
        InitialState::Up => Health::Up,
        InitialState::Down => Health::Down,
    }
}
