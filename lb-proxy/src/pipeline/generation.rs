//! One generation of a service's shared state: the settings its connections read, and the
//! live state (pool, persistence, session registry, caps, counters, idle server connections,
//! events) they share.
//!
//! A connection holds the generation it was accepted under for its whole life, so a reload
//! never changes the settings of an established connection. A new generation (see
//! [`Shared::next`]) shares the live state of the previous one through `Arc`s, so counters,
//! session close signals and the pool stay common to every connection of the service; only
//! what changed is rebuilt: persistence when its settings change (entries are lost), the
//! VIP's cap when `max_connections` changes, the passive-health observer when
//! `observe_failures` is switched on, the idle HTTP server connections when what they were
//! made with changes (`server_tls`, `source`, the server timeout): a reload that leaves those
//! alone reuses them, so it opens no new server connections.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use lb_core::model::{KeepAlive, Mode, Network, ProxyVersion, Server, ServerId, Timeouts, Vip};
use lb_core::pool::Pool;
use tokio::sync::mpsc;

use crate::Error;
use crate::events::Events;
use crate::limits::{GlobalLimit, Limits};
use crate::observe::{Observation, Observer};
use crate::pipeline::connect::Dialer;
use crate::pipeline::http;
use crate::pipeline::http::upstream::{IDLE_LIMIT, MAX_IDLE_PER_SERVER, Upstreams};
use crate::pipeline::selection::{Stick, Target};
use crate::sessions::Sessions;
use crate::stats::Counters;
use crate::tls::Terminator;

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
    pub(crate) mode: Mode,
    /// What HTTP mode shares between connections (`http` VIPs only).
    pub(crate) http: Option<Arc<http::HttpVip>>,
    /// TLS termination, for VIPs with `tls`.
    pub(crate) tls: Option<Terminator>,
}

impl Settings {
    /// Fails when the VIP's TLS certificates (or `server_tls` files) cannot be loaded, or
    /// when it connects from its clients' addresses and cannot (see `pipeline::transparent`).
    fn new(vip: Vip) -> Result<Self, Error> {
        Ok(Settings {
            tls: Terminator::new(&vip)?,
            idle_limit: vip.timeouts.client.min(vip.timeouts.server),
            mode: vip.mode,
            http: (vip.mode == Mode::Http).then(|| Arc::new(http::HttpVip::new(&vip))),
            dialer: Dialer::new(&vip)?,
            name: vip.name,
            timeouts: vip.timeouts,
            retries: vip.retries,
            shutdown_sessions_on_down: vip.shutdown_sessions_on_down,
            accept_proxy_from: vip.accept_proxy_from,
            send_proxy: vip.send_proxy,
            client_keepalive: vip.client_keepalive,
        })
    }
}

/// What every connection of a service shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    /// Reports connection outcomes for passive health checks, where configured.
    pub(crate) observer: Option<Arc<Observer>>,
    pub(crate) pool: Arc<ArcSwap<Pool>>,
    pub(crate) stick: Arc<Stick>,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) names: Arc<ArcSwap<BTreeMap<ServerId, Arc<str>>>>,
    /// Idle HTTP connections to the servers, by address (`http` VIPs).
    pub(crate) upstreams: Arc<Upstreams>,
    /// Where what happens to the VIP is published.
    pub(crate) events: Arc<Events>,
    origin: Instant,
}

/// The receiving end of a new passive-health observer, for the health checks.
pub(crate) type Observations = Option<mpsc::Receiver<Observation>>;

impl Shared {
    /// The first generation of a service for `vip`, serving `pool`.
    pub(crate) fn first(
        vip: Vip,
        global: GlobalLimit,
        pool: Pool,
    ) -> Result<(Shared, Observations), Error> {
        let (observer, observations) = observer_for(&vip);
        let names = names(&vip.servers);
        let shared = Shared {
            observer,
            pool: Arc::new(ArcSwap::from_pointee(pool)),
            stick: Arc::new(Stick::new(&vip.persistence)),
            sessions: Arc::new(Sessions::new(vip.servers.iter().map(|server| server.id))),
            limits: Arc::new(Limits::new(vip.max_connections, global)),
            counters: Arc::default(),
            names: Arc::new(ArcSwap::from_pointee(names)),
            upstreams: upstreams_for(&vip),
            events: Arc::default(),
            origin: Instant::now(),
            settings: Settings::new(vip)?,
        };
        Ok((shared, observations))
    }

    /// The generation after this one, configured as `vip` (previously `old`); live state is
    /// kept as the module doc says. Fails, changing nothing, when the VIP's TLS certificates
    /// cannot be loaded.
    pub(crate) fn next(
        &self,
        old: &Vip,
        vip: Vip,
        global: &GlobalLimit,
    ) -> Result<(Shared, Observations), Error> {
        let (observer, observations) = match (&self.observer, vip.check.observe_failures) {
            (Some(observer), Some(_)) => (Some(Arc::clone(observer)), None),
            _ => observer_for(&vip),
        };
        let stick = if old.persistence == vip.persistence {
            Arc::clone(&self.stick)
        } else {
            Arc::new(Stick::new(&vip.persistence))
        };
        let limits = if old.max_connections == vip.max_connections {
            Arc::clone(&self.limits)
        } else {
            Arc::new(Limits::new(vip.max_connections, global.clone()))
        };
        let reusable = old.server_tls == vip.server_tls
            && old.source == vip.source
            && old.timeouts.server == vip.timeouts.server;
        let upstreams = if reusable {
            Arc::clone(&self.upstreams)
        } else {
            upstreams_for(&vip)
        };
        let shared = Shared {
            observer,
            upstreams,
            pool: Arc::clone(&self.pool),
            stick,
            sessions: Arc::clone(&self.sessions),
            limits,
            counters: Arc::clone(&self.counters),
            events: Arc::clone(&self.events),
            names: Arc::clone(&self.names),
            origin: self.origin,
            settings: Settings::new(vip)?,
        };
        Ok((shared, observations))
    }

    /// Time since the service started (the persistence tables' clock).
    pub(crate) fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The name of `target`'s server, for logs (its id if it was removed meanwhile).
    pub(crate) fn server_name(&self, target: &Target) -> Arc<str> {
        match self.names.load().get(&target.id) {
            Some(name) => Arc::clone(name),
            None => target.id.to_string().into(),
        }
    }
}

/// An empty pool of idle HTTP connections for `vip`'s servers, swept on a timer for as long
/// as a generation holds it.
fn upstreams_for(vip: &Vip) -> Arc<Upstreams> {
    let upstreams = Arc::new(Upstreams::new(
        MAX_IDLE_PER_SERVER,
        IDLE_LIMIT.min(vip.timeouts.server),
    ));
    http::upstream::sweep(&upstreams);
    upstreams
}

/// A new observer and its receiver for a VIP with `observe_failures` set.
fn observer_for(vip: &Vip) -> (Option<Arc<Observer>>, Observations) {
    match vip.check.observe_failures {
        Some(_) => {
            let (observer, receiver) = Observer::new();
            (Some(Arc::new(observer)), Some(receiver))
        }
        None => (None, None),
    }
}

/// Server names by id, for logs.
pub(crate) fn names(servers: &[Server]) -> BTreeMap<ServerId, Arc<str>> {
    servers
        .iter()
        .map(|server| (server.id, Arc::from(server.name.as_str())))
        .collect()
}
