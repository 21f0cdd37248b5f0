//! The health-check runner: drives one `lb-health` state machine per server with real probes
//! and with what the proxy observes, and applies every transition to the service.
//!
//! Each server has a task that sleeps until its machine's next due time, probes (see
//! [`probe_io`]), and feeds the outcome to the machine; a VIP with `observe_failures` also has a
//! task that feeds the proxy's connection outcomes ([`crate::observe`]). A transition is
//! applied with [`ServiceHandle::set_health`] and then logged (`health changed vip=…
//! server=… health=up|down reason=…`); applying rebuilds the pool and, where configured, closes the
//! sessions of a server marked down.
//!
//! Every probe's duration goes to a [`CheckDurations`] histogram (`/metrics`).
//!
//! The checks follow the service's events ([`crate::events`]): a new server list
//! (`ServersChanged`: kept servers keep their state, new ones start in the initial state) and
//! new settings (`Reconfigured`: health kept, threshold counts start over when the check
//! settings changed), so whoever changes the service need not tell the checks.
//!
//! Lifecycle: [`HealthChecks::start`] → the service's changes, followed → [`HealthChecks::stop`].

mod durations;
mod probe_io;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use lb_core::model::{Check, Health, Server, ServerId};
use lb_health::{Event, HealthMachine};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::ServiceHandle;
use crate::events::VipEvent;
use crate::observe::Observation;
pub use durations::CheckDurations;
pub(crate) use durations::ServerLabels;

/// The running health checks of one service.
#[derive(Debug)]
pub struct HealthChecks {
    context: Arc<Context>,
    /// Follows the service's server list and check settings ([`follow`]).
    follower: JoinHandle<()>,
}

/// What every check task of a service shares.
#[derive(Debug)]
struct Context {
    service: Arc<ServiceHandle>,
    check: ArcSwap<Check>,
    durations: CheckDurations,
    origin: Instant,
    machines: Mutex<HashMap<ServerId, Watched>>,
    tasks: Mutex<Tasks>,
}

/// The probe task of each server, and the passive observation task.
#[derive(Debug, Default)]
struct Tasks {
    probes: HashMap<ServerId, JoinHandle<()>>,
    passive: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Watched {
    name: String,
    address: std::net::SocketAddr,
    machine: HealthMachine,
}

impl HealthChecks {
    /// Starts checking every server of `service` with its check settings, and follows its
    /// server list and settings from then on. Must be called within a Tokio runtime.
    pub fn start(service: Arc<ServiceHandle>) -> HealthChecks {
        HealthChecks::start_measured(service, CheckDurations::default())
    }

    /// Like [`HealthChecks::start`], recording probe durations in `durations`.
    pub fn start_measured(service: Arc<ServiceHandle>, durations: CheckDurations) -> HealthChecks {
        // Subscribed before the servers are read: a change from now on is followed.
        let events = service.events();
        let context = Arc::new(Context {
            check: ArcSwap::from_pointee(service.check()),
            service,
            durations,
            origin: Instant::now(),
            machines: Mutex::new(HashMap::new()),
            tasks: Mutex::default(),
        });
        context.sync();
        let follower = tokio::spawn(follow(Arc::clone(&context), events));
        HealthChecks { context, follower }
    }

    /// What the checks say of `server`, for operators: e.g. `up, 2/5 failures: connection
    /// refused`.
    pub fn detail(&self, server: ServerId) -> Option<String> {
        self.context
            .machines()
            .get(&server)
            .map(|w| w.machine.to_string())
    }

    /// The current health of `server` as the checks see it.
    pub fn health(&self, server: ServerId) -> Option<Health> {
        self.context
            .machines()
            .get(&server)
            .map(|w| w.machine.health())
    }

    /// Stops every check task and waits for them; their probe durations leave the metrics.
    pub async fn stop(self) {
        self.follower.abort();
        let vip = self.context.service.name();
        for watched in self.context.machines().values() {
            self.context.durations.forget(vip, &watched.name);
        }
        let tasks: Vec<JoinHandle<()>> = {
            let mut tasks = self.context.tasks();
            let passive = tasks.passive.take();
            tasks
                .probes
                .drain()
                .map(|(_, task)| task)
                .chain(passive)
                .collect()
        };
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
    }
}

impl Drop for HealthChecks {
    fn drop(&mut self) {
        self.follower.abort();
        let tasks = self.context.tasks();
        for task in tasks.probes.values().chain(&tasks.passive) {
            task.abort();
        }
    }
}

/// Follows the service's events until aborted: a new server list or new settings are taken
/// up; after missing events (a subscriber that fell behind), both are read again.
async fn follow(context: Arc<Context>, mut events: broadcast::Receiver<VipEvent>) {
    loop {
        match events.recv().await {
            Ok(VipEvent::ServersChanged { .. }) => context.set_servers(&context.service.servers()),
            Ok(VipEvent::Reconfigured) => context.reconfigure(),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => context.sync(),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

impl Context {
    /// Takes up the service's server list and settings as they are now.
    fn sync(self: &Arc<Self>) {
        self.reconfigure();
        self.set_servers(&self.service.servers());
    }

    /// Follows a new server list: new servers get a machine in the check's initial state and
    /// a probe task; removed ones lose theirs; kept ones (same id and address) keep both.
    fn set_servers(self: &Arc<Self>, servers: &[Server]) {
        let mut machines = self.machines();
        let mut tasks = self.tasks();
        let keep: HashMap<ServerId, &Server> = servers.iter().map(|s| (s.id, s)).collect();
        tasks.probes.retain(|id, task| {
            let kept = keep
                .get(id)
                .zip(machines.get(id))
                .is_some_and(|(server, watched)| server.address == watched.address);
            if !kept {
                task.abort();
                if let Some(watched) = machines.remove(id) {
                    self.durations.forget(self.service.name(), &watched.name);
                }
            }
            kept
        });
        let now = self.origin.elapsed();
        for server in servers {
            if let Some(watched) = machines.get_mut(&server.id) {
                watched.name.clone_from(&server.name);
                continue;
            }
            let machine = HealthMachine::new(&self.check.load(), now);
            let watched = Watched {
                name: server.name.clone(),
                address: server.address,
                machine,
            };
            machines.insert(server.id, watched);
            let task = tokio::spawn(watch(Arc::clone(self), server.id, server.address));
            tasks.probes.insert(server.id, task);
        }
    }

    /// Takes up the service's check settings if they changed: every machine keeps its
    /// server's health and starts its counts over; probes use the new settings from their
    /// next round. Passive observation starts if the service now reports connection outcomes.
    fn reconfigure(self: &Arc<Self>) {
        let check = self.service.check();
        if **self.check.load() != check {
            for watched in self.machines().values_mut() {
                watched.machine.reconfigure(&check);
            }
            self.check.store(Arc::new(check));
        }
        if let Some(receiver) = self.service.take_observations() {
            let mut tasks = self.tasks();
            if let Some(previous) = tasks.passive.take() {
                previous.abort();
            }
            tasks.passive = Some(tokio::spawn(observe(Arc::clone(self), receiver)));
        }
    }

    fn tasks(&self) -> MutexGuard<'_, Tasks> {
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn machines(&self) -> MutexGuard<'_, HashMap<ServerId, Watched>> {
        self.machines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn next_check(&self, server: ServerId) -> Option<Instant> {
        let due = self.machines().get(&server)?.machine.next_check_at();
        Some(self.origin + due)
    }

    /// Feeds `event` to `server`'s machine and applies a transition if one happens.
    fn record(&self, server: ServerId, event: Event) {
        let now = self.origin.elapsed();
        let change = {
            let mut machines = self.machines();
            let Some(watched) = machines.get_mut(&server) else {
                return;
            };
            watched
                .machine
                .on_event(now, event)
                .map(|t| (watched.name.clone(), t))
        };
        let Some((name, transition)) = change else {
            return;
        };
        let vip = self.service.name();
        let health = match transition.to {
            Health::Up => "up",
            Health::Down => "down",
        };
        // Applied before it is logged: whoever reads the line finds the pool already changed.
        if let Err(error) = self.service.set_health(server, transition.to) {
            warn!(%vip, server = %name, %error, "health change not applied");
            return;
        }
        if transition.to == Health::Down {
            warn!(%vip, server = %name, %health, reason = %transition.reason, "health changed");
        } else {
            info!(%vip, server = %name, %health, reason = %transition.reason, "health changed");
        }
    }
}

/// Probes `server` whenever its machine says a probe is due, until aborted.
async fn watch(context: Arc<Context>, server: ServerId, address: std::net::SocketAddr) {
    while let Some(due) = context.next_check(server) {
        tokio::time::sleep_until(due).await;
        let check = context.check.load_full();
        let started = Instant::now();
        let tls = context.service.server_tls();
        let outcome = probe_io::probe(&check, address, tls.as_deref()).await;
        let took = started.elapsed().as_secs_f64();
        if let Some(watched) = context.machines().get(&server) {
            let vip = context.service.name();
            context.durations.observe(vip, &watched.name, took);
        }
        context.record(server, Event::Probe(outcome));
    }
}

/// Feeds the proxy's connection outcomes to the machines.
async fn observe(context: Arc<Context>, mut observations: mpsc::Receiver<Observation>) {
    while let Some(observation) = observations.recv().await {
        context.record(observation.server, Event::Passive(observation.outcome));
    }
}
