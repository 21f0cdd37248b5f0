//! The `[cluster]` table and its `[cluster.vrrp]` part.
//!
//! `[cluster]`: `node`, `listen`, `peer = { name, address }` and `secret_file` are required;
//! `tables` (default all three: `last-successful`, `source-ip`, `server-state`; `[]` switches
//! replication off), `sync_timeout` (default 2s), `close_sessions_on_vip_loss` (default true).
//!
//! `[cluster.vrrp]`: `interface`, `router_id` (1-255), `src_address` and `peer_address` are
//! required; `priority` (1-254, default 100), `advert_interval` (default 1s; 10ms to 40950ms
//! in 10 ms steps).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use super::reader::{Field, Reader, UNREADABLE_ADDRESS};
use crate::cluster::{Cluster, Peer, Table, Vrrp};

const CLUSTER_KEYS: [&str; 8] = [
    "node",
    "listen",
    "peer",
    "secret_file",
    "tables",
    "sync_timeout",
    "close_sessions_on_vip_loss",
    "vrrp",
];
const PEER_KEYS: [&str; 2] = ["name", "address"];
const VRRP_KEYS: [&str; 6] = [
    "interface",
    "router_id",
    "priority",
    "advert_interval",
    "src_address",
    "peer_address",
];

/// Stands for an IP address that could not be read.
const UNREADABLE_IP: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// Reads `[cluster]` (with placeholders where reads failed).
pub(super) fn read(reader: &mut Reader, field: &Field<'_>) -> Option<Cluster> {
    let table = reader.table(field, &CLUSTER_KEYS)?;
    let peer = Peer {
        name: String::new(),
        address: UNREADABLE_ADDRESS,
    };
    let mut cluster = Cluster::new("", UNREADABLE_ADDRESS, peer, PathBuf::new());
    let node = reader.require(&table, "node");
    reader.set(node, &mut cluster.node, Reader::string);
    let listen = reader.require(&table, "listen");
    reader.set(listen, &mut cluster.listen, Reader::socket_address);
    if let Some(field) = reader.require(&table, "peer") {
        if let Some(peer) = reader.table(&field, &PEER_KEYS) {
            let name = reader.require(&peer, "name");
            reader.set(name, &mut cluster.peer.name, Reader::string);
            let address = reader.require(&peer, "address");
            reader.set(address, &mut cluster.peer.address, Reader::socket_address);
        }
    }
    let secret_file = reader.require(&table, "secret_file");
    reader.set(secret_file, &mut cluster.secret_file, |reader, field| {
        reader.string(field).map(PathBuf::from)
    });
    if let Some(field) = table.get("tables") {
        let names = reader.array(&field).unwrap_or_default();
        cluster.tables = names
            .iter()
            .filter_map(|name| reader.choice(name, "table", &Table::ALL, Table::as_str))
            .collect();
    }
    reader.set(
        table.get("sync_timeout"),
        &mut cluster.sync_timeout,
        Reader::duration,
    );
    reader.set(
        table.get("close_sessions_on_vip_loss"),
        &mut cluster.close_sessions_on_vip_loss,
        Reader::boolean,
    );
    cluster.vrrp = table.get("vrrp").and_then(|field| vrrp(reader, &field));
    Some(cluster)
}

fn vrrp(reader: &mut Reader, field: &Field<'_>) -> Option<Vrrp> {
    let table = reader.table(field, &VRRP_KEYS)?;
    let mut vrrp = Vrrp::new("", 0, UNREADABLE_IP, UNREADABLE_IP);
    let interface = reader.require(&table, "interface");
    reader.set(interface, &mut vrrp.interface, Reader::string);
    let router_id = reader.require(&table, "router_id");
    reader.set(router_id, &mut vrrp.router_id, |reader, field| {
        reader.integer(field, 1..=255)
    });
    reader.set(
        table.get("priority"),
        &mut vrrp.priority,
        |reader, field| reader.integer(field, 1..=254),
    );
    reader.set(
        table.get("advert_interval"),
        &mut vrrp.advert_interval,
        Reader::duration,
    );
    let src_address = reader.require(&table, "src_address");
    reader.set(src_address, &mut vrrp.src_address, Reader::ip_address);
    let peer_address = reader.require(&table, "peer_address");
    reader.set(peer_address, &mut vrrp.peer_address, Reader::ip_address);
    Some(vrrp)
}
