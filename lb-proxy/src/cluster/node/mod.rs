//! The task that owns this node's replica: it turns local events into updates for the peer,
//! applies the peer's updates to the live tables, follows which VIPs are held here and there,
//! and answers status requests. Everything about the pair changes here, one thing at a time,
//! so no lock is shared with the data plane: connections only publish events.
//!
//! Modules: `local` (this node's events and live tables into the replica), `remote` (the
//! link and the peer's messages into the replica and the live tables), `report` (the status).
//!
//! Updates made while handling one input are sent together, as one message. A link whose
//! outgoing queue is full is dropped rather than waited for (the peer is stuck or far
//! behind): the next link starts with the whole table anyway.

mod local;
mod remote;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use lb_core::cluster::fingerprint::{FIELDS, FieldFingerprints};
use lb_core::cluster::replica::{Key, MIN_TOMBSTONE_RETENTION_MS, Replica, Update, Value, node_id};
use lb_core::cluster::wire::Message;
use lb_core::cluster::{Cluster as Settings, Table};
use lb_core::model::{Persistence, Server, ServerId};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::warn;

use super::addresses::{self, Addresses};
use super::holding::{self, Held};
use super::link::LinkEvent;
use super::status::{ClusterCounters, ClusterStatus, SyncState};
use super::{ClusterVip, HEARTBEAT, RECONCILE, wall_ms};
use crate::VipEvent;

/// How often expired entries and old tombstones are dropped from the replica.
const EXPIRE: Duration = Duration::from_secs(10);

/// What the [`super::Cluster`] handle asks of the node.
#[derive(Debug)]
pub(super) enum Command {
    /// Replicate these VIPs from now on.
    SetVips(Vec<ClusterVip>),
    /// Answer the status.
    Status(oneshot::Sender<ClusterStatus>),
}

/// An event of a VIP, by name; `None` when the follower fell behind and missed some.
type LocalEvent = (String, Option<VipEvent>);

/// What the peer last said about itself.
#[derive(Debug, Default)]
struct PeerView {
    held: Option<BTreeSet<String>>,
    fingerprints: Option<BTreeMap<String, BTreeMap<String, [u8; 32]>>>,
    last_heard: Option<Instant>,
}

/// One VIP as the node follows it.
#[derive(Debug)]
struct Followed {
    vip: ClusterVip,
    fingerprints: FieldFingerprints,
    follower: JoinHandle<()>,
}

impl Drop for Followed {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

pub(super) struct Node {
    settings: Settings,
    replica: Replica,
    vips: BTreeMap<String, Followed>,
    held: Held,
    addresses: Addresses,
    link: Option<(u64, mpsc::Sender<Message>)>,
    peer: PeerView,
    sync: SyncState,
    counters: ClusterCounters,
    /// Updates to send once the current input is handled.
    pending: Vec<Update>,
    local_sender: mpsc::Sender<LocalEvent>,
    local: mpsc::Receiver<LocalEvent>,
}

impl Node {
    pub(super) fn new(settings: Settings, vips: Vec<ClusterVip>) -> Node {
        let longest_timeout = vips
            .iter()
            .filter_map(|vip| source_ip_timeout(&vip.config.persistence))
            .max()
            .unwrap_or_default();
        let retention = MIN_TOMBSTONE_RETENTION_MS.max(millis(longest_timeout));
        let (local_sender, local) = mpsc::channel(4096);
        let mut node = Node {
            replica: Replica::new(node_id(&settings.node), retention),
            settings,
            vips: BTreeMap::new(),
            held: Held::new(),
            addresses: addresses::watch(),
            link: None,
            peer: PeerView::default(),
            sync: SyncState::Syncing,
            counters: ClusterCounters::default(),
            pending: Vec::new(),
            local_sender,
            local,
        };
        node.set_vips(vips);
        node
    }

    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut link_events: mpsc::Receiver<LinkEvent>,
    ) {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        let mut reconcile = tokio::time::interval(RECONCILE);
        let mut expire = tokio::time::interval(EXPIRE);
        let sync_deadline = tokio::time::sleep(self.settings.sync_timeout);
        tokio::pin!(sync_deadline);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::SetVips(vips)) => self.set_vips(vips),
                    Some(Command::Status(answer)) => { let _ = answer.send(self.status()); }
                    None => return,
                },
                Some(event) = link_events.recv() => self.on_link(event),
                Some((vip, event)) = self.local.recv() => self.on_local(&vip, event),
                Ok(()) = self.addresses.changed() => self.on_addresses(),
                _ = heartbeat.tick() => self.heartbeat(),
                _ = reconcile.tick() => {
                    let names: Vec<String> = self.vips.keys().cloned().collect();
                    for vip in names {
                        self.reconcile(&vip);
                    }
                }
                _ = expire.tick() => self.replica.expire(wall_ms()),
                () = &mut sync_deadline, if self.sync == SyncState::Syncing => {
                    warn!(peer = %self.settings.peer.name, timeout = ?self.settings.sync_timeout,
                          "cluster: peer not synced in time; serving on this node's tables");
                    self.sync = SyncState::Alone;
                }
            }
            self.flush();
        }
    }

    fn set_vips(&mut self, vips: Vec<ClusterVip>) {
        self.vips = vips
            .into_iter()
            .map(|vip| {
                let follower = tokio::spawn(follow(vip.clone(), self.local_sender.clone()));
                let followed = Followed {
                    fingerprints: FieldFingerprints::of(&vip.config),
                    vip,
                    follower,
                };
                (followed.vip.config.name.clone(), followed)
            })
            .collect();
        self.on_addresses();
    }

    fn on_addresses(&mut self) {
        let addresses = self.addresses.borrow_and_update().clone();
        let vips: Vec<ClusterVip> = self.vips.values().map(|f| f.vip.clone()).collect();
        self.held = holding::update(
            &self.held,
            &vips,
            &addresses,
            self.settings.close_sessions_on_vip_loss,
        );
    }

    fn replicates(&self, table: Table) -> bool {
        self.settings.tables.contains(&table)
    }

    /// Whether this node alone holds `vip` (the peer does not claim it too).
    fn holds_alone(&self, vip: &str) -> bool {
        let here = self.held.get(vip).copied().unwrap_or(false);
        let there = self
            .peer
            .held
            .as_ref()
            .is_some_and(|held| held.contains(vip));
        here && !there
    }

    /// Stores a local change unless the replica says so already, and queues it for the peer.
    fn record(&mut self, key: Key, value: Value, now: u64) {
        if self
            .replica
            .get(&key)
            .is_some_and(|(_, stored)| *stored == value)
        {
            return;
        }
        let update = self.replica.record(key, value, now);
        self.pending.push(update);
    }

    fn heartbeat(&mut self) {
        if self.link.is_none() {
            return;
        }
        let vips_held = self
            .held
            .iter()
            .filter(|&(_, &held)| held)
            .map(|(vip, _)| vip.clone())
            .collect();
        let fingerprints = self
            .vips
            .iter()
            .flat_map(|(vip, followed)| {
                FIELDS
                    .iter()
                    .zip(followed.fingerprints.0)
                    .map(move |(field, digest)| (format!("{vip}/{field}"), digest))
            })
            .collect();
        self.send(Message::Heartbeat {
            vips_held,
            fingerprints,
        });
    }

    /// Sends the pending updates, as one message.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let updates = std::mem::take(&mut self.pending);
        if self.link.is_some() {
            self.counters.updates_sent += updates.len() as u64;
            self.send(Message::Updates(updates));
        }
    }

    fn send(&mut self, message: Message) {
        let Some((_, outgoing)) = &self.link else {
            return;
        };
        if outgoing.try_send(message).is_err() {
            warn!(peer = %self.settings.peer.name, "cluster: the link is stuck; dropping it");
            self.link = None;
            self.peer.held = None;
            self.peer.fingerprints = None;
        }
    }
}

/// Forwards `vip`'s events to the node until either side ends.
async fn follow(vip: ClusterVip, node: mpsc::Sender<LocalEvent>) {
    let mut events = vip.service.events();
    let name = vip.config.name;
    loop {
        let event = match events.recv().await {
            Ok(event) => Some(event),
            Err(RecvError::Lagged(_)) => None,
            Err(RecvError::Closed) => return,
        };
        if node.send((name.clone(), event)).await.is_err() {
            return;
        }
    }
}

fn server_name(servers: &[Server], id: ServerId) -> Option<String> {
    servers.iter().find(|s| s.id == id).map(|s| s.name.clone())
}

fn known(servers: &[Server], name: &str) -> bool {
    servers.iter().any(|s| s.name == name)
}

fn source_ip_timeout(persistence: &Persistence) -> Option<Duration> {
    match persistence {
        Persistence::SourceIp { timeout, .. } => Some(*timeout),
        _ => None,
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
