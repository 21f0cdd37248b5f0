//! Virtual services (VIPs) and the whole configuration.
//!
//! Defaults (the OpenStack profile's, from TripleO's HAProxy settings): mode `tcp`,
//! scheduler `round-robin`, no persistence, a `tcp` check, connect timeout 10 s, client and
//! server idle timeouts 2 m, tunnel timeout 1 h, queue timeout 2 m, HTTP request-head timeout
//! 10 s, 3 connect retries, no per-VIP cap beyond 4096, global cap 20480; no PROXY protocol
//! either way, no fixed source address, no TCP keep-alive, no TLS on either side.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{
    Check, HttpOptions, KeepAlive, Network, ProxyVersion, Server, ServerTls, Source, TlsSettings,
};
use crate::cluster::Cluster;

/// A whole configuration: global settings, the admin listener, every VIP and the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Process-wide settings.
    pub global: Global,
    /// The admin API listener, if enabled.
    pub admin: Option<Admin>,
    /// The virtual services, in file order.
    pub vips: Vec<Vip>,
    /// This node's part of a clustered pair, if it is one.
    pub cluster: Option<Cluster>,
}

/// Process-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Connections accepted at once over all VIPs.
    pub max_connections: u32,
    /// How long graceful shutdown waits for connections to finish.
    pub shutdown_timeout: Duration,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            max_connections: 20_480,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// The admin API listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// Where it listens; loopback by default.
    pub listen: SocketAddr,
    /// File holding the bearer token that changes require.
    pub token_file: Option<PathBuf>,
}

impl Default for Admin {
    fn default() -> Self {
        Admin {
            listen: SocketAddr::from(([127, 0, 0, 1], 9900)),
            token_file: None,
        }
    }
}

/// How a VIP handles traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Bytes are forwarded as they are (layer 4).
    #[default]
    Tcp,
    /// Requests are parsed and forwarded (layer 7).
    Http,
}

impl Mode {
    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Tcp => "tcp",
            Mode::Http => "http",
        }
    }
}

/// Which scheduling algorithm picks a server for a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchedulerKind {
    /// Smooth weighted round-robin.
    #[default]
    RoundRobin,
    /// Weighted least-connections, ties rotating.
    LeastConnections,
    /// Consistent hash of the client address.
    SourceHash,
    /// The first usable server in configured order.
    First,
    /// Weighted random.
    Random,
    /// Power of two random choices, the less loaded wins.
    TwoChoices,
}

impl SchedulerKind {
    /// Every scheduler, in documentation order.
    pub const ALL: [SchedulerKind; 6] = [
        SchedulerKind::RoundRobin,
        SchedulerKind::LeastConnections,
        SchedulerKind::SourceHash,
        SchedulerKind::First,
        SchedulerKind::Random,
        SchedulerKind::TwoChoices,
    ];

    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            SchedulerKind::RoundRobin => "round-robin",
            SchedulerKind::LeastConnections => "least-connections",
            SchedulerKind::SourceHash => "source-hash",
            SchedulerKind::First => "first",
            SchedulerKind::Random => "random",
            SchedulerKind::TwoChoices => "two-choices",
        }
    }

    /// Parses a configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        SchedulerKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// How clients are kept on the server they were sent to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Persistence {
    /// Every new connection is scheduled afresh.
    #[default]
    None,
    /// A table maps the client address (masked) to its server.
    SourceIp {
        /// Entries idle this long expire (default 30 m).
        timeout: Duration,
        /// Most entries kept; the least recently used is evicted (default 10240).
        size: usize,
        /// Prefix length applied to IPv4 clients (default 32: each address alone).
        netmask_v4: u8,
        /// Prefix length applied to IPv6 clients (default 128).
        netmask_v6: u8,
    },
    /// An inserted HTTP cookie names the server (http VIPs only).
    Cookie {
        /// Cookie name (default `SERVERID`).
        name: String,
        /// Remove the cookie before the request reaches the server (default true).
        indirect: bool,
        /// Keep shared caches from storing the response that sets it (default true).
        nocache: bool,
        /// A cookie unused this long is ignored.
        max_idle: Option<Duration>,
        /// A cookie older than this is ignored.
        max_life: Option<Duration>,
    },
    /// One entry per VIP: the last server that accepted a connection gets every new one until
    /// it fails, with no failback (Galera's single writer, Redis master).
    LastSuccessful {
        /// Forget the entry when its server is drained, so new clients move at once.
        clear_on_drain: bool,
    },
}

impl Persistence {
    /// The name used in configuration files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Persistence::None => "none",
            Persistence::SourceIp { .. } => "source-ip",
            Persistence::Cookie { .. } => "cookie",
            Persistence::LastSuccessful { .. } => "last-successful",
        }
    }

    /// Source-IP persistence with the defaults (30 m, 10240 entries, no grouping).
    pub fn source_ip() -> Self {
        Persistence::SourceIp {
            timeout: Duration::from_secs(30 * 60),
            size: 10_240,
            netmask_v4: 32,
            netmask_v6: 128,
        }
    }

    /// Cookie persistence with the defaults (`SERVERID`, indirect, nocache, no max ages).
    pub fn cookie() -> Self {
        Persistence::Cookie {
            name: "SERVERID".to_owned(),
            indirect: true,
            nocache: true,
            max_idle: None,
            max_life: None,
        }
    }
}

/// The waits of a VIP. Every wait has a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a server connection.
    pub connect: Duration,
    /// A client that sends nothing for this long is closed.
    pub client: Duration,
    /// A server that sends nothing for this long is closed.
    pub server: Duration,
    /// Idle limit once a connection is a tunnel (WebSocket, CONNECT-like upgrades).
    pub tunnel: Duration,
    /// How long a connection may wait for a free slot under the connection cap.
    pub queue: Duration,
    /// How long a client may take to send a whole HTTP request head.
    pub http_request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            client: Duration::from_secs(120),
            server: Duration::from_secs(120),
            tunnel: Duration::from_secs(3600),
            queue: Duration::from_secs(120),
            http_request: Duration::from_secs(10),
        }
    }
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    /// Unique name.
    pub name: String,
    /// Addresses it accepts connections on (at least one).
    pub listen: Vec<SocketAddr>,
    /// `tcp` or `http`.
    pub mode: Mode,
    /// Picks servers for new, non-sticky connections.
    pub scheduler: SchedulerKind,
    /// Keeps clients on their server.
    pub persistence: Persistence,
    /// Active and passive health settings.
    pub check: Check,
    /// Every wait's limit.
    pub timeouts: Timeouts,
    /// A failed connect is retried on another usable server up to this many times.
    pub retries: u32,
    /// Connections accepted at once on this VIP.
    pub max_connections: u32,
    /// Close established sessions of a server marked down (mysql, redis).
    pub shutdown_sessions_on_down: bool,
    /// The real servers, in configured order (the order `first` follows).
    pub servers: Vec<Server>,
    /// Send a PROXY protocol header of this version to servers at the start of every
    /// connection, so they see the client's address (default: none).
    pub send_proxy: Option<ProxyVersion>,
    /// Clients in these networks must start with a PROXY protocol header (v1 or v2), whose
    /// addresses then stand for the client's; anyone else's bytes are data (default: empty).
    pub accept_proxy_from: Vec<Network>,
    /// Where connections to servers are made from: a local address, or the client's own
    /// (transparent proxying) (default: the system's choice of local address).
    pub source: Option<Source>,
    /// TCP keep-alive on client connections (default: off).
    pub client_keepalive: Option<KeepAlive>,
    /// TCP keep-alive on server connections (default: off).
    pub server_keepalive: Option<KeepAlive>,
    /// What `http` VIPs do beyond forwarding (default: see [`HttpOptions`]).
    pub http: HttpOptions,
    /// TLS termination on the listen addresses (default: none, cleartext).
    pub tls: Option<TlsSettings>,
    /// TLS to the servers (default: none, cleartext).
    pub server_tls: Option<ServerTls>,
}

impl Vip {
    /// A VIP with the defaults and no servers.
    pub fn new(name: impl Into<String>, listen: SocketAddr) -> Self {
        Vip {
            name: name.into(),
            listen: vec![listen],
            mode: Mode::Tcp,
            scheduler: SchedulerKind::RoundRobin,
            persistence: Persistence::None,
            check: Check::default(),
            timeouts: Timeouts::default(),
            retries: 3,
            max_connections: 4096,
            shutdown_sessions_on_down: false,
            servers: Vec::new(),
            send_proxy: None,
            accept_proxy_from: Vec::new(),
            source: None,
            client_keepalive: None,
            server_keepalive: None,
            http: HttpOptions::default(),
            tls: None,
            server_tls: None,
        }
    }

    /// The server with this name.
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|server| server.name == name)
    }
}
