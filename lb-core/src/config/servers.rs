//! A VIP's `servers` list: `{ name, address, weight, backup, state }` tables.
//!
//! Servers get their [`ServerId`] from their position in the list: the first is `#0`, the
//! next `#1`, and so on. Defaults: weight 100, not a backup, state `ready`.

use super::reader::{Field, Reader, UNREADABLE_ADDRESS};
use crate::model::{AdminState, MAX_WEIGHT, Server, ServerId};

const SERVER_KEYS: [&str; 5] = ["name", "address", "weight", "backup", "state"];

/// The admin states, in documentation order.
const STATES: [AdminState; 3] = [
    AdminState::Ready,
    AdminState::Drain,
    AdminState::Maintenance,
];

/// Reads the list; entries that are not tables are left out (their ids stay taken).
pub(super) fn read(reader: &mut Reader, field: Option<Field<'_>>) -> Vec<Server> {
    let entries = field
        .and_then(|field| reader.array(&field))
        .unwrap_or_default();
    entries
        .iter()
        .zip(0..)
        .filter_map(|(field, id)| server(reader, field, ServerId(id)))
        .collect()
}

fn server(reader: &mut Reader, field: &Field<'_>, id: ServerId) -> Option<Server> {
    let table = reader.table(field, &SERVER_KEYS)?;
    let mut server = Server::new(id, "", UNREADABLE_ADDRESS);
    let name = reader.require(&table, "name");
    reader.set(name, &mut server.name, Reader::string);
    let address = reader.require(&table, "address");
    reader.set(address, &mut server.address, Reader::socket_address);
    reader.set(table.get("weight"), &mut server.weight, |reader, field| {
        reader.integer(field, 0..=u64::from(MAX_WEIGHT))
    });
    reader.set(table.get("backup"), &mut server.backup, Reader::boolean);
    reader.set(table.get("state"), &mut server.admin, |reader, field| {
        reader.choice(field, "server state", &STATES, AdminState::as_str)
    });
    Some(server)
}
