//! A VIP's transport keys: `send_proxy` (`"v1"` or `"v2"`), `accept_proxy_from` (networks, as
//! one string or a list), `source` (an IP address, or `"client"`: the client's own address,
//! see [`crate::model::Source`]) and `client_keepalive` / `server_keepalive` (`true` for the
//! defaults, or `{ idle, interval, count }`).
//!
//! Defaults: no PROXY protocol either way, the system's source address, no keep-alive; a
//! keep-alive table's missing keys take [`KeepAlive::default`].

use super::reader::{Field, Reader, Table, U32};
use crate::model::{KeepAlive, ProxyVersion, Source, Vip};

/// The keys read here.
pub(super) const KEYS: [&str; 5] = [
    "send_proxy",
    "accept_proxy_from",
    "source",
    "client_keepalive",
    "server_keepalive",
];

/// Both PROXY protocol versions.
const PROXY_VERSIONS: [ProxyVersion; 2] = [ProxyVersion::V1, ProxyVersion::V2];

const KEEPALIVE_KEYS: [&str; 3] = ["idle", "interval", "count"];

/// Reads the transport keys of `table` into `vip`.
pub(super) fn read(reader: &mut Reader, table: &Table<'_>, vip: &mut Vip) {
    vip.send_proxy = table.get("send_proxy").and_then(|field| {
        reader.choice(
            &field,
            "PROXY protocol version",
            &PROXY_VERSIONS,
            ProxyVersion::as_str,
        )
    });
    if let Some(field) = table.get("accept_proxy_from") {
        vip.accept_proxy_from = reader
            .one_or_many(&field)
            .iter()
            .filter_map(|network| reader.network(network))
            .collect();
    }
    vip.source = table
        .get("source")
        .and_then(|field| reader.parsed(&field, str::parse::<Source>));
    vip.client_keepalive = table
        .get("client_keepalive")
        .and_then(|field| keepalive(reader, &field));
    vip.server_keepalive = table
        .get("server_keepalive")
        .and_then(|field| keepalive(reader, &field));
}

fn keepalive(reader: &mut Reader, field: &Field<'_>) -> Option<KeepAlive> {
    if field.type_name() == "boolean" {
        return reader.boolean(field)?.then(KeepAlive::default);
    }
    let table = reader.table(field, &KEEPALIVE_KEYS)?;
    let mut keepalive = KeepAlive::default();
    reader.set(table.get("idle"), &mut keepalive.idle, Reader::duration);
    reader.set(
        table.get("interval"),
        &mut keepalive.interval,
        Reader::duration,
    );
    reader.set(table.get("count"), &mut keepalive.count, |reader, field| {
        reader.integer(field, U32)
    });
    Some(keepalive)
}
