//! Runs a whole configuration: one service and its health checks per VIP, under one global
//! connection cap (`[global] max_connections`), and applies a new configuration as a diff.
//!
//! Reload ([`Runtime::reload`]), VIPs matched by name:
//! - a new VIP binds and starts; a removed one stops accepting at once and drains in the
//!   background: its connections get `[global] shutdown_timeout` to finish, then are closed;
//! - a VIP whose listen addresses changed is started afresh on the new sockets (fresh health,
//!   counters and persistence) and the old one drains as if removed: only a rebind needs this;
//! - any other VIP is changed in place, on the sockets it has: new settings (timeouts,
//!   scheduler, check, persistence, caps, PROXY protocol, mode) apply to new connections,
//!   established ones keep theirs and are never cut. Persistence entries are kept unless the
//!   persistence settings changed;
//! - servers are matched by VIP, name and address. A kept server keeps its [`ServerId`] (the
//!   parser numbers servers by position, so ids are remapped here by name), its health, its
//!   counters, its sessions and the persistence entries pointing at it; its admin state and
//!   weight set at runtime (admin API) stay unless the file's value for it changed. New
//!   servers get ids never used before in that VIP and start in the check's initial state;
//!   removed ones get no new connections and lose their persistence entries, while their
//!   established connections run on until they end (or the VIP stops). A server added at
//!   runtime and not in the file is removed: the file says which servers exist.
//!
//! New sockets are bound and TLS certificates read before anything changes, so a reload that
//! cannot bind or finds a bad certificate changes nothing; certificates are read again on every
//! reload, so renewed files take effect for new connections. `[global] max_connections` and the `[admin]` listener apply at start only (a
//! reload changing them logs a warning); `shutdown_timeout` applies from the reload on.
//!
//! Lifecycle: [`Runtime::start`] binds every VIP or none → [`Runtime::reload`] and runtime
//! changes through [`RunningVip`] → [`Runtime::shutdown`] (graceful: stop accepting, drain up
//! to the deadline) or [`Runtime::stop`] (close everything now).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use lb_core::model::{Config, Global, MAX_WEIGHT, Server, ServerId, Vip};
use serde::Serialize;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{info, warn};

use crate::metrics::CheckDurations;
use crate::tls::Terminator;
use crate::{Error, GlobalLimit, HealthChecks, Service, ServiceHandle};

/// Every VIP of a configuration, running.
#[derive(Debug)]
pub struct Runtime {
    vips: Vec<RunningVip>,
    global: GlobalLimit,
    settings: Global,
    durations: CheckDurations,
    draining: Vec<JoinHandle<()>>,
}

/// One running VIP: its configuration, its service and its health checks.
#[derive(Debug)]
pub struct RunningVip {
    /// The configuration it was started or last reloaded from (server ids as running).
    pub config: Vip,
    /// The service (listeners, pool, sessions).
    pub service: Arc<ServiceHandle>,
    /// Its health checks.
    pub checks: HealthChecks,
    next_id: u32,
}

/// What a reload did, VIPs by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReloadReport {
    /// VIPs started.
    pub added: Vec<String>,
    /// VIPs stopped (draining).
    pub removed: Vec<String>,
    /// VIPs changed in place.
    pub changed: Vec<String>,
    /// VIPs restarted on new listen addresses (the old sockets drain).
    pub rebound: Vec<String>,
    /// VIPs left as they were.
    pub unchanged: Vec<String>,
}

/// Why a runtime change to a server was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// No server by that name.
    #[error("VIP `{vip}` has no server `{server}`")]
    UnknownServer {
        /// The VIP.
        vip: String,
        /// The name asked for.
        server: String,
    },
    /// A server by that name exists already.
    #[error("VIP `{vip}` already has a server `{server}`")]
    Duplicate {
        /// The VIP.
        vip: String,
        /// The name.
        server: String,
    },
    /// A weight above [`MAX_WEIGHT`].
    #[error("weight {weight} is out of range (0-{MAX_WEIGHT})")]
    Weight {
        /// The weight asked for.
        weight: u32,
    },
}

impl Runtime {
    /// Starts every VIP of `config`. Must be called within a Tokio runtime.
    pub async fn start(config: &Config) -> Result<Runtime, Error> {
        let mut runtime = Runtime {
            vips: Vec::with_capacity(config.vips.len()),
            global: GlobalLimit::new(config.global.max_connections),
            settings: config.global.clone(),
            durations: CheckDurations::default(),
            draining: Vec::new(),
        };
        for vip in &config.vips {
            match runtime.launch(vip.clone()) {
                Ok(running) => runtime.vips.push(running),
                Err(error) => {
                    runtime.stop().await;
                    return Err(error);
                }
            }
        }
        Ok(runtime)
    }

    /// The running VIPs, in configuration order.
    pub fn vips(&self) -> &[RunningVip] {
        &self.vips
    }

    /// The running VIP called `name`.
    pub fn vip(&self, name: &str) -> Option<&RunningVip> {
        self.vips.iter().find(|vip| vip.config.name == name)
    }

    /// The running VIP called `name`, to change.
    pub fn vip_mut(&mut self, name: &str) -> Option<&mut RunningVip> {
        self.vips.iter_mut().find(|vip| vip.config.name == name)
    }

    /// The process-wide settings in force.
    pub fn global(&self) -> &Global {
        &self.settings
    }

    /// The health probe durations of every VIP (for `/metrics`).
    pub fn check_durations(&self) -> &CheckDurations {
        &self.durations
    }

    /// Applies `config` as a diff (see the module doc). On error nothing has changed.
    pub async fn reload(&mut self, config: &Config) -> Result<ReloadReport, Error> {
        let mut report = ReloadReport::default();
        if config.global.max_connections != self.settings.max_connections {
            warn!(
                running = self.settings.max_connections,
                configured = config.global.max_connections,
                "[global] max_connections changes apply at the next restart"
            );
        }
        // Bind first: a reload that cannot bind must change nothing.
        let mut started = HashMap::new();
        for vip in &config.vips {
            let listen_changed = self
                .vip(&vip.name)
                .is_some_and(|running| running.config.listen != vip.listen);
            let fresh = self.vip(&vip.name).is_none() || listen_changed;
            // Certificates of VIPs changed in place are read here too, before any change.
            let checked = match (fresh, &vip.tls) {
                (true, _) => self.launch(vip.clone()).map(Some),
                (false, Some(_)) => Terminator::new(vip).map(|_| None),
                (false, None) => Ok(None),
            };
            match checked {
                Ok(Some(running)) => {
                    started.insert(vip.name.clone(), running);
                }
                Ok(None) => {}
                Err(error) => {
                    for (_, running) in started {
                        running.stop().await;
                    }
                    return Err(error);
                }
            }
        }
        self.settings.shutdown_timeout = config.global.shutdown_timeout;
        let mut previous: HashMap<String, RunningVip> = self
            .vips
            .drain(..)
            .map(|running| (running.config.name.clone(), running))
            .collect();
        for vip in &config.vips {
            let kept = previous.remove(&vip.name);
            let running = match (started.remove(&vip.name), kept) {
                (Some(fresh), None) => {
                    report.added.push(vip.name.clone());
                    fresh
                }
                (Some(fresh), Some(old)) => {
                    report.rebound.push(vip.name.clone());
                    self.drain_in_background(old);
                    fresh
                }
                (None, Some(mut running)) => {
                    if running.apply(vip) {
                        report.changed.push(vip.name.clone());
                    } else {
                        report.unchanged.push(vip.name.clone());
                    }
                    running
                }
                (None, None) => unreachable!("every VIP is either running or started"),
            };
            self.vips.push(running);
        }
        for (name, running) in previous {
            report.removed.push(name);
            self.drain_in_background(running);
        }
        report.removed.sort();
        info!(
            added = report.added.len(),
            removed = report.removed.len(),
            changed = report.changed.len(),
            rebound = report.rebound.len(),
            unchanged = report.unchanged.len(),
            "reloaded"
        );
        Ok(report)
    }

    /// Graceful shutdown: every VIP stops accepting at once, and connections get
    /// `shutdown_timeout` to finish before the rest are closed. Answers whether every
    /// connection finished by itself.
    pub async fn shutdown(self) -> bool {
        let deadline = self.settings.shutdown_timeout;
        for running in &self.vips {
            running.service.stop_accepting().await;
        }
        info!(
            vips = self.vips.len(),
            "listeners closed, waiting for open connections"
        );
        let mut drains = JoinSet::new();
        for running in self.vips {
            running.checks.stop().await;
            let service = running.service;
            drains.spawn(async move { service.drain(deadline).await });
        }
        let mut finished = true;
        while let Some(drained) = drains.join_next().await {
            finished &= drained.unwrap_or(false);
        }
        for draining in self.draining {
            let _ = draining.await;
        }
        finished
    }

    /// Stops every check and every service, closing their sessions now, and waits until the
    /// sessions have ended.
    pub async fn stop(self) {
        for vip in self.vips {
            vip.stop().await;
        }
        for draining in self.draining {
            draining.abort();
        }
    }

    fn launch(&self, vip: Vip) -> Result<RunningVip, Error> {
        let service = Arc::new(Service::start_with(vip.clone(), self.global.clone())?);
        let checks =
            HealthChecks::start_measured(Arc::clone(&service), &vip, self.durations.clone());
        let next_id = vip.servers.iter().map(|s| s.id.0 + 1).max().unwrap_or(0);
        Ok(RunningVip {
            config: vip,
            service,
            checks,
            next_id,
        })
    }

    fn drain_in_background(&mut self, running: RunningVip) {
        let deadline = self.settings.shutdown_timeout;
        self.draining.retain(|task| !task.is_finished());
        self.draining.push(tokio::spawn(async move {
            let name = running.config.name.clone();
            running.checks.stop().await;
            let finished = running.service.drain(deadline).await;
            info!(vip = %name, finished, "drained");
        }));
    }
}

impl RunningVip {
    /// Adds a server at runtime, ready, in the check's initial health state; answers its id.
    pub fn add_server(
        &mut self,
        name: &str,
        address: SocketAddr,
        weight: u32,
        backup: bool,
    ) -> Result<ServerId, ChangeError> {
        let weight = checked_weight(weight)?;
        let mut servers = self.service.servers();
        if servers.iter().any(|server| server.name == name) {
            return Err(ChangeError::Duplicate {
                vip: self.config.name.clone(),
                server: name.to_owned(),
            });
        }
        let id = self.allocate();
        let mut server = Server::new(id, name, address);
        server.weight = weight;
        server.backup = backup;
        servers.push(server);
        self.install(servers);
        Ok(id)
    }

    /// Removes a server at runtime: it gets no new connections and its persistence entries
    /// go; its established connections run on until they end (set it to `maintenance` first
    /// to close them).
    pub fn remove_server(&mut self, name: &str) -> Result<(), ChangeError> {
        let mut servers = self.service.servers();
        let before = servers.len();
        servers.retain(|server| server.name != name);
        if servers.len() == before {
            return Err(self.unknown(name));
        }
        self.install(servers);
        Ok(())
    }

    /// The running server called `name` (runtime changes included).
    pub fn server(&self, name: &str) -> Result<Server, ChangeError> {
        self.service
            .servers()
            .into_iter()
            .find(|server| server.name == name)
            .ok_or_else(|| self.unknown(name))
    }

    /// Sets a server's weight at runtime.
    pub fn set_weight(&self, name: &str, weight: u32) -> Result<(), ChangeError> {
        let weight = checked_weight(weight)?;
        let server = self.server(name)?;
        self.service
            .set_weight(server.id, weight)
            .map_err(|_| self.unknown(name))
    }

    /// Applies a reloaded configuration of this VIP (same listen addresses); answers whether
    /// anything changed.
    fn apply(&mut self, vip: &Vip) -> bool {
        let mut vip = vip.clone();
        vip.servers = self.remap(&vip.servers);
        let settings_changed = without_servers(&self.config) != without_servers(&vip);
        let running = self.service.servers();
        let servers_changed = running != vip.servers;
        // TLS settings are rebuilt on every reload so that renewed certificate files are read.
        if settings_changed || vip.tls.is_some() || vip.server_tls.is_some() {
            if let Err(error) = self.service.reconfigure(&vip) {
                warn!(%error, "settings kept as they were");
                return false;
            }
            if self.config.check != vip.check {
                self.checks.reconfigure(&vip);
            }
        }
        if servers_changed {
            self.install(vip.servers.clone());
        }
        self.config = vip;
        settings_changed || servers_changed
    }

    /// The file's `servers` with the ids, admin states and weights described in the module doc.
    fn remap(&mut self, servers: &[Server]) -> Vec<Server> {
        let running = self.service.servers();
        let mut remapped = Vec::with_capacity(servers.len());
        for server in servers {
            let mut server = server.clone();
            let kept = running
                .iter()
                .find(|r| r.name == server.name && r.address == server.address);
            match kept {
                Some(kept) => {
                    server.id = kept.id;
                    if let Some(before) = self.config.servers.iter().find(|s| s.name == server.name)
                    {
                        if before.admin == server.admin {
                            server.admin = kept.admin;
                        }
                        if before.weight == server.weight {
                            server.weight = kept.weight;
                        }
                    }
                }
                None => server.id = self.allocate(),
            }
            remapped.push(server);
        }
        remapped
    }

    fn install(&mut self, servers: Vec<Server>) {
        self.service.retire_servers(servers.clone());
        self.checks.set_servers(&servers);
    }

    fn allocate(&mut self) -> ServerId {
        let id = ServerId(self.next_id);
        self.next_id += 1;
        id
    }

    fn unknown(&self, server: &str) -> ChangeError {
        ChangeError::UnknownServer {
            vip: self.config.name.clone(),
            server: server.to_owned(),
        }
    }

    async fn stop(self) {
        self.checks.stop().await;
        match Arc::try_unwrap(self.service) {
            Ok(service) => service.stop().await,
            Err(shared) => {
                // Someone still holds the handle (an embedder's clone): close what we can.
                for server in shared.servers() {
                    let _ = shared.close_sessions(server.id);
                }
            }
        }
    }
}

fn checked_weight(weight: u32) -> Result<u16, ChangeError> {
    u16::try_from(weight)
        .ok()
        .filter(|&w| w <= MAX_WEIGHT)
        .ok_or(ChangeError::Weight { weight })
}

fn without_servers(vip: &Vip) -> Vip {
    Vip {
        servers: Vec::new(),
        ..vip.clone()
    }
}
