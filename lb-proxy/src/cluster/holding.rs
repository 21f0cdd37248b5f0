//! Which VIPs this node holds: a VIP is held while every address it listens on is one of this
//! host's (a wildcard address, `0.0.0.0` or `::`, is always held). keepalived moves the
//! addresses; this follows them.
//!
//! When a VIP stops being held, every one of its established sessions is closed at once, server
//! side included (`close_sessions_on_vip_loss`, on by default): its clients' packets now reach
//! the other node, and a session left open here would only hold a server resource (a Galera
//! lock for 90 minutes, say) for a client that will never speak again.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use tracing::{info, warn};

use super::ClusterVip;

/// Whether each VIP, by name, is held now.
pub(crate) type Held = BTreeMap<String, bool>;

/// Whether `vip` is held when the host has `addresses`.
pub(crate) fn holds(vip: &ClusterVip, addresses: &BTreeSet<IpAddr>) -> bool {
    vip.config.listen.iter().all(|listen| {
        let ip = listen.ip();
        ip.is_unspecified() || addresses.contains(&ip)
    })
}

/// Which of `vips` are held when the host has `addresses`; logs each change from `before`,
/// and closes the sessions of a VIP no longer held when `close_on_loss` is set.
pub(crate) fn update(
    before: &Held,
    vips: &[ClusterVip],
    addresses: &BTreeSet<IpAddr>,
    close_on_loss: bool,
) -> Held {
    vips.iter()
        .map(|vip| {
            let held = holds(vip, addresses);
            match (before.get(&vip.config.name).copied(), held) {
                (Some(false) | None, true) => info!(vip = %vip.config.name, "VIP address held here"),
                (Some(true), false) => {
                    warn!(vip = %vip.config.name, close_sessions = close_on_loss, "VIP address left this host");
                    if close_on_loss {
                        vip.service.close_established_sessions();
                    }
                }
                _ => {}
            }
            (vip.config.name.clone(), held)
        })
        .collect()
}
