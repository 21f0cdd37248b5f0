//! What the pair looks like from this node, as `GET /api/cluster` shows it, the metrics count
//! it and `lb ctl health` judges it.
//!
//! A node may hold the VIPs ([`ClusterStatus::ready`]) unless it is still `syncing`: started,
//! or reconnected after a restart, without the peer's tables yet, while the peer may still be
//! reached ([`super::Cluster`] gives up waiting after `sync_timeout`).

use serde::Serialize;

/// Where this node stands with the peer's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncState {
    /// Waiting for the peer's tables: keepalived should keep this node backup.
    Syncing,
    /// Has received the peer's tables since the link came up, and follows its changes.
    Synced,
    /// The peer could not be reached within `sync_timeout`: serving on its own tables.
    Alone,
}

/// The pair as this node sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    /// This node's name.
    pub node: String,
    /// Where it stands with the peer's tables.
    pub sync: SyncState,
    /// The replicated tables (`last-successful`, `source-ip`, `server-state`); empty when
    /// replication is off.
    pub tables: Vec<&'static str>,
    /// The peer.
    pub peer: PeerStatus,
    /// Every VIP: who holds it, and whether both nodes agree on its configuration.
    pub vips: Vec<VipStatus>,
    /// Live entries in this node's replica (both nodes', expired ones left out).
    pub entries: usize,
    /// SHA-256 of the live entries, hex: equal on both nodes once they have converged.
    pub digest: String,
    /// Counters since start.
    pub counters: ClusterCounters,
}

impl ClusterStatus {
    /// Whether this node may hold the VIPs: `None` if so, else why not.
    pub fn not_ready(&self) -> Option<String> {
        (self.sync == SyncState::Syncing).then(|| {
            format!(
                "syncing: waiting for the tables of peer `{}` ({})",
                self.peer.name, self.peer.address
            )
        })
    }
}

/// The peer as this node sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerStatus {
    /// Its node name.
    pub name: String,
    /// Its replication address.
    pub address: String,
    /// Whether an authenticated link to it is up.
    pub connected: bool,
    /// Milliseconds since its last frame, if it ever sent one.
    pub last_heard_ms: Option<u64>,
}

/// One VIP as the pair sees it.
#[derive(Debug, Clone, Serialize)]
pub struct VipStatus {
    /// The VIP's name.
    pub name: String,
    /// Whether its addresses are on this host.
    pub local: bool,
    /// Whether the peer says it holds them (`None` before the peer's first heartbeat).
    pub peer_local: Option<bool>,
    /// Held by both nodes at once.
    pub split_brain: bool,
    /// The fields whose configuration differs from the peer's (`servers`, `scheduler`...);
    /// empty when they agree or the peer was not heard.
    pub drift: Vec<String>,
    /// Whether the peer runs this VIP at all (`None` before its first heartbeat).
    pub on_peer: Option<bool>,
}

/// Counters of the link since start.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterCounters {
    /// Entry updates sent to the peer.
    pub updates_sent: u64,
    /// Entry updates received and applied.
    pub updates_applied: u64,
    /// Entry updates received but older than what this node has (replays, double delivery).
    pub updates_stale: u64,
    /// Updates refused: naming a server or VIP this node does not have, or a last-successful
    /// entry of a VIP this node holds (it answers with its own).
    pub updates_rejected: u64,
    /// Links refused because the peer failed to prove the shared secret, or sent a frame that
    /// failed authentication or replayed an earlier one.
    pub auth_failures: u64,
    /// Links that ended on a protocol error (malformed frame, wrong version).
    pub protocol_errors: u64,
    /// Links established.
    pub connects: u64,
}
