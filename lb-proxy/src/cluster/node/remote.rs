//! The peer's side: the link coming and going, and the peer's messages, merged into the
//! replica and applied to the live tables.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use lb_core::cluster::Table;
use lb_core::cluster::replica::{Applied, Key, Update, Value};
use lb_core::cluster::wire::Message;
use tracing::{info, warn};

use super::Node;
use crate::cluster::link::{Failure, LinkEvent};
use crate::cluster::status::SyncState;
use crate::cluster::wall_ms;

impl Node {
    pub(super) fn on_link(&mut self, event: LinkEvent) {
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

    pub(super) fn on_message(&mut self, message: Message) {
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
}
