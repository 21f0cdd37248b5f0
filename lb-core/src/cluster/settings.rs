//! What the `[cluster]` table says: this node, its peer, what they replicate, and the
//! `[cluster.vrrp]` settings that `lb keepalived` turns into keepalived.conf.
//!
//! Defaults: every table replicates ([`Table::ALL`]), a starting node reports `syncing` for
//! at most 2 s while its peer is unreachable, sessions of a VIP that leaves this host are
//! closed; VRRP priority 100 and one advert a second. See [`crate::config`] for the file
//! shape and [`crate::model::validate`] for what is checked.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// This node's part of a clustered pair (`[cluster]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// This node's name, unique in the pair.
    pub node: String,
    /// Where this node accepts its peer's replication connection (`10.79.0.1:7440`).
    pub listen: SocketAddr,
    /// The other node.
    pub peer: Peer,
    /// A file holding the secret both nodes share; it authenticates the replication link.
    pub secret_file: PathBuf,
    /// The tables that replicate; empty switches replication off.
    pub tables: Vec<Table>,
    /// How long a starting node reports `syncing` (and so stays out of MASTER) while its
    /// peer is unreachable.
    pub sync_timeout: Duration,
    /// Close a VIP's sessions, server side too, as soon as its address leaves this host.
    pub close_sessions_on_vip_loss: bool,
    /// The VRRP settings keepalived gets (`[cluster.vrrp]`), if keepalived moves the VIPs.
    pub vrrp: Option<Vrrp>,
}

impl Cluster {
    /// A pair with the defaults: every table, 2 s sync timeout, sessions closed on VIP loss,
    /// no VRRP settings.
    pub fn new(
        node: impl Into<String>,
        listen: SocketAddr,
        peer: Peer,
        secret_file: impl Into<PathBuf>,
    ) -> Self {
        Cluster {
            node: node.into(),
            listen,
            peer,
            secret_file: secret_file.into(),
            tables: Table::ALL.to_vec(),
            sync_timeout: Self::DEFAULT_SYNC_TIMEOUT,
            close_sessions_on_vip_loss: true,
            vrrp: None,
        }
    }

    /// The sync timeout when none is configured.
    pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(2);
}

/// The other node of the pair (`peer = { name, address }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its `node` name.
    pub name: String,
    /// Its replication address (its `listen`).
    pub address: SocketAddr,
}

/// A replicated table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// The server of each `last-successful` VIP (the Galera or Redis writer).
    LastSuccessful,
    /// The client-to-server entries of `source-ip` persistence.
    SourceIp,
    /// Runtime server states and weights set through the admin API.
    ServerState,
}

impl Table {
    /// Every table, in documentation order: the default of `tables`.
    pub const ALL: [Table; 3] = [Table::LastSuccessful, Table::SourceIp, Table::ServerState];

    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::LastSuccessful => "last-successful",
            Table::SourceIp => "source-ip",
            Table::ServerState => "server-state",
        }
    }
}

/// The VRRP side of the pair (`[cluster.vrrp]`), for `lb keepalived`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vrrp {
    /// The interface VRRP adverts go out of and the VIPs are added to.
    pub interface: String,
    /// keepalived's `virtual_router_id`, 1 to 255, the same on both nodes.
    pub router_id: u8,
    /// This node's VRRP priority, 1 to 254. With `nopreempt` it only breaks ties when both
    /// nodes start at once.
    pub priority: u8,
    /// Time between VRRPv3 adverts: 10 ms to 40.95 s in 10 ms steps. The peer takes over
    /// about three intervals after the last advert of a dead master.
    pub advert_interval: Duration,
    /// This node's address for adverts (`unicast_src_ip`).
    pub src_address: IpAddr,
    /// The peer's address for adverts (`unicast_peer`); adverts from any other address are
    /// dropped.
    pub peer_address: IpAddr,
}

impl Vrrp {
    /// VRRP settings with priority 100 and one advert a second.
    pub fn new(
        interface: impl Into<String>,
        router_id: u8,
        src_address: IpAddr,
        peer_address: IpAddr,
    ) -> Self {
        Vrrp {
            interface: interface.into(),
            router_id,
            priority: Self::DEFAULT_PRIORITY,
            advert_interval: Self::DEFAULT_ADVERT_INTERVAL,
            src_address,
            peer_address,
        }
    }

    /// The priority when none is configured.
    pub const DEFAULT_PRIORITY: u8 = 100;
    /// The advert interval when none is configured.
    pub const DEFAULT_ADVERT_INTERVAL: Duration = Duration::from_secs(1);
    /// The shortest advert interval VRRPv3 carries, and its step.
    pub const ADVERT_STEP: Duration = Duration::from_millis(10);
    /// The longest advert interval VRRPv3 carries (4095 steps of 10 ms).
    pub const MAX_ADVERT_INTERVAL: Duration = Duration::from_millis(40_950);
}
