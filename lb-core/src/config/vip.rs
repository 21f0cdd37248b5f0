//! One `[[vip]]` table, and the `[defaults]` it inherits from.
//!
//! `[defaults]` may set the timeouts, `retries`, `max_connections` and the timing keys of
//! `check`; a VIP's own keys win, key by key (its `check` table too). Whatever neither sets
//! keeps the model's default (see [`crate::model::Vip::new`]). `listen` takes one address or a
//! list. A VIP's mode defaults to `tcp` and its scheduler to `round-robin`.

use super::reader::{Field, Layered, Reader, Table, U32, UNREADABLE_ADDRESS};
use super::{check, http, persistence, server_tls, servers, tls, transport};
use crate::model::{Mode, Persistence, SchedulerKind, Vip};

/// The keys `[defaults]` may set, which every VIP inherits.
const INHERITED_KEYS: [&str; 9] = [
    "connect_timeout",
    "client_timeout",
    "server_timeout",
    "tunnel_timeout",
    "queue_timeout",
    "http_request_timeout",
    "retries",
    "max_connections",
    "check",
];

/// The keys only a VIP sets.
const OWN_KEYS: [&str; 10] = [
    "name",
    "listen",
    "mode",
    "scheduler",
    "persistence",
    "shutdown_sessions_on_down",
    "servers",
    "http",
    "tls",
    "server_tls",
];

/// Both modes, in documentation order.
const MODES: [Mode; 2] = [Mode::Tcp, Mode::Http];

/// The `[defaults]` table, ready to be inherited.
pub(super) struct Defaults<'a> {
    table: Table<'a>,
    check: Option<Table<'a>>,
}

/// Reads `[defaults]` once on its own (so its mistakes show even with no VIP) and keeps it
/// for the VIPs.
pub(super) fn defaults<'a>(reader: &mut Reader, field: &Field<'a>) -> Option<Defaults<'a>> {
    let table = reader.table(field, &INHERITED_KEYS)?;
    let check = table
        .get("check")
        .and_then(|field| check::defaults_table(reader, &field));
    let alone = Layered {
        own: Some(table.clone()),
        defaults: None,
        target: "defaults".to_owned(),
    };
    inherited(reader, &alone, &mut Vip::new("", UNREADABLE_ADDRESS));
    check::read(reader, None, check.clone(), "defaults.check".to_owned());
    Some(Defaults { table, check })
}

/// Reads one VIP (with placeholders where reads failed).
pub(super) fn vip(reader: &mut Reader, field: &Field<'_>, defaults: Option<&Defaults<'_>>) -> Vip {
    let mut vip = Vip::new("", UNREADABLE_ADDRESS);
    vip.listen.clear();
    let known: Vec<&str> = OWN_KEYS
        .iter()
        .chain(&INHERITED_KEYS)
        .chain(&transport::KEYS)
        .copied()
        .collect();
    let Some(table) = reader.table(field, &known) else {
        return vip;
    };
    let name = reader.require(&table, "name");
    reader.set(name, &mut vip.name, Reader::string);
    if let Some(field) = reader.require(&table, "listen") {
        for address in reader.one_or_many(&field) {
            let address = reader.socket_address(&address);
            vip.listen.push(address.unwrap_or(UNREADABLE_ADDRESS));
        }
    }
    reader.set(
        table.get("scheduler"),
        &mut vip.scheduler,
        |reader, field| {
            reader.choice(
                field,
                "scheduler",
                &SchedulerKind::ALL,
                SchedulerKind::as_str,
            )
        },
    );
    if let Some(field) = table.get("persistence") {
        vip.persistence = persistence::read(reader, &field);
    }
    if let Some(field) = table.get("mode") {
        // An unreadable mode is taken to be the one the persistence needs, so that one
        // mistake gives one message.
        let needed = match vip.persistence {
            Persistence::Cookie { .. } => Mode::Http,
            _ => Mode::Tcp,
        };
        let mode = reader.choice(&field, "mode", &MODES, Mode::as_str);
        vip.mode = mode.unwrap_or(needed);
    }
    let layered = Layered {
        own: Some(table.clone()),
        defaults: defaults.map(|defaults| defaults.table.clone()),
        target: table.target().to_owned(),
    };
    inherited(reader, &layered, &mut vip);
    vip.check = check::read(
        reader,
        table.get("check"),
        defaults.and_then(|defaults| defaults.check.clone()),
        table.target_of("check"),
    );
    reader.set(
        table.get("shutdown_sessions_on_down"),
        &mut vip.shutdown_sessions_on_down,
        Reader::boolean,
    );
    vip.servers = servers::read(reader, table.get("servers"));
    transport::read(reader, &table, &mut vip);
    if let Some(field) = table.get("http") {
        vip.http = http::read(reader, &field);
    }
    if let Some(field) = table.get("tls") {
        vip.tls = tls::read(reader, &field, vip.mode);
    }
    if let Some(field) = table.get("server_tls") {
        vip.server_tls = server_tls::read(reader, &field, vip.mode);
    }
    vip
}

/// The settings a VIP may inherit from `[defaults]`, except `check`.
fn inherited(reader: &mut Reader, layered: &Layered<'_>, vip: &mut Vip) {
    let timeouts = &mut vip.timeouts;
    for (key, slot) in [
        ("connect_timeout", &mut timeouts.connect),
        ("client_timeout", &mut timeouts.client),
        ("server_timeout", &mut timeouts.server),
        ("tunnel_timeout", &mut timeouts.tunnel),
        ("queue_timeout", &mut timeouts.queue),
        ("http_request_timeout", &mut timeouts.http_request),
    ] {
        reader.set(layered.get(key), slot, Reader::duration);
    }
    for (key, slot) in [
        ("retries", &mut vip.retries),
        ("max_connections", &mut vip.max_connections),
    ] {
        reader.set(layered.get(key), slot, |reader, field| {
            reader.integer(field, U32)
        });
    }
}
