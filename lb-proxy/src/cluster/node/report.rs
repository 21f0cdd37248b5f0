//! The pair as this node sees it, for `GET /api/cluster`, the metrics and `lb ctl health`.

use lb_core::cluster::fingerprint::FIELDS;

use super::{Node, hex};
use crate::cluster::status::{ClusterStatus, PeerStatus, VipStatus};
use crate::cluster::wall_ms;

impl Node {
    pub(super) fn status(&self) -> ClusterStatus {
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
