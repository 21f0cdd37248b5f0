//! Runs a whole configuration: one service and its health checks per VIP, under one global
//! connection cap (`[global] max_connections`).
//!
//! Lifecycle: [`Runtime::start`] binds every VIP or none (a VIP that cannot bind stops the
//! ones already started and is reported by name) → [`Runtime::vips`] for inspection and
//! runtime changes → [`Runtime::stop`] (checks first, then each service, which stops accepting
//! and closes its sessions).

use std::sync::Arc;

use lb_core::model::{Config, Vip};

use crate::{Error, GlobalLimit, HealthChecks, Service, ServiceHandle};

/// Every VIP of a configuration, running.
#[derive(Debug)]
pub struct Runtime {
    vips: Vec<RunningVip>,
}

/// One running VIP: its configuration, its service and its health checks.
#[derive(Debug)]
pub struct RunningVip {
    /// The configuration it was started from.
    pub config: Vip,
    /// The service (listeners, pool, sessions).
    pub service: Arc<ServiceHandle>,
    /// Its health checks.
    pub checks: HealthChecks,
}

impl Runtime {
    /// Starts every VIP of `config`. Must be called within a Tokio runtime.
    pub async fn start(config: &Config) -> Result<Runtime, Error> {
        let global = GlobalLimit::new(config.global.max_connections);
        let mut vips = Vec::with_capacity(config.vips.len());
        for vip in &config.vips {
            match Service::start_with(vip.clone(), global.clone()) {
                Ok(service) => {
                    let service = Arc::new(service);
                    let checks = HealthChecks::start(Arc::clone(&service), vip);
                    vips.push(RunningVip {
                        config: vip.clone(),
                        service,
                        checks,
                    });
                }
                Err(error) => {
                    Runtime { vips }.stop().await;
                    return Err(error);
                }
            }
        }
        Ok(Runtime { vips })
    }

    /// The running VIPs, in configuration order.
    pub fn vips(&self) -> &[RunningVip] {
        &self.vips
    }

    /// The running VIP called `name`.
    pub fn vip(&self, name: &str) -> Option<&RunningVip> {
        self.vips.iter().find(|vip| vip.config.name == name)
    }

    /// Stops every check and every service, and waits until their sessions have ended.
    pub async fn stop(self) {
        for vip in self.vips {
            vip.stop().await;
        }
    }
}

impl RunningVip {
    async fn stop(self) {
        self.checks.stop().await;
        match Arc::try_unwrap(self.service) {
            Ok(service) => service.stop().await,
            Err(shared) => {
                // Someone still holds the handle (an embedder's clone): close what we can.
                for server in &self.config.servers {
                    let _ = shared.close_sessions(server.id);
                }
            }
        }
    }
}
