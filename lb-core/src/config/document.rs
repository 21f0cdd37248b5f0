//! The top of the file: `[global]`, `[admin]`, `[defaults]`, the `[[vip]]` list and
//! `[cluster]`.
//!
//! Every section is optional. `[global]` defaults to a 20480-connection cap and a 30 s
//! graceful shutdown; `[admin]`, when present, listens on `127.0.0.1:9900` unless told
//! otherwise; without it there is no admin listener. Without `[cluster]` the node runs alone.

use std::path::PathBuf;

use super::reader::{Reader, Table};
use super::{cluster, vip};
use crate::model::{Admin, Config, Global};

const ROOT_KEYS: [&str; 5] = ["global", "admin", "defaults", "vip", "cluster"];
const GLOBAL_KEYS: [&str; 2] = ["max_connections", "shutdown_timeout"];
const ADMIN_KEYS: [&str; 2] = ["listen", "token_file"];

/// Reads a whole document into a configuration (with placeholders where reads failed).
pub(super) fn config(reader: &mut Reader, root: &Table<'_>) -> Config {
    reader.known_keys(root, &ROOT_KEYS, |_| None);
    let global = root
        .get("global")
        .and_then(|field| reader.table(&field, &GLOBAL_KEYS))
        .map(|table| global(reader, &table))
        .unwrap_or_default();
    let admin = root
        .get("admin")
        .and_then(|field| reader.table(&field, &ADMIN_KEYS))
        .map(|table| admin(reader, &table));
    let defaults = root
        .get("defaults")
        .and_then(|field| vip::defaults(reader, &field));
    let vips = match root.get("vip") {
        Some(field) if field.type_name() == "table" => {
            reader.fail(&field, "write each VIP as a [[vip]] table".to_owned());
            Vec::new()
        }
        field => field
            .and_then(|field| reader.array(&field))
            .unwrap_or_default()
            .into_iter()
            .map(|field| vip::vip(reader, &field, defaults.as_ref()))
            .collect(),
    };
    let cluster = root
        .get("cluster")
        .and_then(|field| cluster::read(reader, &field));
    Config {
        global,
        admin,
        vips,
        cluster,
    }
}

fn global(reader: &mut Reader, table: &Table<'_>) -> Global {
    let mut global = Global::default();
    if let Some(field) = table.get("max_connections") {
        global.max_connections = reader
            .integer(&field, 0..=u64::from(u32::MAX))
            .unwrap_or(global.max_connections);
    }
    if let Some(field) = table.get("shutdown_timeout") {
        global.shutdown_timeout = reader.duration(&field).unwrap_or(global.shutdown_timeout);
    }
    global
}

fn admin(reader: &mut Reader, table: &Table<'_>) -> Admin {
    let mut admin = Admin::default();
    if let Some(field) = table.get("listen") {
        admin.listen = reader.socket_address(&field).unwrap_or(admin.listen);
    }
    admin.token_file = table
        .get("token_file")
        .and_then(|field| reader.string(&field))
        .map(PathBuf::from);
    admin
}
