//! One running VIP and everything it owns: its service (listeners, pool, sessions), its
//! health checks, and the configuration it was loaded from. This is the embedding API's
//! one-call start ([`RunningVip::start`]: validated, checks included) and the place where
//! servers are changed by name, with validation, for the admin API and embedders alike; the
//! [`ServiceHandle`] under it changes them by id.
//!
//! Defaults: server ids for servers added at runtime follow the highest id configured, and are
//! never used twice in the VIP's life.

use std::net::SocketAddr;
use std::sync::Arc;

use lb_core::model::{AdminState, MAX_WEIGHT, Server, ServerId, Vip, validate_vip};
use lb_core::reload::{self, InPlace, Running};
use tracing::warn;

use crate::health::CheckDurations;
use crate::health::HealthChecks;
use crate::{Error, GlobalLimit, Service, ServiceHandle};

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

impl RunningVip {
    /// Validates `vip` ([`validate_vip`]), binds its addresses and starts serving it with its
    /// health checks, under the default global cap. Must be called within a Tokio runtime.
    pub fn start(vip: Vip) -> Result<RunningVip, Error> {
        RunningVip::launch(vip, GlobalLimit::default(), CheckDurations::default())
    }

    /// Like [`RunningVip::start`], under `global` and recording probe durations in
    /// `durations`.
    pub(crate) fn launch(
        vip: Vip,
        global: GlobalLimit,
        durations: CheckDurations,
    ) -> Result<RunningVip, Error> {
        let errors = validate_vip(&vip);
        if !errors.is_empty() {
            return Err(Error::Invalid {
                vip: vip.name,
                errors,
            });
        }
        let service = Arc::new(Service::start_with(vip.clone(), global)?);
        let checks = HealthChecks::start_measured(Arc::clone(&service), durations);
        Ok(RunningVip {
            next_id: reload::first_free_id(&vip),
            config: vip,
            service,
            checks,
        })
    }

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
        self.service.retire_servers(servers);
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
        self.service.retire_servers(servers);
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

    /// Sets a server's admin state at runtime (see [`ServiceHandle::set_admin_state`]).
    pub fn set_admin_state(&self, name: &str, state: AdminState) -> Result<(), ChangeError> {
        let server = self.server(name)?;
        self.service
            .set_admin_state(server.id, state)
            .map_err(|_| self.unknown(name))
    }

    /// Forgets every persistence entry; answers how many there were.
    pub fn clear_persistence(&self) -> usize {
        self.service.clear_persistence()
    }

    /// What a reload sees of this VIP, whose servers are `servers` now.
    pub(crate) fn as_running<'a>(&'a self, servers: &'a [Server]) -> Running<'a> {
        Running {
            config: &self.config,
            servers,
            next_id: self.next_id,
        }
    }

    /// Applies a reloaded configuration of this VIP (same listen addresses); answers whether
    /// anything changed.
    pub(crate) fn apply(&mut self, applied: InPlace) -> bool {
        let changed = applied.changes_anything();
        let InPlace {
            vip,
            loaded,
            next_id,
            settings_changed,
            servers_changed,
        } = applied;
        // TLS settings are rebuilt on every reload so that renewed certificate files are read.
        if settings_changed || vip.tls.is_some() || vip.server_tls.is_some() {
            // The health checks follow (see `crate::health`).
            if let Err(error) = self.service.reconfigure(&vip) {
                warn!(%error, "settings kept as they were");
                return false;
            }
        }
        if servers_changed {
            self.service.retire_servers(vip.servers);
        }
        (self.config, self.next_id) = (loaded, next_id);
        changed
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

    /// Stops the health checks and the service, closing its sessions now, and waits until
    /// they have ended.
    pub async fn stop(self) {
        self.checks.stop().await;
        self.service.stop().await;
    }

    /// Stops the health checks, then drains the service (see [`ServiceHandle::drain`]);
    /// answers whether every session finished by itself.
    pub(crate) async fn drain(self, deadline: std::time::Duration) -> bool {
        self.checks.stop().await;
        self.service.drain(deadline).await
    }
}

fn checked_weight(weight: u32) -> Result<u16, ChangeError> {
    u16::try_from(weight)
        .ok()
        .filter(|&w| w <= MAX_WEIGHT)
        .ok_or(ChangeError::Weight { weight })
}
