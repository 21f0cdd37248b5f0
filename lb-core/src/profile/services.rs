//! The 23 OpenStack control-plane services as a table, and what each column means in model
//! terms.
//!
//! One row per VIP: name, port, mode, scheduler, stickiness, probe and idle class, as in the
//! Loadbalancer.org guide's VIP table with TripleO's per-service HAProxy parameters. The
//! column types are small enums so the table reads like the reference; their methods turn a
//! cell into the model value ([`Persistence`], [`CheckKind`], [`Timeouts`]).
//!
//! Defaults behind every row: HTTP checks expect 2xx-3xx (HAProxy's `httpchk` default) unless
//! the row says otherwise; connect 10 s, queue 2 m, HTTP request head 10 s; tunnel 1 h.

use std::time::Duration;

use crate::model::{
    CheckKind, HttpCheck, KeepAlive, Mode, Persistence, SchedulerKind, StatusRange, Timeouts,
};

/// The port Galera's clustercheck answers on (HTTP 200 when the node is synced, 503 when not).
pub(super) const CLUSTERCHECK_PORT: u16 = 9200;

/// One service of the control plane.
#[derive(Debug, Clone, Copy)]
pub(super) struct Service {
    pub(super) name: &'static str,
    pub(super) port: u16,
    pub(super) mode: Mode,
    pub(super) scheduler: SchedulerKind,
    pub(super) stickiness: Stickiness,
    pub(super) probe: Probe,
    pub(super) idle: Idle,
}

/// How clients stay on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stickiness {
    /// Every connection is scheduled afresh.
    None,
    /// The client address picks the server (noVNC consoles).
    SourceIp,
    /// The `SERVERID` cookie, inserted, indirect and not cached (Horizon sessions).
    Cookie,
    /// One writer for every client, no failback (Galera, Redis master).
    SingleWriter,
}

impl Stickiness {
    pub(super) fn persistence(self) -> Persistence {
        match self {
            Stickiness::None => Persistence::None,
            Stickiness::SourceIp => Persistence::source_ip(),
            Stickiness::Cookie => Persistence::cookie(),
            // A drained writer keeps the writer role until it is put in maintenance, as
            // HAProxy's stick table does: moving new clients away while old sessions still
            // write would make two writers.
            Stickiness::SingleWriter => Persistence::LastSuccessful {
                clear_on_drain: false,
            },
        }
    }
}

/// How a server of the service is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Probe {
    /// A TCP connect.
    Connect,
    /// `GET /healthcheck` (the oslo.middleware endpoint), 2xx-3xx.
    Healthcheck,
    /// `GET /`, 2xx-3xx.
    Root,
    /// `GET /`, anything below 500 (gnocchi answers 401 to anonymous requests).
    RootBelow500,
    /// Galera clustercheck: `GET /` on [`CLUSTERCHECK_PORT`], exactly 200.
    Clustercheck,
    /// Redis: optional `AUTH`, `PING`, and `role:master` in `INFO replication`.
    RedisMaster,
}

impl Probe {
    pub(super) fn kind(self, redis_password: Option<&str>) -> CheckKind {
        let get = |path: &str, expect: Option<StatusRange>| {
            let default = HttpCheck::default();
            CheckKind::Http(HttpCheck {
                path: path.to_owned(),
                expect: expect.map_or(default.expect.clone(), |range| vec![range]),
                ..default
            })
        };
        match self {
            Probe::Connect => CheckKind::Tcp,
            Probe::Healthcheck => get("/healthcheck", None),
            Probe::Root => get("/", None),
            Probe::RootBelow500 => get(
                "/",
                Some(StatusRange {
                    low: 200,
                    high: 499,
                }),
            ),
            Probe::Clustercheck => get(
                "/",
                Some(StatusRange {
                    low: 200,
                    high: 200,
                }),
            ),
            Probe::RedisMaster => CheckKind::Redis {
                password: redis_password.map(str::to_owned),
            },
        }
    }

    /// The probe's own port, when it is not the traffic port.
    pub(super) fn port(self) -> Option<u16> {
        (self == Probe::Clustercheck).then_some(CLUSTERCHECK_PORT)
    }

    /// Probe period: Galera is checked every second so a desynced writer leaves quickly.
    pub(super) fn interval(self) -> Duration {
        match self {
            Probe::Clustercheck => Duration::from_secs(1),
            _ => Duration::from_secs(2),
        }
    }
}

/// How long a connection may stay idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Idle {
    /// Ordinary API calls: 2 m.
    Api,
    /// Slow APIs (Heat stacks, Neutron): 10 m.
    SlowApi,
    /// Cache sessions held by pooled clients: 90 m.
    Session,
    /// Database sessions held by pooled clients: 90 m, with TCP keep-alive both ways (TripleO's
    /// `option tcpka`) so a session to a node that vanished is dropped within two minutes.
    KeptAliveSession,
    /// WebSocket consoles: 1 h. In TCP mode the whole connection is the tunnel, so the client
    /// and server limits are 1 h too (HAProxy's `timeout tunnel` supersedes them there).
    Tunnel,
    /// Interactive SSH: 12 h (the Loadbalancer.org appliance's default for long sessions).
    Ssh,
}

impl Idle {
    fn limit(self) -> Duration {
        const MINUTE: u64 = 60;
        Duration::from_secs(match self {
            Idle::Api => 2 * MINUTE,
            Idle::SlowApi => 10 * MINUTE,
            Idle::Session | Idle::KeptAliveSession => 90 * MINUTE,
            Idle::Tunnel => 60 * MINUTE,
            Idle::Ssh => 12 * 60 * MINUTE,
        })
    }

    /// TCP keep-alive on client and server connections.
    pub(super) fn keepalive(self) -> Option<KeepAlive> {
        (self == Idle::KeptAliveSession).then(KeepAlive::default)
    }

    pub(super) fn timeouts(self) -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            client: self.limit(),
            server: self.limit(),
            tunnel: Duration::from_secs(3600),
            queue: Duration::from_secs(120),
            http_request: Duration::from_secs(10),
        }
    }
}

use Idle::{Api, KeptAliveSession as KeptAlive, Session, SlowApi, Ssh, Tunnel};
use Mode::{Http, Tcp};
use Probe::{Clustercheck, Connect, Healthcheck, RedisMaster, Root, RootBelow500};
use SchedulerKind::{First, LeastConnections as LeastConn, RoundRobin, SourceHash};
use Stickiness::{Cookie, SingleWriter as Writer, SourceIp};

const fn row(
    name: &'static str,
    port: u16,
    mode: Mode,
    scheduler: SchedulerKind,
    stickiness: Stickiness,
    probe: Probe,
    idle: Idle,
) -> Service {
    Service {
        name,
        port,
        mode,
        scheduler,
        stickiness,
        probe,
        idle,
    }
}

const NONE: Stickiness = Stickiness::None;

/// The control plane, in the reference's order.
#[rustfmt::skip]
pub(super) const SERVICES: [Service; 23] = [
    row("aodh",               8042,  Tcp,  RoundRobin, NONE,     Healthcheck,  Api),
    row("ceilometer",         8777,  Tcp,  RoundRobin, NONE,     Connect,      Api),
    row("cinder",             8776,  Tcp,  LeastConn,  NONE,     Healthcheck,  Api),
    row("glance_api",         9292,  Tcp,  RoundRobin, NONE,     Healthcheck,  Api),
    row("glance_registry",    9191,  Tcp,  RoundRobin, NONE,     Connect,      Api),
    row("gnocchi",            8041,  Tcp,  RoundRobin, NONE,     RootBelow500, Api),
    row("heat_api",           8004,  Tcp,  LeastConn,  NONE,     Healthcheck,  SlowApi),
    row("heat_cfn",           8000,  Tcp,  LeastConn,  NONE,     Healthcheck,  SlowApi),
    row("heat_cloudwatch",    8003,  Tcp,  LeastConn,  NONE,     Root,         SlowApi),
    row("horizon",            80,    Http, RoundRobin, Cookie,   Root,         Api),
    row("keystone_admin",     35357, Tcp,  RoundRobin, NONE,     Healthcheck,  Api),
    row("keystone_admin_ssh", 22,    Tcp,  RoundRobin, NONE,     Connect,      Ssh),
    row("keystone_public",    5000,  Tcp,  RoundRobin, NONE,     Healthcheck,  Api),
    row("mysql",              3306,  Tcp,  First,      Writer,   Clustercheck, KeptAlive),
    row("neutron",            9696,  Tcp,  LeastConn,  NONE,     Healthcheck,  SlowApi),
    row("nova_ec2",           8773,  Tcp,  RoundRobin, NONE,     Connect,      Api),
    row("nova_metadata",      8775,  Tcp,  SourceHash, NONE,     Root,         Api),
    row("nova_novncproxy",    6080,  Tcp,  SourceHash, SourceIp, Connect,      Tunnel),
    row("nova_osapi",         8774,  Tcp,  RoundRobin, NONE,     Root,         Api),
    row("nova_placement",     8778,  Tcp,  RoundRobin, NONE,     Root,         Api),
    row("panko",              8779,  Tcp,  RoundRobin, NONE,     Connect,      Api),
    row("redis",              6379,  Tcp,  First,      Writer,   RedisMaster,  Session),
    row("swift_proxy_server", 8080,  Tcp,  LeastConn,  NONE,     Healthcheck,  Api),
];
