//! This node's side: its VIPs' events, and its live persistence tables compared with the
//! replica, become versioned changes for the peer.

use std::collections::BTreeMap;
use std::net::IpAddr;

use lb_core::cluster::Table;
use lb_core::cluster::replica::{Key, Value};

use super::{Node, known, millis, server_name, source_ip_timeout};
use crate::VipEvent;
use crate::cluster::wall_ms;
use crate::persistence::PersistenceEntries;

impl Node {
    pub(super) fn on_local(&mut self, vip: &str, event: Option<VipEvent>) {
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

    /// Compares `vip`'s live persistence entries with the replica and records what differs:
    /// entries new or moved, source-IP entries kept alive by use (once they would outlive the
    /// replica's by a quarter of the timeout), and entries gone from the live table that the
    /// replica still holds, as deletes. Entries naming a server this node does not know are
    /// left alone: they are the peer's, kept dormant here.
    pub(super) fn reconcile(&mut self, vip: &str) {
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
}
