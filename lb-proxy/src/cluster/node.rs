//! The task that owns this node's replica: it turns local events into updates for the peer,
//! applies the peer's updates to the live tables, follows which VIPs are held here and there,
//! and answers status requests. Everything about the pair changes here, one thing at a time,
//! so no lock is shared with the data plane: connections only publish events.
//!
//! Updates made while handling one input are sent together, as one message. A link whose
//! outgoing queue is full is dropped rather than waited for (the peer is stuck or far
//! behind): the next link starts with the whole table anyway.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use lb_core::cluster::fingerprint::{FIELDS, FieldFingerprints};
use lb_core::cluster::replica::{
    Applied, Key, MIN_TOMBSTONE_RETENTION_MS, Replica, Update, Value, node_id,
};
use lb_core::cluster::wire::Message;
use lb_core::cluster::{Cluster as Settings, Table};
use lb_core::model::{Persistence, Server, ServerId};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::addresses::{self, Addresses};
use super::holding::{self, Held};
use super::link::{Failure, LinkEvent};
use super::status::{ClusterCounters, ClusterStatus, PeerStatus, SyncState, VipStatus};
use super::{ClusterVip, HEARTBEAT, RECONCILE, wall_ms};
use crate::VipEvent;
use crate::persistence::PersistenceEntries;

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

    fn on_local(&mut self, vip: &str, event: Option<VipEvent>) {
        let Some(followed) = self.vips.get(vip) else {
            return;
        };
        let service = &followed.vip.service;
        let now = wall_ms();
        let change = match event {
            None
            | Some(VipEvent::PersistenceCleared { .. } | VipEvent::PersistenceRemoved { .. }) => {
                return self.reconcile(vip);
            }
            Some(VipEvent::LastSuccessfulMoved { server }) => {
                self.replicates(Table::LastSuccessful).then(|| {
                    let name = server_name(&service.servers(), server)?;
                    Some((
                        Key::LastSuccessful {
                            vip: vip.to_owned(),
                        },
                        Value::Server(name),
                    ))
                })
            }
            Some(VipEvent::SourceIpRecorded { client, server }) => {
                let timeout = source_ip_timeout(&followed.vip.config.persistence);
                (self.replicates(Table::SourceIp)).then(|| {
                    let name = server_name(&service.servers(), server)?;
                    let expires_at = now.saturating_add(millis(timeout?));
                    Some((
                        Key::SourceIp {
                            vip: vip.to_owned(),
                            client,
                        },
                        Value::SourceIp {
                            server: name,
                            expires_at,
                        },
                    ))
                })
            }
            Some(
                VipEvent::AdminStateChanged { server, .. } | VipEvent::WeightChanged { server, .. },
            ) => self.replicates(Table::ServerState).then(|| {
                let servers = service.servers();
                let server = servers.iter().find(|s| s.id == server)?;
                Some((
                    Key::ServerState {
                        vip: vip.to_owned(),
                        server: server.name.clone(),
                    },
                    Value::ServerState {
                        state: server.admin,
                        weight: server.weight,
                    },
                ))
            }),
            Some(_) => None,
        };
        if let Some(Some((key, value))) = change {
            self.record(key, value, now);
        }
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

    /// Compares `vip`'s live persistence entries with the replica and records what differs:
    /// entries new or moved, source-IP entries kept alive by use (once they would outlive the
    /// replica's by a quarter of the timeout), and entries gone from the live table that the
    /// replica still holds, as deletes. Entries naming a server this node does not know are
    /// left alone: they are the peer's, kept dormant here.
    fn reconcile(&mut self, vip: &str) {
        let Some(followed) = self.vips.get(vip) else {
            return;
        };
        let servers = followed.vip.service.servers();
        let timeout = source_ip_timeout(&followed.vip.config.persistence);
        let entries = followed.vip.service.persistence_entries();
        let now = wall_ms();
        match entries {
            PersistenceEntries::LastSuccessful(live) if self.replicates(Table::LastSuccessful) => {
                let key = Key::LastSuccessful {
                    vip: vip.to_owned(),
                };
                let live = live.and_then(|id| server_name(&servers, id));
                let stored = self.replica.get(&key).map(|(_, value)| value.clone());
                match (live, stored) {
                    (Some(name), stored)
                        if stored.as_ref() != Some(&Value::Server(name.clone())) =>
                    {
                        self.record(key, Value::Server(name), now);
                    }
                    (None, Some(Value::Server(name))) if known(&servers, &name) => {
                        self.record(key, Value::Deleted, now);
                    }
                    _ => {}
                }
            }
            PersistenceEntries::SourceIp(leases) if self.replicates(Table::SourceIp) => {
                let slack = timeout.map_or(0, |timeout| millis(timeout) / 4);
                let mut live: BTreeMap<IpAddr, (String, u64)> = BTreeMap::new();
                for lease in leases {
                    if let Some(name) = server_name(&servers, lease.server) {
                        let expires_at = now.saturating_add(millis(lease.remaining));
                        live.insert(lease.client, (name, expires_at));
                    }
                }
                let gone: Vec<IpAddr> = self
                    .replica
                    .source_ip_entries(vip)
                    .filter(|&(client, value)| match value {
                        Value::SourceIp { server, expires_at } => {
                            *expires_at > now
                                && !live.contains_key(&client)
                                && known(&servers, server)
                        }
                        _ => false,
                    })
                    .map(|(client, _)| client)
                    .collect();
                for client in gone {
                    self.record(
                        Key::SourceIp {
                            vip: vip.to_owned(),
                            client,
                        },
                        Value::Deleted,
                        now,
                    );
                }
                for (client, (server, expires_at)) in live {
                    let key = Key::SourceIp {
                        vip: vip.to_owned(),
                        client,
                    };
                    let fresh = match self.replica.get(&key) {
                        Some((
                            _,
                            Value::SourceIp {
                                server: stored,
                                expires_at: until,
                            },
                        )) => *stored == server && until.saturating_add(slack) >= expires_at,
                        _ => false,
                    };
                    if !fresh {
                        self.record(key, Value::SourceIp { server, expires_at }, now);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_link(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Up { id, outgoing } => {
                info!(peer = %self.settings.peer.name, "cluster: link up");
                self.counters.connects += 1;
                self.link = Some((id, outgoing));
                self.peer.last_heard = Some(Instant::now());
                let now = wall_ms();
                let snapshot = self.replica.snapshot(now);
                let entries = u32::try_from(snapshot.len()).unwrap_or(u32::MAX);
                self.counters.updates_sent += u64::from(entries);
                self.send(Message::Updates(snapshot));
                self.send(Message::SyncDone {
                    entries,
                    digest: self.replica.digest(now),
                });
                self.heartbeat();
            }
            LinkEvent::Message { id, message } => {
                if self
                    .link
                    .as_ref()
                    .is_some_and(|(current, _)| *current == id)
                {
                    self.peer.last_heard = Some(Instant::now());
                    self.on_message(message);
                }
            }
            LinkEvent::Down { id, error } => {
                match error {
                    Some(Failure::Authentication(reason)) => {
                        self.counters.auth_failures += 1;
                        warn!(%reason, "cluster: connection refused");
                    }
                    Some(Failure::Protocol(reason)) => {
                        self.counters.protocol_errors += 1;
                        if self
                            .link
                            .as_ref()
                            .is_some_and(|(current, _)| *current == id)
                        {
                            warn!(%reason, "cluster: link down");
                        }
                    }
                    None => {}
                }
                if self
                    .link
                    .as_ref()
                    .is_some_and(|(current, _)| *current == id)
                {
                    self.link = None;
                    self.peer.held = None;
                    self.peer.fingerprints = None;
                }
            }
        }
    }

    fn on_message(&mut self, message: Message) {
        match message {
            Message::Updates(updates) => {
                for update in updates {
                    self.on_update(&update);
                }
            }
            Message::SyncDone { entries, .. } => {
                if self.sync != SyncState::Synced {
                    info!(peer = %self.settings.peer.name, entries, "cluster: synced with the peer");
                }
                self.sync = SyncState::Synced;
            }
            Message::Heartbeat {
                vips_held,
                fingerprints,
            } => {
                let held: BTreeSet<String> = vips_held.into_iter().collect();
                let before = self.peer.held.take().unwrap_or_default();
                for vip in held.difference(&before) {
                    if self.held.get(vip).copied().unwrap_or(false) {
                        warn!(%vip, peer = %self.settings.peer.name,
                              "cluster: split brain: the VIP is held by both nodes");
                    }
                }
                self.peer.held = Some(held);
                let mut by_vip: BTreeMap<String, BTreeMap<String, [u8; 32]>> = BTreeMap::new();
                for (name, digest) in fingerprints {
                    if let Some((vip, field)) = name.rsplit_once('/') {
                        by_vip
                            .entry(vip.to_owned())
                            .or_default()
                            .insert(field.to_owned(), digest);
                    }
                }
                self.peer.fingerprints = Some(by_vip);
            }
        }
    }

    fn on_update(&mut self, update: &Update) {
        let table = match update.key {
            Key::LastSuccessful { .. } => Table::LastSuccessful,
            Key::SourceIp { .. } => Table::SourceIp,
            Key::ServerState { .. } => Table::ServerState,
        };
        if !self.replicates(table) || !self.vips.contains_key(update.key.vip()) {
            self.counters.updates_rejected += 1;
            return;
        }
        let now = wall_ms();
        let holds = |vip: &str| self.holds_alone(vip);
        let verdict = {
            let held: BTreeSet<String> =
                self.vips.keys().filter(|vip| holds(vip)).cloned().collect();
            self.replica.apply(update, now, |vip| held.contains(vip))
        };
        match verdict {
            Applied::Stale => self.counters.updates_stale += 1,
            Applied::Overruled(ours) => {
                self.counters.updates_rejected += 1;
                self.pending.push(ours);
            }
            Applied::Applied { .. } => {
                if self.apply_live(update, now) {
                    self.counters.updates_applied += 1;
                } else {
                    self.counters.updates_rejected += 1;
                }
            }
        }
    }

    /// Changes the live table as `update` says; answers false when it names a server this
    /// node does not know (the entry stays in the replica, dormant) or the VIP keeps no such
    /// entries.
    fn apply_live(&self, update: &Update, now: u64) -> bool {
        let Some(followed) = self.vips.get(update.key.vip()) else {
            return false;
        };
        let service = &followed.vip.service;
        let servers = service.servers();
        let id = |name: &str| servers.iter().find(|s| s.name == name).map(|s| s.id);
        match (&update.key, &update.value) {
            (Key::LastSuccessful { .. }, Value::Server(name)) => {
                id(name).is_some_and(|id| service.learn_last_successful(Some(id)))
            }
            (Key::LastSuccessful { .. }, Value::Deleted) => service.learn_last_successful(None),
            (Key::SourceIp { client, .. }, Value::SourceIp { server, expires_at }) => {
                let remaining = Duration::from_millis(expires_at.saturating_sub(now));
                id(server).is_some_and(|id| service.learn_source_ip(*client, Some(id), remaining))
            }
            (Key::SourceIp { client, .. }, Value::Deleted) => {
                service.learn_source_ip(*client, None, Duration::ZERO)
            }
            (Key::ServerState { server, .. }, Value::ServerState { state, weight }) => {
                let Some(current) = servers.iter().find(|s| s.name == *server) else {
                    return false;
                };
                let state_set =
                    current.admin == *state || service.set_admin_state(current.id, *state).is_ok();
                let weight_set =
                    current.weight == *weight || service.set_weight(current.id, *weight).is_ok();
                state_set && weight_set
            }
            _ => true,
        }
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

    fn status(&self) -> ClusterStatus {
        let vips = self
            .vips
            .iter()
            .map(|(name, followed)| {
                let local = self.held.get(name).copied().unwrap_or(false);
                let peer_local = self.peer.held.as_ref().map(|held| held.contains(name));
                let theirs = self.peer.fingerprints.as_ref().map(|all| all.get(name));
                let drift = match theirs {
                    Some(Some(fields)) => FIELDS
                        .iter()
                        .zip(followed.fingerprints.0)
                        .filter(|(field, digest)| fields.get(**field) != Some(digest))
                        .map(|(field, _)| (*field).to_owned())
                        .collect(),
                    _ => Vec::new(),
                };
                VipStatus {
                    name: name.clone(),
                    local,
                    peer_local,
                    split_brain: local && peer_local == Some(true),
                    drift,
                    on_peer: theirs.map(|fields| fields.is_some()),
                }
            })
            .collect();
        let now = wall_ms();
        ClusterStatus {
            node: self.settings.node.clone(),
            sync: self.sync,
            tables: self
                .settings
                .tables
                .iter()
                .map(|table| table.as_str())
                .collect(),
            peer: PeerStatus {
                name: self.settings.peer.name.clone(),
                address: self.settings.peer.address.to_string(),
                connected: self.link.is_some(),
                last_heard_ms: self
                    .peer
                    .last_heard
                    .map(|at| u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX)),
            },
            vips,
            entries: self.replica.live_entries(now),
            digest: hex(&self.replica.digest(now)),
            counters: self.counters.clone(),
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
