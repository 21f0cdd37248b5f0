//! What a haproxy.cfg says of each proxy ([`Expected`]), and [`compare`], which checks an lb
//! configuration against it (`lb import --check` runs it on the printed file, read back).
//!
//! Per frontend (or `listen`) with servers (not a stats page): its listen addresses, its
//! backend's servers (name, address, weight, backup, disabled) and its persistence, in
//! HAProxy's terms. The VIPs made of it must together listen on the same addresses, and each
//! must have the same servers in the same order, with weights in the same proportions
//! (HAProxy's default weight is 1, lb's 100), the same backup flags and maintenance states,
//! and the persistence lb has for HAProxy's: `cookie NAME` → cookie `NAME`, `stick on dst` →
//! last-successful, `stick on src` → source-ip with the table's `expire` and `size`. Server
//! names compare in lb's characters (see the import's naming rule).

use std::net::SocketAddr;
use std::time::Duration;

use super::values::lb_name;
use crate::model::{AdminState, Config, Persistence, Vip};

/// What haproxy.cfg says of one frontend (or `listen`) and its backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The frontend's name.
    pub proxy: String,
    /// Its header line.
    pub line: usize,
    /// The VIPs the import made of it (none when it was left out).
    pub vips: Vec<String>,
    /// Every address its `bind` lines name.
    pub listen: Vec<SocketAddr>,
    /// Its backend's servers, in order.
    pub servers: Vec<ExpectedServer>,
    /// Its persistence.
    pub persistence: ExpectedPersistence,
}

/// One `server` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedServer {
    /// Its name.
    pub name: String,
    /// Its address with the port it gets; `None` when it has none lb could use.
    pub address: Option<SocketAddr>,
    /// Its weight (HAProxy's default 1).
    pub weight: u16,
    /// `backup`.
    pub backup: bool,
    /// `disabled`.
    pub disabled: bool,
}

/// HAProxy's persistence of a proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedPersistence {
    /// None.
    None,
    /// `cookie NAME ...` on an http proxy.
    Cookie {
        /// The cookie's name.
        name: String,
    },
    /// `stick on dst`.
    LastSuccessful,
    /// `stick on src`.
    SourceIp {
        /// The table's `expire`.
        timeout: Option<Duration>,
        /// The table's `size`.
        size: Option<u64>,
    },
}

/// Every difference between `config` and what haproxy.cfg said, one line each (`mysql:
/// server controller-1: backup in haproxy.cfg (line 42), not in lb`); empty when they agree.
pub fn compare(expected: &[Expected], config: &Config) -> Vec<String> {
    let mut mismatches = Vec::new();
    for proxy in expected {
        let vips: Vec<&Vip> = config
            .vips
            .iter()
            .filter(|vip| proxy.vips.contains(&vip.name))
            .collect();
        let mut say = |what: String| {
            mismatches.push(format!("{} (line {}): {what}", proxy.proxy, proxy.line));
        };
        if vips.is_empty() {
            say("no VIP in the lb configuration".to_owned());
            continue;
        }
        let mut listen: Vec<SocketAddr> = vips.iter().flat_map(|vip| vip.listen.clone()).collect();
        let mut wanted = proxy.listen.clone();
        listen.sort();
        wanted.sort();
        if listen != wanted {
            say(format!(
                "listens on {} in lb, on {} in haproxy.cfg",
                list(&listen),
                list(&wanted)
            ));
        }
        for vip in vips {
            for mismatch in servers(vip, &proxy.servers) {
                say(format!("VIP {}: {mismatch}", vip.name));
            }
            if let Some(mismatch) = persistence(&vip.persistence, &proxy.persistence) {
                say(format!("VIP {}: {mismatch}", vip.name));
            }
        }
    }
    mismatches
}

fn list(addresses: &[SocketAddr]) -> String {
    let texts: Vec<String> = addresses.iter().map(SocketAddr::to_string).collect();
    format!("[{}]", texts.join(", "))
}

fn servers(vip: &Vip, expected: &[ExpectedServer]) -> Vec<String> {
    let mut mismatches = Vec::new();
    let names: Vec<String> = expected
        .iter()
        .map(|server| lb_name(&server.name))
        .collect();
    let lb_names: Vec<&str> = vip
        .servers
        .iter()
        .map(|server| server.name.as_str())
        .collect();
    if lb_names != names {
        mismatches.push(format!(
            "servers [{}] in lb, [{}] in haproxy.cfg",
            lb_names.join(", "),
            names.join(", ")
        ));
        return mismatches;
    }
    for (server, wanted) in vip.servers.iter().zip(expected) {
        let mut say = |what: String| mismatches.push(format!("server {}: {what}", server.name));
        if wanted.address != Some(server.address) {
            let wanted = wanted
                .address
                .map_or("none lb can use".to_owned(), |a| a.to_string());
            say(format!(
                "address {} in lb, {wanted} in haproxy.cfg",
                server.address
            ));
        }
        if server.backup != wanted.backup {
            say(format!(
                "backup {} in lb, {} in haproxy.cfg",
                server.backup, wanted.backup
            ));
        }
        let maintenance = server.admin == AdminState::Maintenance;
        if maintenance != wanted.disabled {
            say(format!(
                "state {} in lb, {} in haproxy.cfg",
                server.admin.as_str(),
                if wanted.disabled {
                    "disabled"
                } else {
                    "enabled"
                }
            ));
        }
    }
    let weights: Vec<(u64, u64)> = vip
        .servers
        .iter()
        .zip(expected)
        .map(|(server, wanted)| (u64::from(server.weight), u64::from(wanted.weight)))
        .collect();
    let proportional = weights.iter().all(|&(lb, ha)| {
        weights
            .iter()
            .all(|&(other_lb, other_ha)| lb * other_ha == other_lb * ha)
    });
    if !proportional {
        let text = |pick: fn(&(u64, u64)) -> u64| {
            weights
                .iter()
                .map(|pair| pick(pair).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        mismatches.push(format!(
            "weights [{}] in lb are not in the proportions of [{}] in haproxy.cfg",
            text(|pair| pair.0),
            text(|pair| pair.1)
        ));
    }
    mismatches
}

fn persistence(lb: &Persistence, wanted: &ExpectedPersistence) -> Option<String> {
    let agrees = match (lb, wanted) {
        (Persistence::None, ExpectedPersistence::None)
        | (Persistence::LastSuccessful { .. }, ExpectedPersistence::LastSuccessful) => true,
        (Persistence::Cookie { name, .. }, ExpectedPersistence::Cookie { name: wanted }) => {
            name == wanted
        }
        (
            Persistence::SourceIp { timeout, size, .. },
            ExpectedPersistence::SourceIp {
                timeout: wanted_timeout,
                size: wanted_size,
            },
        ) => {
            wanted_timeout.is_none_or(|wanted| wanted == *timeout)
                && wanted_size.is_none_or(|wanted| u64::try_from(*size).ok() == Some(wanted))
        }
        _ => false,
    };
    (!agrees).then(|| format!("persistence {lb:?} in lb, {wanted:?} in haproxy.cfg"))
}
