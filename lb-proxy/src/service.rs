//! A running virtual service (TCP or HTTP) and its handle, the one place where the service's
//! state changes: every change swaps in a new pool snapshot, then is published as a
//! [`VipEvent`] (see [`crate::events`]).
//!
//! [`Service::start`] binds every listen address of a [`Vip`] (see [`crate::listener`]) and
//! accepts on each in its own task; every connection is a task of its own (see
//! [`crate::pipeline`]). The pool snapshot the scheduler reads is held in an `ArcSwap` and
//! rebuilt on every change made through the [`ServiceHandle`], so connections never take a
//! lock; live counters and persistence survive rebuilds. Embedders await a pool state (a server
//! marked down by its checks, say) with [`ServiceHandle::wait_for_pool`], woken by each rebuild.
//!
//! Defaults: servers start with the VIP check's initial state (`up` unless configured
//! otherwise); the global cap is [`GlobalLimit::default`] unless one is shared with
//! [`Service::start_with`]. In TCP mode every byte moved counts as activity on both sides, so
//! a session closes after the smaller of the client and server timeouts without a byte
//! either way. Removing a server closes its sessions.
//!
//! Settings change without a rebind through [`ServiceHandle::reconfigure`]: the acceptors load
//! the current generation of shared state (see [`crate::pipeline::generation`]) for each new connection,
//! while established connections keep the one they started under.
//!
//! Lifecycle: start (binds, or fails naming the VIP and address) → changes through the handle →
//! [`ServiceHandle::drain`] (stops accepting, lets sessions finish up to a deadline, then
//! closes the rest) or [`ServiceHandle::stop`] (stops accepting, closes every session at once);
//! both wait until every session task has ended.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use lb_core::model::{AdminState, Check, Health, MAX_WEIGHT, Server, ServerId, Vip};
use lb_core::pool::Pool;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::control::Control;
use crate::events::VipEvent;
use crate::limits::GlobalLimit;
use crate::observe::Observation;
use crate::persistence::PersistenceEntries;
use crate::pipeline::generation::Shared;
use crate::pipeline::generation::{Observations, names};
use crate::stats::{ServerStats, Stats};
use crate::tls::Originator;
use crate::{Error, listener, pipeline};

/// Starts TCP virtual services.
#[derive(Debug)]
pub struct Service;

impl Service {
    /// Binds `vip`'s addresses and starts serving it, under the default global cap. Must be
    /// called from within a Tokio runtime.
    pub fn start(vip: Vip) -> Result<ServiceHandle, Error> {
        Service::start_with(vip, GlobalLimit::default())
    }

    /// Like [`Service::start`], with a global cap shared with other services.
    pub fn start_with(vip: Vip, global: GlobalLimit) -> Result<ServiceHandle, Error> {
        if vip.listen.is_empty() {
            return Err(Error::NoListenAddress { vip: vip.name });
        }
        let listeners = vip
            .listen
            .iter()
            .map(|&address| listener::bind(&vip.name, address, vip.max_connections))
            .collect::<Result<Vec<_>, _>>()?;
        let local_addrs = listeners
            .iter()
            .zip(&vip.listen)
            .map(|(listener, &configured)| listener.local_addr().unwrap_or(configured))
            .collect();
        let mut control = Control::new(&vip, global.clone());
        let name = vip.name.clone();
        let (shared, observations) = Shared::first(vip, global, control.build())?;
        let current = Arc::new(ArcSwap::from_pointee(shared));
        let (alive, sessions_done) = mpsc::channel(1);
        let acceptors = listeners
            .into_iter()
            .map(|listener| {
                let accepting = pipeline::accept(listener, Arc::clone(&current), alive.clone());
                tokio::spawn(accepting)
            })
            .collect();
        Ok(ServiceHandle {
            name,
            current,
            control: Mutex::new(control),
            local_addrs,
            acceptors: Mutex::new(acceptors),
            sessions_done: tokio::sync::Mutex::new(sessions_done),
            observations: Mutex::new(observations),
        })
    }
}

/// A running service: change its servers, close sessions, read its counters, stop it.
#[derive(Debug)]
pub struct ServiceHandle {
    name: String,
    current: Arc<ArcSwap<Shared>>,
    control: Mutex<Control>,
    local_addrs: Vec<SocketAddr>,
    acceptors: Mutex<Vec<JoinHandle<()>>>,
    sessions_done: tokio::sync::Mutex<mpsc::Receiver<()>>,
    observations: Mutex<Observations>,
}

impl ServiceHandle {
    /// The VIP's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The addresses actually listened on, in configured order (port 0 resolved).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// The connection outcomes this service observes, for passive health checks (see
    /// [`crate::HealthChecks`]); `Some` once for a VIP with `observe_failures` set, and once
    /// more after a [`ServiceHandle::reconfigure`] that switched it on.
    pub fn take_observations(&self) -> Option<mpsc::Receiver<Observation>> {
        lock(&self.observations).take()
    }

    /// The current generation's TLS to the servers, for the health checks.
    pub(crate) fn server_tls(&self) -> Option<Arc<Originator>> {
        self.shared().settings.dialer.tls.clone()
    }

    /// The current pool snapshot (servers, states, live counters).
    pub fn pool(&self) -> Arc<Pool> {
        self.shared().pool.load_full()
    }

    /// Resolves once `test` holds for the pool: it is tested now and again after every event
    /// of the service ([`ServiceHandle::events`]: health, admin state, weight, servers,
    /// settings...), never on a timer. Bound the wait with `tokio::time::timeout` where the
    /// change may never come.
    pub async fn wait_for_pool(&self, mut test: impl FnMut(&Pool) -> bool) {
        // Subscribed before the first test, so that a change between the test and the wait
        // is not missed.
        let mut events = self.events();
        while !test(&self.pool()) {
            // The sender lives in the service's state, which `self` holds: the channel cannot
            // close while this borrows it, and a lagging receiver tests again all the same.
            let _ = events.recv().await;
        }
    }

    /// What happens to the service from now on, as [`VipEvent`]s (see [`crate::events`]).
    pub fn events(&self) -> broadcast::Receiver<VipEvent> {
        self.shared().events.subscribe()
    }

    /// The health check settings as last configured.
    pub(crate) fn check(&self) -> Check {
        self.control().vip.check.clone()
    }

    /// The servers as they are now (runtime changes included), in configured order.
    pub fn servers(&self) -> Vec<Server> {
        self.control().servers.clone()
    }

    /// Applies `vip`'s settings (timeouts, scheduler, persistence, caps, check initial state,
    /// PROXY protocol, mode...) to new connections, without a rebind: the listen addresses
    /// and the server list are not read (see [`ServiceHandle::set_servers`]). Established
    /// connections keep the settings they started under. TLS certificates are read again;
    /// when they cannot be, nothing changes and the error says why.
    pub fn reconfigure(&self, vip: &Vip) -> Result<(), Error> {
        let mut control = self.control();
        let mut settings = vip.clone();
        settings.servers = control.servers.clone();
        let (next, observations) = self
            .shared()
            .next(&control.vip, settings, &control.global)?;
        control.reconfigure(vip);
        self.current.store(Arc::new(next));
        if observations.is_some() {
            *lock(&self.observations) = observations;
        }
        self.publish(&mut control, VipEvent::Reconfigured);
        Ok(())
    }

    /// Replaces the server list. Servers keep their health and counters by id; new ones start
    /// in the check's initial state; removed ones lose their persistence entries and sessions.
    pub fn set_servers(&self, servers: Vec<Server>) {
        self.replace_servers(servers, false);
    }

    /// Like [`ServiceHandle::set_servers`], but the established sessions of removed servers
    /// run on until they end by themselves (or the service stops or its drain deadline
    /// passes).
    pub fn retire_servers(&self, servers: Vec<Server>) {
        self.replace_servers(servers, true);
    }

    fn replace_servers(&self, servers: Vec<Server>, graceful: bool) {
        let mut control = self.control();
        let shared = self.shared();
        let forgotten: Vec<VipEvent> = control
            .set_servers(servers)
            .into_iter()
            .map(|server| (server, shared.stick.remove_server(server)))
            .filter(|&(_, entries)| entries > 0)
            .map(|(server, entries)| VipEvent::PersistenceRemoved { server, entries })
            .collect();
        let ids = control.servers.iter().map(|server| server.id);
        if graceful {
            shared.sessions.retire_servers(ids);
        } else {
            shared.sessions.set_servers(ids);
        }
        shared.names.store(Arc::new(names(&control.servers)));
        let addresses: Vec<SocketAddr> = control.servers.iter().map(|s| s.address).collect();
        shared.upstreams.keep_only(&addresses);
        let servers = control.servers.iter().map(|server| server.id).collect();
        self.publish(&mut control, VipEvent::ServersChanged { servers });
        for event in forgotten {
            shared.events.publish(event);
        }
    }

    /// Sets a server's admin state. `drain` keeps its sessions and sticky clients but sends it
    /// no new ones; `maintenance` also closes its sessions.
    pub fn set_admin_state(&self, server: ServerId, state: AdminState) -> Result<(), Error> {
        let mut control = self.control();
        control
            .server_mut(server)
            .ok_or_else(|| self.unknown(server))?
            .admin = state;
        self.publish(&mut control, VipEvent::AdminStateChanged { server, state });
        if state == AdminState::Maintenance {
            self.shared().sessions.close(server);
        }
        Ok(())
    }

    /// Sets a server's weight (`0..=MAX_WEIGHT`; 0 takes no new connections) for new
    /// connections; a weight out of range is refused.
    pub fn set_weight(&self, server: ServerId, weight: u16) -> Result<(), Error> {
        if weight > MAX_WEIGHT {
            return Err(Error::Weight {
                vip: self.name.clone(),
                weight,
            });
        }
        let mut control = self.control();
        control
            .server_mut(server)
            .ok_or_else(|| self.unknown(server))?
            .weight = weight;
        self.publish(&mut control, VipEvent::WeightChanged { server, weight });
        Ok(())
    }

    /// Sets what health checks say of a server. Down with `shutdown_sessions_on_down` also
    /// closes its sessions.
    pub fn set_health(&self, server: ServerId, health: Health) -> Result<(), Error> {
        let mut control = self.control();
        *control
            .health
            .get_mut(&server)
            .ok_or_else(|| self.unknown(server))? = health;
        self.publish(&mut control, VipEvent::HealthChanged { server, health });
        let shared = self.shared();
        if health == Health::Down && shared.settings.shutdown_sessions_on_down {
            shared.sessions.close(server);
        }
        Ok(())
    }

    /// Closes every established session of `server` now.
    pub fn close_sessions(&self, server: ServerId) -> Result<(), Error> {
        if self.shared().sessions.close(server) {
            Ok(())
        } else {
            Err(self.unknown(server))
        }
    }

    /// Forgets every persistence entry (source-ip table, last-successful server); answers
    /// how many there were.
    pub fn clear_persistence(&self) -> usize {
        let shared = self.shared();
        let entries = shared.stick.clear();
        shared
            .events
            .publish(VipEvent::PersistenceCleared { entries });
        entries
    }

    /// The persistence entries as they stand (see [`crate::persistence`]).
    pub fn persistence_entries(&self) -> PersistenceEntries {
        let shared = self.shared();
        shared.stick.entries(shared.now())
    }

    /// Sets the last-successful entry to `server` (`None` forgets it), as a peer decided;
    /// answers whether the VIP keeps such an entry. Not published as an event.
    pub fn learn_last_successful(&self, server: Option<ServerId>) -> bool {
        self.shared().stick.learn_last_successful(server)
    }

    /// Sets `client`'s source-IP entry to `server` for `remaining` more (`None` forgets it),
    /// as a peer decided; answers whether the VIP keeps such entries. Not published as an
    /// event.
    pub fn learn_source_ip(
        &self,
        client: IpAddr,
        server: Option<ServerId>,
        remaining: Duration,
    ) -> bool {
        let shared = self.shared();
        shared
            .stick
            .learn_source_ip(client, server, remaining, shared.now())
    }

    /// Closes every established session of every server now, and keeps serving new ones (the
    /// VIP's address left this host: its clients are gone, its servers' sessions must not
    /// linger; should the address come back, clients are served as before).
    pub fn close_established_sessions(&self) {
        self.shared().sessions.close_established();
    }

    /// The service's counters.
    pub fn stats(&self) -> Stats {
        let shared = self.shared();
        let pool = shared.pool.load();
        let servers = pool
            .members()
            .iter()
            .map(|member| ServerStats {
                id: member.id,
                active: member.live.active(),
                total: member.live.total(),
                bytes_from_clients: member.live.bytes_from_clients(),
                bytes_to_clients: member.live.bytes_to_clients(),
            })
            .collect();
        shared.counters.snapshot(shared.limits.waiting(), servers)
    }

    /// Stops accepting (the listening sockets close), lets established sessions finish for
    /// up to `deadline`, then closes the rest; returns once every session task has ended,
    /// answering whether they all finished by themselves.
    pub async fn drain(&self, deadline: Duration) -> bool {
        self.stop_accepting().await;
        let mut sessions_done = self.sessions_done.lock().await;
        // Nothing is ever sent: recv returns once every session has dropped its sender.
        if tokio::time::timeout(deadline, sessions_done.recv())
            .await
            .is_ok()
        {
            return true;
        }
        self.shared().sessions.close_all();
        let _ = sessions_done.recv().await;
        false
    }

    /// Stops accepting (the listening sockets close), closes every session and waits until
    /// their tasks have ended. Any handle stops the service: clones of an `Arc` of it too.
    pub async fn stop(&self) {
        self.stop_accepting().await;
        self.shared().sessions.close_all();
        let _ = self.sessions_done.lock().await.recv().await;
    }

    /// Stops accepting: the listening sockets are closed when this returns (connections
    /// already accepted are not affected).
    pub async fn stop_accepting(&self) {
        let acceptors = std::mem::take(&mut *lock(&self.acceptors));
        for acceptor in &acceptors {
            acceptor.abort();
        }
        for acceptor in acceptors {
            let _ = acceptor.await;
        }
    }

    fn shared(&self) -> Arc<Shared> {
        self.current.load_full()
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        lock(&self.control)
    }

    /// Swaps in the pool of `control`'s state, then tells subscribers of `event`.
    fn publish(&self, control: &mut Control, event: VipEvent) {
        let shared = self.shared();
        shared.pool.store(Arc::new(control.build()));
        shared.events.publish(event);
    }

    fn unknown(&self, server: ServerId) -> Error {
        Error::UnknownServer {
            vip: self.name.clone(),
            server,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
