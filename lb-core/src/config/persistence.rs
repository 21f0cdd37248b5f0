//! A VIP's `persistence` table: `kind` and the keys of that kind.
//!
//! - `none`: no keys.
//! - `source-ip`: `timeout` (default 30m), `size` (default 10240 entries), `netmask` (IPv4
//!   prefix length, default 32) and `netmask_v6` (IPv6 prefix length, default 128).
//! - `cookie`: `name` (default `SERVERID`), `indirect` and `nocache` (both default true),
//!   `max_idle` and `max_life` (default unlimited).
//! - `last-successful`: `clear_on_drain` (default false).
//!
//! A VIP without the table has no persistence.

use super::reader::{Field, Reader};
use crate::model::Persistence;

/// The persistence kinds, in documentation order.
const KINDS: [&str; 4] = ["none", "source-ip", "cookie", "last-successful"];

/// The keys of one kind, beside `kind`.
fn kind_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "source-ip" => &["timeout", "size", "netmask", "netmask_v6"],
        "cookie" => &["name", "indirect", "nocache", "max_idle", "max_life"],
        "last-successful" => &["clear_on_drain"],
        _ => &[],
    }
}

/// Reads the table (no persistence where it cannot be read).
pub(super) fn read(reader: &mut Reader, field: &Field<'_>) -> Persistence {
    let Some(table) = reader.any_table(field) else {
        return Persistence::None;
    };
    let kind = reader
        .require(&table, "kind")
        .and_then(|field| reader.choice(&field, "persistence kind", &KINDS, |kind| kind));
    let mut known = vec!["kind"];
    match kind {
        Some(kind) => known.extend(kind_keys(kind)),
        None => KINDS.iter().for_each(|kind| known.extend(kind_keys(kind))),
    }
    reader.known_keys(&table, &known, |key| {
        let owner = KINDS
            .into_iter()
            .find(|kind| kind_keys(kind).contains(&key))?;
        Some(format!(
            "`{key}` applies to {owner} persistence, not to {}",
            kind.unwrap_or("none")
        ))
    });
    let mut persistence = match kind {
        Some("source-ip") => Persistence::source_ip(),
        Some("cookie") => Persistence::cookie(),
        Some("last-successful") => Persistence::LastSuccessful {
            clear_on_drain: false,
        },
        _ => Persistence::None,
    };
    match &mut persistence {
        Persistence::None => {}
        Persistence::SourceIp {
            timeout,
            size,
            netmask_v4,
            netmask_v6,
        } => {
            reader.set(table.get("timeout"), timeout, Reader::duration);
            reader.set(table.get("size"), size, |reader, field| {
                reader.integer(field, 0..=u64::from(u32::MAX))
            });
            reader.set(table.get("netmask"), netmask_v4, |reader, field| {
                reader.integer(field, 0..=32)
            });
            reader.set(table.get("netmask_v6"), netmask_v6, |reader, field| {
                reader.integer(field, 0..=128)
            });
        }
        Persistence::Cookie {
            name,
            indirect,
            nocache,
            max_idle,
            max_life,
        } => {
            reader.set(table.get("name"), name, Reader::string);
            reader.set(table.get("indirect"), indirect, Reader::boolean);
            reader.set(table.get("nocache"), nocache, Reader::boolean);
            *max_idle = table
                .get("max_idle")
                .and_then(|field| reader.duration(&field));
            *max_life = table
                .get("max_life")
                .and_then(|field| reader.duration(&field));
        }
        Persistence::LastSuccessful { clear_on_drain } => {
            reader.set(table.get("clear_on_drain"), clear_on_drain, Reader::boolean);
        }
    }
    persistence
}
