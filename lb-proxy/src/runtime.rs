//! Runs a whole configuration: one service and its health checks per VIP, under one global
//! connection cap (`[global] max_connections`), and applies a new configuration as a diff.
//!
//! Reload ([`Runtime::reload`]) carries out the plan [`lb_core::reload`] computes (VIPs
//! matched by name, servers by name and address, runtime admin states and weights kept):
//! - a new VIP binds and starts; a removed one stops accepting at once and drains in the
//!   background: its connections get `[global] shutdown_timeout` to finish, then are closed;
//! - a rebound VIP is started afresh on the new sockets (fresh health, counters and
//!   persistence) and the old one drains as if removed;
//! - a VIP changed in place keeps its sockets: new settings (timeouts, scheduler, check,
//!   persistence, caps, PROXY protocol, mode) apply to new connections, established ones keep
//!   theirs and are never cut; persistence entries and idle server connections are kept
//!   unless what they depend on changed (see `crate::pipeline::generation`). A kept server keeps its
//!   health, its counters, its sessions and the persistence entries pointing at it; new
//!   servers start in the check's initial state; removed ones get no new connections and lose
//!   their persistence entries, while their established connections run on until they end
//!   (or the VIP stops).
//!
//! New sockets are bound, TLS certificates read and, for VIPs with `source = "client"`, the
//! transparent socket option tried before anything changes, so a reload that cannot bind,
//! finds a bad certificate or lacks CAP_NET_ADMIN changes nothing; certificates are read
//! again on every reload, so renewed files take effect for new connections. `[global] max_connections` and the
//! `[admin]` listener apply at start only (a reload changing them logs a warning); `shutdown_timeout` applies from the reload on.
//!
//! Lifecycle: [`Runtime::start`] binds every VIP or none → [`Runtime::reload`] and runtime
//! changes through [`RunningVip`] → [`Runtime::shutdown`] (graceful: stop accepting, drain up
//! to the deadline) or [`Runtime::stop`] (close everything now).

use std::collections::HashMap;

use lb_core::model::{Config, Global, Server, Vip};
use lb_core::reload::{self, Change, Running};
use serde::Serialize;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{info, warn};

use crate::health::CheckDurations;
use crate::pipeline::transparent;
use crate::tls::Terminator;
use crate::{Error, GlobalLimit, RunningVip};

/// Every VIP of a configuration, running.
#[derive(Debug)]
pub struct Runtime {
    vips: Vec<RunningVip>,
    global: GlobalLimit,
    settings: Global,
    durations: CheckDurations,
    draining: Vec<JoinHandle<()>>,
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
        let plan = self.plan(config);
        // Bind first: a reload that cannot bind must change nothing.
        let mut started = HashMap::new();
        for (vip, change) in &plan.vips {
            // Certificates of VIPs changed in place are read here too, before any change.
            let checked = match change {
                Change::Start | Change::Rebind => self.launch(vip.clone()).map(Some),
                Change::InPlace(_) => check_in_place(vip).map(|()| None),
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
        for (vip, change) in plan.vips {
            let name = vip.name;
            let running = match (change, previous.remove(&name), started.remove(&name)) {
                (Change::Start, None, Some(fresh)) => {
                    report.added.push(name);
                    fresh
                }
                (Change::Rebind, Some(old), Some(fresh)) => {
                    report.rebound.push(name);
                    self.drain_in_background(old).await;
                    fresh
                }
                (Change::InPlace(applied), Some(mut running), None) => {
                    if running.apply(*applied) {
                        report.changed.push(name);
                    } else {
                        report.unchanged.push(name);
                    }
                    running
                }
                _ => unreachable!("the plan was made from the running VIPs"),
            };
            self.vips.push(running);
        }
        for name in plan.removed {
            if let Some(running) = previous.remove(&name) {
                self.drain_in_background(running).await;
            }
            report.removed.push(name);
        }
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

    /// What a reload to `config` does to the running VIPs.
    fn plan(&self, config: &Config) -> reload::Plan {
        let servers: Vec<Vec<Server>> = self.vips.iter().map(|r| r.service.servers()).collect();
        let running: Vec<Running<'_>> = self
            .vips
            .iter()
            .zip(&servers)
            .map(|(vip, servers)| vip.as_running(servers))
            .collect();
        reload::plan(&running, config)
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
            drains.spawn(running.drain(deadline));
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
        RunningVip::launch(vip, self.global.clone(), self.durations.clone())
    }

    /// Closes `running`'s listening sockets now, so that they are closed once the reload is
    /// reported, then lets its connections drain in the background.
    async fn drain_in_background(&mut self, running: RunningVip) {
        running.service.stop_accepting().await;
        let deadline = self.settings.shutdown_timeout;
        self.draining.retain(|task| !task.is_finished());
        self.draining.push(tokio::spawn(async move {
            let name = running.config.name.clone();
            let finished = running.drain(deadline).await;
            info!(vip = %name, finished, "drained");
        }));
    }
}

/// What a VIP changed in place needs before the change, that can fail: the transparent option
/// (`source = "client"`) and its certificates.
fn check_in_place(vip: &Vip) -> Result<(), Error> {
    transparent::probe(vip)?;
    if vip.tls.is_some() {
        Terminator::new(vip)?;
    }
    Ok(())
}
