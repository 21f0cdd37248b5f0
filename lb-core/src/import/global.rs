//! The `global` section: what becomes `[global]`, and what the proxies need from it.
//!
//! `maxconn` becomes `[global] max_connections`, `hard-stop-after` the graceful shutdown
//! deadline (`shutdown_timeout`); `ca-base` and `crt-base` complete relative `ca-file` and
//! `crt` paths; `ssl-server-verify none` turns server certificate checks off where a server
//! does not ask for them; `tune.http.maxhdr` becomes each http VIP's `max_header_fields`.
//! Everything else is noted: lb runs in the foreground (systemd starts it as its user), logs
//! to stderr, has an admin API instead of the stats socket, and fixed TLS and tuning settings.

use std::time::Duration;

use super::lexer::Line;
use super::report::Report;
use super::values::{Unit, number, time};
use crate::model::HeadLimits;

/// What the proxies and `[global]` take from the `global` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Globals {
    /// `maxconn`.
    pub(super) max_connections: Option<u32>,
    /// `hard-stop-after`.
    pub(super) shutdown_timeout: Option<Duration>,
    /// `ca-base`: the folder of relative `ca-file` paths.
    pub(super) ca_base: Option<String>,
    /// `crt-base`: the folder of relative `crt` paths.
    pub(super) crt_base: Option<String>,
    /// `ssl-server-verify`: whether servers' certificates are checked by default.
    pub(super) verify_servers: bool,
    /// `tune.http.maxhdr`.
    pub(super) max_header_fields: Option<usize>,
}

impl Default for Globals {
    fn default() -> Self {
        Globals {
            max_connections: None,
            shutdown_timeout: None,
            ca_base: None,
            crt_base: None,
            verify_servers: true,
            max_header_fields: None,
        }
    }
}

impl Globals {
    /// `path` completed with `base` when it is relative.
    pub(super) fn resolve(base: Option<&str>, path: &str) -> String {
        match base {
            Some(base) if !path.starts_with('/') => {
                format!("{}/{path}", base.trim_end_matches('/'))
            }
            _ => path.to_owned(),
        }
    }
}

/// Reasons for the keywords that have no lb equivalent, by keyword or keyword prefix.
const LEFT_OUT: [(&str, &str); 13] = [
    (
        "log",
        "lb logs to stderr (level from RUST_LOG; one `lb::access` line per connection or request)",
    ),
    (
        "stats",
        "lb's admin API ([admin] listen) shows and changes servers instead of the stats socket",
    ),
    (
        "daemon",
        "lb runs in the foreground, under systemd (packaging/lb.service)",
    ),
    (
        "master-worker",
        "lb runs in the foreground, under systemd (packaging/lb.service)",
    ),
    ("user", "lb runs as the user systemd starts it as"),
    ("group", "lb runs as the user systemd starts it as"),
    (
        "chroot",
        "lb does not chroot; systemd's sandboxing options do that job",
    ),
    (
        "pidfile",
        "lb runs in the foreground and writes no pid file",
    ),
    ("nbthread", "lb picks its number of worker threads itself"),
    (
        "ssl-",
        "lb's TLS settings are fixed: TLS 1.2 and 1.3, rustls's cipher suites",
    ),
    ("tune.", "lb has no such tuning setting"),
    ("lua-", "lb runs no Lua"),
    ("ulimit-n", "set LimitNOFILE= in the systemd unit"),
];

/// Reads the `global` section's lines.
pub(super) fn read(lines: &[Line], globals: &mut Globals, report: &mut Report) {
    for line in lines {
        let keyword = line.word(0);
        let argument = line.word(1);
        let mut invalid = |reason: String| report.left_out(line.number, line.text.clone(), reason);
        match keyword {
            "maxconn" => match number(argument) {
                Ok(0) | Err(_) => invalid(format!("`{argument}` is not a connection count")),
                Ok(count) => globals.max_connections = Some(count),
            },
            "hard-stop-after" => match time(argument, Unit::Milliseconds) {
                Ok(deadline) if !deadline.is_zero() => globals.shutdown_timeout = Some(deadline),
                Ok(_) => invalid("a zero deadline".to_owned()),
                Err(reason) => invalid(reason),
            },
            "ca-base" => globals.ca_base = Some(argument.to_owned()),
            "crt-base" => globals.crt_base = Some(argument.to_owned()),
            "ssl-server-verify" => match argument {
                "none" => globals.verify_servers = false,
                "required" => globals.verify_servers = true,
                _ => invalid(format!("`{argument}` is neither `none` nor `required`")),
            },
            "tune.http.maxhdr" => match number(argument) {
                Ok(count) => {
                    let fields = usize::try_from(count).unwrap_or(usize::MAX);
                    let limits = HeadLimits::FIELDS;
                    let clamped = fields.clamp(*limits.start(), *limits.end());
                    if clamped != fields {
                        report.approximated(
                            line.number,
                            line.text.clone(),
                            format!(
                                "lb allows {} to {} header fields: {clamped}",
                                limits.start(),
                                limits.end()
                            ),
                        );
                    }
                    globals.max_header_fields = Some(clamped);
                }
                Err(reason) => invalid(reason),
            },
            _ => {
                let reason = LEFT_OUT
                    .iter()
                    .find(|(prefix, _)| {
                        keyword == *prefix
                            || (prefix.ends_with(['.', '-']) && keyword.starts_with(prefix))
                    })
                    .map_or("lb has no such setting", |(_, reason)| reason);
                invalid(reason.to_owned());
            }
        }
    }
}
