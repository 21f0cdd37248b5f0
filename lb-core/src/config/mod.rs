//! The TOML configuration file: parsing, validation, and errors with file, line, column and
//! field path. Produces the typed [`crate::model::Config`].
//!
//! ```toml
//! [global]                      # optional: max_connections (20480), shutdown_timeout (30s)
//! max_connections = 20480
//! [admin]                       # optional: no admin listener without it
//! listen = "127.0.0.1:9900"
//! token_file = "admin.token"
//! [defaults]                    # optional: inherited by every VIP, key by key
//! connect_timeout = "10s"
//! client_timeout = "2m"
//! server_timeout = "2m"
//! retries = 3
//! check = { interval = "2s", rise = 2, fall = 5, timeout = "10s" }
//! [[vip]]
//! name = "mysql"
//! listen = ["192.0.2.10:3306"]
//! mode = "tcp"                  # tcp | http
//! scheduler = "first"           # round-robin | least-connections | source-hash | first | random | two-choices
//! persistence = { kind = "last-successful" }   # none | source-ip | cookie | last-successful
//! check = { kind = "http", port = 9200, path = "/", expect = "200", interval = "1s" }
//! client_timeout = "90m"
//! server_timeout = "90m"
//! shutdown_sessions_on_down = true
//! servers = [
//!   { name = "controller-0", address = "192.0.2.11:3306" },
//!   { name = "controller-1", address = "192.0.2.12:3306", weight = 100, backup = false },
//! ]
//! [cluster]                     # optional: this node's part of a clustered pair
//! node = "lb1"
//! listen = "10.79.0.1:7440"     # replication
//! peer = { name = "lb2", address = "10.79.0.2:7440" }
//! secret_file = "/etc/lb/cluster.key"
//! tables = ["last-successful", "source-ip", "server-state"]   # the default; [] = none
//! sync_timeout = "2s"
//! close_sessions_on_vip_loss = true
//! [cluster.vrrp]                # optional: what `lb keepalived` writes for keepalived
//! interface = "eth0"
//! router_id = 51                # 1-255
//! priority = 100                # 1-254
//! advert_interval = "1s"        # 10ms-40950ms in 10 ms steps
//! src_address = "192.0.2.2"
//! peer_address = "192.0.2.3"
//! ```
//!
//! Each table's keys and defaults are listed in its module: `vip` (and what `[defaults]` may
//! set), `check`, `persistence`, `servers`, `transport`, `http`, `tls`,
//! `server_tls`, `cluster` (with `[cluster.vrrp]`). Durations read like `500ms`, `10s`,
//! `2m`, `1h30m` ([`crate::model::parse_duration`]). Servers get their
//! [`crate::model::ServerId`] from their order within the VIP: `#0`, `#1`, `#2`...
//!
//! [`parse`] reports every problem, not just the first: TOML syntax, unknown keys (with the
//! closest known key when one is obvious), wrong types, unreadable values, and the semantic
//! checks of [`crate::model::validate`], each pointed back at the line that set the field (a
//! value inherited from `[defaults]` is reported there, once).
//! [`to_toml`] writes a configuration back in this shape.

mod check;
mod cluster;
mod document;
mod error;
mod http;
mod persistence;
mod reader;
mod server_tls;
mod servers;
mod suggest;
mod tls;
mod transport;
mod vip;
mod write;

pub use error::{ConfigError, ConfigErrors};
pub use write::to_toml;

use toml::de::DeTable;

use crate::model::{Config, validate};
use reader::{Reader, Table};

/// Reads and validates the TOML configuration `text`; `file` names it in the errors.
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigErrors> {
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    let mut reader = Reader::default();
    for error in &syntax_errors {
        reader.syntax(error.span().unwrap_or(0..0), error.message());
    }
    let config = document::config(&mut reader, &Table::root(&document));
    for error in validate(&config) {
        reader.semantic(error);
    }
    let errors: Vec<ConfigError> = reader
        .finish()
        .into_iter()
        .map(|error| error.locate(text))
        .collect();
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors {
            file: file.to_owned(),
            errors,
        })
    }
}
