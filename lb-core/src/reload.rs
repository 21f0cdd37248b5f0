//! A reload as a pure diff: what becomes of each running VIP and each VIP of the new
//! configuration, computed from the two alone so that the I/O side only carries it out.
//!
//! VIPs are matched by name:
//! - a VIP new to the configuration starts ([`Change::Start`]); a running VIP the new
//!   configuration lacks stops ([`Plan::removed`]);
//! - a VIP whose listen addresses changed starts afresh on the new ones while the old one
//!   drains ([`Change::Rebind`]): only a rebind needs this;
//! - any other VIP changes in place ([`Change::InPlace`]), with the server list of
//!   [`in_place`].
//!
//! Servers of a VIP changed in place are matched by name and address. A kept server keeps its
//! [`ServerId`] (the parser numbers servers by position, so ids are remapped by name), and its
//! admin state and weight set at runtime (admin API) stay unless the file's value for it
//! changed since the last load. New servers get ids never used before in that VIP. A server
//! added at runtime and not in the file goes: the file says which servers exist.

use crate::model::{Config, Server, ServerId, Vip};

/// A running VIP, as a reload sees it.
#[derive(Debug, Clone, Copy)]
pub struct Running<'a> {
    /// Its configuration as last loaded (server ids as running).
    pub config: &'a Vip,
    /// Its servers now, runtime changes included.
    pub servers: &'a [Server],
    /// The lowest server id never used in it.
    pub next_id: u32,
}

/// What becomes of one VIP of the new configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Not running: start it.
    Start,
    /// Running on other listen addresses: start it afresh and drain the running one.
    Rebind,
    /// Running on the same addresses: change it in place.
    InPlace(Box<InPlace>),
}

/// A VIP changed in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InPlace {
    /// The new configuration, its servers with the ids, admin states and weights they run
    /// with from now on.
    pub vip: Vip,
    /// The new configuration as loaded: the file's admin states and weights, the running
    /// ids. The next reload compares the file with this, so that a runtime change survives
    /// any number of reloads of a file that does not touch it.
    pub loaded: Vip,
    /// The lowest server id never used in the VIP, once the new servers have theirs.
    pub next_id: u32,
    /// Whether anything but the server list changed.
    pub settings_changed: bool,
    /// Whether the server list differs from the running one.
    pub servers_changed: bool,
}

impl InPlace {
    /// Whether the reload changes the VIP at all.
    pub fn changes_anything(&self) -> bool {
        self.settings_changed || self.servers_changed
    }
}

/// A whole reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Every VIP of the new configuration, in its order, with what becomes of it.
    pub vips: Vec<(Vip, Change)>,
    /// The running VIPs the new configuration lacks, by name, sorted.
    pub removed: Vec<String>,
}

/// The plan that takes `running` to `next` (see the module doc).
pub fn plan(running: &[Running<'_>], next: &Config) -> Plan {
    let find = |name: &str| running.iter().find(|r| r.config.name == name);
    let vips = next
        .vips
        .iter()
        .map(|vip| {
            let change = match find(&vip.name) {
                None => Change::Start,
                Some(running) if running.config.listen != vip.listen => Change::Rebind,
                Some(running) => Change::InPlace(Box::new(in_place(running, vip))),
            };
            (vip.clone(), change)
        })
        .collect();
    let mut removed: Vec<String> = running
        .iter()
        .map(|r| r.config.name.clone())
        .filter(|name| !next.vips.iter().any(|vip| &vip.name == name))
        .collect();
    removed.sort();
    Plan { vips, removed }
}

/// `file` applied to `running` in place: its servers remapped as the module doc says.
pub fn in_place(running: &Running<'_>, file: &Vip) -> InPlace {
    let mut next_id = running.next_id;
    let mut loaded = file.clone();
    let mut vip = file.clone();
    for (filed, server) in loaded.servers.iter_mut().zip(&mut vip.servers) {
        let kept = running
            .servers
            .iter()
            .find(|r| r.name == server.name && r.address == server.address);
        let Some(kept) = kept else {
            (filed.id, server.id) = (ServerId(next_id), ServerId(next_id));
            next_id += 1;
            continue;
        };
        (filed.id, server.id) = (kept.id, kept.id);
        if let Some(before) = running
            .config
            .servers
            .iter()
            .find(|s| s.name == server.name)
        {
            if before.admin == server.admin {
                server.admin = kept.admin;
            }
            if before.weight == server.weight {
                server.weight = kept.weight;
            }
        }
    }
    InPlace {
        settings_changed: !same_settings(running.config, &vip),
        servers_changed: running.servers != vip.servers.as_slice(),
        next_id,
        vip,
        loaded,
    }
}

/// Whether `a` and `b` differ in nothing but their server lists.
fn same_settings(a: &Vip, b: &Vip) -> bool {
    let without_servers = |vip: &Vip| Vip {
        servers: Vec::new(),
        ..vip.clone()
    };
    without_servers(a) == without_servers(b)
}

/// The lowest server id never used in `vip` as configured (at its start).
pub fn first_free_id(vip: &Vip) -> u32 {
    vip.servers.iter().map(|s| s.id.0 + 1).max().unwrap_or(0)
}
