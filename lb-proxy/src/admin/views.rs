//! The JSON shapes of the admin API (a contract: documented in the README).
//!
//! A VIP: `name`, `mode`, `listen`, `scheduler`, `persistence`, `connections`
//! (`{active, total}`), `established`, `queued`, `bytes_in` (client to server), `bytes_out`,
//! `errors` (by kind), `http_responses` (by class) and `servers`. A server: `name`,
//! `address`, `weight`, `backup`, `state` (`maintenance` or `drain` when the operator set
//! them, else `up` or `down` as the checks say), `admin` (`ready`, `drain`, `maintenance`),
//! `health` (`up`, `down`), `check` (the checks' detail, e.g. `up, 0/3 failures`),
//! `connections` (`{active, total}`), `bytes_in`, `bytes_out`.

use std::collections::BTreeMap;

use lb_core::model::{AdminState, Health, Server};
use lb_core::pool::Member;
use serde::Serialize;

use crate::RunningVip;

/// Active and total connections.
#[derive(Debug, Serialize)]
pub(super) struct Connections {
    active: u64,
    total: u64,
}

/// One VIP.
#[derive(Debug, Serialize)]
pub(super) struct VipView {
    name: String,
    mode: &'static str,
    listen: Vec<String>,
    scheduler: &'static str,
    persistence: &'static str,
    connections: Connections,
    established: u64,
    queued: u32,
    bytes_in: u64,
    bytes_out: u64,
    errors: BTreeMap<&'static str, u64>,
    http_responses: BTreeMap<&'static str, u64>,
    servers: Vec<ServerView>,
}

/// One server of a VIP.
#[derive(Debug, Serialize)]
pub(super) struct ServerView {
    name: String,
    address: String,
    weight: u16,
    backup: bool,
    state: &'static str,
    admin: &'static str,
    health: &'static str,
    check: String,
    connections: Connections,
    bytes_in: u64,
    bytes_out: u64,
}

impl VipView {
    /// The view of `running` now.
    pub(super) fn of(running: &RunningVip) -> VipView {
        let config = &running.config;
        let stats = running.service.stats();
        let servers: Vec<ServerView> = running
            .service
            .servers()
            .iter()
            .map(|server| ServerView::of(running, server))
            .collect();
        let active = servers.iter().map(|server| server.connections.active).sum();
        let errors = BTreeMap::from(stats.errors_by_kind());
        let http_responses = ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .into_iter()
            .zip(stats.http_responses)
            .collect();
        VipView {
            name: config.name.clone(),
            mode: config.mode.as_str(),
            listen: running
                .service
                .local_addrs()
                .iter()
                .map(ToString::to_string)
                .collect(),
            scheduler: config.scheduler.as_str(),
            persistence: config.persistence.kind_name(),
            connections: Connections {
                active,
                total: stats.accepted,
            },
            established: stats.established,
            queued: stats.queued,
            bytes_in: stats.client_to_server_bytes,
            bytes_out: stats.server_to_client_bytes,
            errors,
            http_responses,
            servers,
        }
    }
}

impl ServerView {
    /// The view of `server` of `running` now.
    pub(super) fn of(running: &RunningVip, server: &Server) -> ServerView {
        let pool = running.service.pool();
        let member = pool.member(server.id);
        let health = member.map_or(Health::Down, |member| member.health);
        let (active, total, bytes_in, bytes_out) = member.map_or((0, 0, 0, 0), counters);
        ServerView {
            name: server.name.clone(),
            address: server.address.to_string(),
            weight: server.weight,
            backup: server.backup,
            state: state(server.admin, health),
            admin: server.admin.as_str(),
            health: health_name(health),
            check: running.checks.detail(server.id).unwrap_or_default(),
            connections: Connections { active, total },
            bytes_in,
            bytes_out,
        }
    }
}

fn counters(member: &Member) -> (u64, u64, u64, u64) {
    let live = &member.live;
    (
        live.active().into(),
        live.total(),
        live.bytes_from_clients(),
        live.bytes_to_clients(),
    )
}

/// What an operator reads first: their own decision, else what the checks say.
fn state(admin: AdminState, health: Health) -> &'static str {
    match admin {
        AdminState::Maintenance | AdminState::Drain => admin.as_str(),
        AdminState::Ready => health_name(health),
    }
}

fn health_name(health: Health) -> &'static str {
    match health {
        Health::Up => "up",
        Health::Down => "down",
    }
}
