//! The embedding API: a running TCP virtual service and the handle that changes and stops it.
//!
//! [`Service::start`] binds every listen address of a [`Vip`] (see [`crate::listener`]) and
//! accepts on each in its own task; every connection is a task of its own (see
//! [`crate::session`]). The pool snapshot the scheduler reads is held in an `ArcSwap` and
//! rebuilt on every change made through the [`ServiceHandle`], so connections never take a
//! lock; live counters and persistence survive rebuilds.
//!
//! Defaults: servers start with the VIP check's initial state (`up` unless configured
//! otherwise); the global cap is [`GlobalLimit::default`] unless one is shared with
//! [`Service::start_with`]. In TCP mode every byte moved counts as activity on both sides, so
//! a session closes after the smaller of the client and server timeouts without a byte
//! either way. Removing a server closes its sessions.
//!
//! Lifecycle: start (binds, or fails naming the VIP and address) → changes through the handle →
//! [`ServiceHandle::stop`] (stops accepting, closes every session, waits for their tasks).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use lb_core::model::{
    AdminState, Health, InitialState, KeepAlive, Network, ProxyVersion, SchedulerKind, Server,
    ServerId, Timeouts, Vip,
};
use lb_core::pool::{LiveRegistry, Pool};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::connect::Dialer;
use crate::limits::{GlobalLimit, Limits};
use crate::observe::{Observation, Observer};
use crate::selection::{Stick, Target};
use crate::sessions::Sessions;
use crate::stats::{Counters, ServerStats, Stats};
use crate::{Error, listener, session};

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
        let mut control = Control::new(&vip);
        let (observer, observations) = match vip.check.observe_failures {
            Some(_) => {
                let (observer, receiver) = Observer::new();
                (Some(observer), Some(receiver))
            }
            None => (None, None),
        };
        let shared = Arc::new(Shared {
            observer,
            pool: ArcSwap::from_pointee(control.build()),
            stick: Stick::new(&vip.persistence),
            sessions: Sessions::new(vip.servers.iter().map(|server| server.id)),
            limits: Limits::new(vip.max_connections, global),
            counters: Counters::default(),
            names: ArcSwap::from_pointee(names(&vip.servers)),
            origin: Instant::now(),
            settings: Settings::new(vip),
        });
        let (alive, sessions_done) = mpsc::channel(1);
        let acceptors = listeners
            .into_iter()
            .map(|listener| tokio::spawn(accept(listener, Arc::clone(&shared), alive.clone())))
            .collect();
        Ok(ServiceHandle {
            shared,
            control: Mutex::new(control),
            local_addrs,
            acceptors,
            sessions_done,
            observations: Mutex::new(observations),
        })
    }
}

/// A running service: change its servers, close sessions, read its counters, stop it.
#[derive(Debug)]
pub struct ServiceHandle {
    shared: Arc<Shared>,
    control: Mutex<Control>,
    local_addrs: Vec<SocketAddr>,
    acceptors: Vec<JoinHandle<()>>,
    sessions_done: mpsc::Receiver<()>,
    observations: Mutex<Option<mpsc::Receiver<Observation>>>,
}

impl ServiceHandle {
    /// The VIP's name.
    pub fn name(&self) -> &str {
        &self.shared.settings.name
    }

    /// The addresses actually listened on, in configured order (port 0 resolved).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// The connection outcomes this service observes, for passive health checks (see
    /// [`crate::HealthChecks`]); `Some` once, for a VIP with `observe_failures` set.
    pub fn take_observations(&self) -> Option<mpsc::Receiver<Observation>> {
        self.observations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// The current pool snapshot (servers, states, live counters).
    pub fn pool(&self) -> Arc<Pool> {
        self.shared.pool.load_full()
    }

    /// Replaces the server list. Servers keep their health and counters by id; new ones start
    /// in the check's initial state; removed ones lose their persistence entries and sessions.
    pub fn set_servers(&self, servers: Vec<Server>) {
        let mut control = self.control();
        let kept: HashMap<ServerId, Health> = servers
            .iter()
            .map(|server| {
                let health = control.health.get(&server.id).copied();
                (server.id, health.unwrap_or(control.initial))
            })
            .collect();
        for removed in control.servers.iter().filter(|s| !kept.contains_key(&s.id)) {
            self.shared.stick.remove_server(removed.id);
        }
        control.live.retain(|id| kept.contains_key(&id));
        control.health = kept;
        control.servers = servers;
        self.shared
            .sessions
            .set_servers(control.servers.iter().map(|server| server.id));
        self.shared.names.store(Arc::new(names(&control.servers)));
        self.publish(&mut control);
    }

    /// Sets a server's admin state. `drain` keeps its sessions and sticky clients but sends it
    /// no new ones; `maintenance` also closes its sessions.
    pub fn set_admin_state(&self, server: ServerId, state: AdminState) -> Result<(), Error> {
        let mut control = self.control();
        let entry = control
            .servers
            .iter_mut()
            .find(|s| s.id == server)
            .ok_or_else(|| self.unknown(server))?;
        entry.admin = state;
        self.publish(&mut control);
        if state == AdminState::Maintenance {
            self.shared.sessions.close(server);
        }
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
        self.publish(&mut control);
        if health == Health::Down && self.shared.settings.shutdown_sessions_on_down {
            self.shared.sessions.close(server);
        }
        Ok(())
    }

    /// Closes every established session of `server` now.
    pub fn close_sessions(&self, server: ServerId) -> Result<(), Error> {
        if self.shared.sessions.close(server) {
            Ok(())
        } else {
            Err(self.unknown(server))
        }
    }

    /// The service's counters.
    pub fn stats(&self) -> Stats {
        let pool = self.shared.pool.load();
        let servers = pool
            .members()
            .iter()
            .map(|member| ServerStats {
                id: member.id,
                active: member.live.active(),
                total: member.live.total(),
            })
            .collect();
        self.shared
            .counters
            .snapshot(self.shared.limits.waiting(), servers)
    }

    /// Stops accepting (the listening sockets close), closes every session and waits until
    /// their tasks have ended.
    pub async fn stop(mut self) {
        for acceptor in &self.acceptors {
            acceptor.abort();
        }
        for acceptor in self.acceptors.drain(..) {
            let _ = acceptor.await;
        }
        self.shared.sessions.close_all();
        // Nothing is ever sent: this returns once every session has dropped its sender.
        let _ = self.sessions_done.recv().await;
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        self.control
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn publish(&self, control: &mut Control) {
        self.shared.pool.store(Arc::new(control.build()));
    }

    fn unknown(&self, server: ServerId) -> Error {
        Error::UnknownServer {
            vip: self.shared.settings.name.clone(),
            server,
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, alive: mpsc::Sender<()>) {
    loop {
        match listener.accept().await {
            Ok((client, peer)) => {
                let shared = Arc::clone(&shared);
                let alive = alive.clone();
                tokio::spawn(async move {
                    session::serve(shared, client, peer).await;
                    drop(alive);
                });
            }
            Err(error) => {
                warn!(vip = %shared.settings.name, %error, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Pause after a failed accept (out of descriptors, say) before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What the admin side changes; rebuilt into a pool on every change.
#[derive(Debug)]
struct Control {
    kind: SchedulerKind,
    initial: Health,
    servers: Vec<Server>,
    health: HashMap<ServerId, Health>,
    live: LiveRegistry,
}

impl Control {
    fn new(vip: &Vip) -> Self {
        let initial = match vip.check.initial {
            InitialState::Up => Health::Up,
            InitialState::Down => Health::Down,
        };
        Control {
            kind: vip.scheduler,
            initial,
            servers: vip.servers.clone(),
            health: vip.servers.iter().map(|s| (s.id, initial)).collect(),
            live: LiveRegistry::default(),
        }
    }

    fn build(&mut self) -> Pool {
        let health = &self.health;
        Pool::build(
            self.kind,
            &self.servers,
            |id| health.get(&id).copied().unwrap_or(Health::Down),
            &mut self.live,
        )
    }
}

fn names(servers: &[Server]) -> HashMap<ServerId, Arc<str>> {
    servers
        .iter()
        .map(|server| (server.id, Arc::from(server.name.as_str())))
        .collect()
}

/// The VIP settings the connection path reads.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) name: String,
    pub(crate) timeouts: Timeouts,
    pub(crate) idle_limit: Duration,
    pub(crate) retries: u32,
    pub(crate) shutdown_sessions_on_down: bool,
    pub(crate) accept_proxy_from: Vec<Network>,
    pub(crate) send_proxy: Option<ProxyVersion>,
    pub(crate) client_keepalive: Option<KeepAlive>,
    pub(crate) dialer: Dialer,
}

impl Settings {
    fn new(vip: Vip) -> Self {
        Settings {
            idle_limit: vip.timeouts.client.min(vip.timeouts.server),
            dialer: Dialer {
                source: vip.source,
                timeout: vip.timeouts.connect,
                keepalive: vip.server_keepalive,
            },
            name: vip.name,
            timeouts: vip.timeouts,
            retries: vip.retries,
            shutdown_sessions_on_down: vip.shutdown_sessions_on_down,
            accept_proxy_from: vip.accept_proxy_from,
            send_proxy: vip.send_proxy,
            client_keepalive: vip.client_keepalive,
        }
    }
}

/// What every connection of a service shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    /// Reports connection outcomes for passive health checks, where configured.
    pub(crate) observer: Option<Observer>,
    pub(crate) pool: ArcSwap<Pool>,
    pub(crate) stick: Stick,
    pub(crate) sessions: Sessions,
    pub(crate) limits: Limits,
    pub(crate) counters: Counters,
    names: ArcSwap<HashMap<ServerId, Arc<str>>>,
    origin: Instant,
}

impl Shared {
    /// Time since the service started (the persistence tables' clock).
    pub(crate) fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The name of `target`'s server, for logs (its id if it was removed meanwhile).
    pub(crate) fn server_name(&self, target: &Target) -> String {
        match self.names.load().get(&target.id) {
            Some(name) => name.to_string(),
            None => target.id.to_string(),
        }
    }
}
