//! `lb import`: an HAProxy configuration (haproxy.cfg text) made into an lb [`Config`], with
//! a report of everything left out or approximated, each with its line and the reason.
//!
//! Each `listen` section, and each `frontend` with the backend it hands every client to
//! (`use_backend NAME` without a condition, else `default_backend`), becomes a VIP of the
//! same name; a proxy with both cleartext and `ssl crt` binds becomes two (`NAME-tls`), since
//! lb terminates TLS per VIP. What is read, where it goes, and what is noted:
//!
//! - `global` (`global.rs`): `maxconn`, `hard-stop-after`, `ca-base`, `crt-base`,
//!   `ssl-server-verify`, `tune.http.maxhdr`;
//! - proxies and `defaults` (`proxy.rs`, `options.rs`): `mode`, `bind` (address lists, `ssl`,
//!   `crt`, `alpn`, `accept-proxy`, `transparent`), `balance` and `hash-type`, `maxconn`,
//!   `retries`, `option redispatch`, `timeout` connect/client/server/queue/http-request/
//!   tunnel/check, `option tcpka`/`clitcpka`/`srvtcpka`, `source ... usesrc clientip`;
//! - servers (`server.rs`): see there;
//! - checks (`checks.rs`, `health.rs`): `option httpchk` with `http-check send`/`expect`,
//!   `option mysql-check`, `option redis-check`, `option tcp-check` with `tcp-check` rules;
//! - persistence (`persist.rs`, `scheduling.rs`): `cookie ... insert`, `stick-table` with
//!   `stick on dst` (last-successful) or `stick on src` (source-ip);
//! - http (`http.rs`, `traffic.rs`): `option forwardfor`, `http-request`/`http-response`
//!   `set-header`/`add-header`/`del-header`, `redirect scheme https` and `redirect location`,
//!   unconditional or conditioned on `ssl_fc`.
//!
//! Everything else (ACLs and the rules that use them, stats pages, Lua, logging, unknown
//! keywords, other sections) is noted with its line, never dropped silently. The importer
//! reads no file and resolves no name: a server needs an IP address.
//!
//! The output is checked before it is handed out: written with [`to_toml`] and read back by
//! [`crate::config::parse`], as `lb check` would. A VIP that lb would refuse is left out
//! with the reason (noted), so the configuration returned always passes `lb check`.
//! [`compare`] checks a configuration against what the haproxy.cfg said of each proxy
//! ([`Expected`]).

mod build;
mod checks;
mod global;
mod health;
mod http;
mod lexer;
mod options;
mod persist;
mod proxy;
mod report;
mod scheduling;
mod sections;
mod server;
mod traffic;
mod values;
mod verify;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

pub use report::{Note, NoteKind};
pub use verify::{Expected, ExpectedPersistence, ExpectedServer, compare};

use crate::config::{parse, to_toml};
use crate::model::{Config, Global, Vip};
use build::{Context, Pair};
use global::Globals;
use proxy::Proxy;
use report::Report;
use sections::{Kind, Section};

/// What [`haproxy`] made of a haproxy.cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The lb configuration; it passes `lb check`.
    pub config: Config,
    /// What was left out or approximated, in line order; empty when everything was imported
    /// as it is.
    pub notes: Vec<Note>,
    /// What the haproxy.cfg says of each frontend or `listen`, for [`compare`].
    pub expected: Vec<Expected>,
}

/// Imports the haproxy.cfg `text`.
pub fn haproxy(text: &str) -> Import {
    let mut report = Report::default();
    let sections = sections::split(lexer::lines(text), &mut report);
    let mut globals = Globals::default();
    for section in sections.iter().filter(|s| s.kind == Kind::Global) {
        global::read(&section.body, &mut globals, &mut report);
    }
    let proxies = proxies(&sections, &globals, &mut report);
    let mut cx = Context {
        globals: &globals,
        report: &mut report,
        names: HashSet::new(),
        listeners: HashMap::new(),
    };
    let (vips, mut expected) = pairs(&proxies, &mut cx);
    let config = Config {
        global: Global {
            max_connections: globals
                .max_connections
                .unwrap_or(Global::default().max_connections),
            shutdown_timeout: globals
                .shutdown_timeout
                .unwrap_or(Global::default().shutdown_timeout),
        },
        admin: None,
        vips: Vec::new(),
        cluster: None,
    };
    let config = accepted(config, vips, &mut expected, &mut report);
    Import {
        config,
        notes: report.finish(),
        expected,
    }
}

/// Every proxy, after the `defaults` section it inherits.
fn proxies(sections: &[Section], globals: &Globals, report: &mut Report) -> Vec<Proxy> {
    let mut proxies = Vec::new();
    let mut last: Option<&Section> = None;
    let mut named: HashMap<&str, &Section> = HashMap::new();
    let mut used: HashSet<usize> = HashSet::new();
    for section in sections {
        match section.kind {
            Kind::Global => {}
            Kind::Defaults => {
                last = Some(section);
                if !section.name.is_empty() {
                    named.insert(&section.name, section);
                }
            }
            Kind::Frontend | Kind::Backend | Kind::Listen => {
                let defaults = match &section.from {
                    None => last,
                    Some(name) => named.get(name.as_str()).copied().or_else(|| {
                        report.left_out(
                            section.header.number,
                            format!("from {name}"),
                            "no defaults section of that name before it: nothing inherited",
                        );
                        None
                    }),
                };
                if let Some(defaults) = defaults {
                    used.insert(defaults.header.number);
                }
                proxies.push(proxy::read(section, defaults, globals, report));
            }
        }
    }
    for section in sections.iter().filter(|s| s.kind == Kind::Defaults) {
        if !used.contains(&section.header.number) {
            report.left_out(
                section.header.number,
                section.header.text.clone(),
                "the whole section: no proxy inherits it",
            );
        }
    }
    proxies
}

/// The VIPs of every frontend and `listen` with its backend (each with the line of the
/// proxy it comes from), and what haproxy.cfg says of each; backends no frontend uses are
/// noted.
fn pairs(proxies: &[Proxy], cx: &mut Context<'_>) -> (Vec<(Vip, usize)>, Vec<Expected>) {
    let backends: HashMap<&str, &Proxy> = proxies
        .iter()
        .filter(|p| matches!(p.kind, Kind::Backend | Kind::Listen))
        .map(|p| (p.name.as_str(), p))
        .collect();
    let mut used: HashSet<&str> = HashSet::new();
    let mut vips = Vec::new();
    let mut expected = Vec::new();
    for front in proxies.iter().filter(|p| p.kind != Kind::Backend) {
        let target = front
            .use_backend
            .as_ref()
            .or(front.default_backend.as_ref());
        let back = match target {
            Some(target) => match backends.get(target.value.as_str()) {
                Some(back) => *back,
                None => {
                    cx.report.left_out(
                        target.line,
                        format!("backend {}", target.value),
                        "no backend of that name: the frontend is left out",
                    );
                    continue;
                }
            },
            None if front.kind == Kind::Listen => front,
            None => {
                let reason = if front.stats.is_empty() {
                    "the whole frontend: no backend for every client (no default_backend, no \
                     use_backend without condition)"
                } else {
                    "the whole frontend: a stats page; lb's status page is its admin \
                     listener's `GET /` ([admin])"
                };
                cx.report
                    .left_out(front.header.number, front.header.text.clone(), reason);
                continue;
            }
        };
        used.insert(&back.name);
        let (made, said) = build::vips(Pair { front, back }, cx);
        vips.extend(made);
        if !said.servers.is_empty() {
            expected.push(said);
        }
    }
    for back in proxies.iter().filter(|p| p.kind == Kind::Backend) {
        if !used.contains(back.name.as_str()) {
            cx.report.left_out(
                back.header.number,
                back.header.text.clone(),
                "the whole backend: no frontend sends every client to it (only ACL-based \
                 use_backend rules, or none)",
            );
        }
    }
    (vips, expected)
}

/// `config` with `vips`, leaving out (and noting) those lb would refuse: the configuration
/// is written and read back as `lb check` does until it passes.
fn accepted(
    mut config: Config,
    vips: Vec<(Vip, usize)>,
    expected: &mut [Expected],
    report: &mut Report,
) -> Config {
    let (vips, mut lines): (Vec<Vip>, Vec<usize>) = vips.into_iter().unzip();
    config.vips = vips;
    loop {
        let errors = match parse("lb.toml", &to_toml(&config)) {
            Ok(_) => return config,
            Err(errors) => errors.errors,
        };
        let mut refused: Vec<(usize, String)> = Vec::new();
        let mut global_refused = false;
        for error in &errors {
            let index = error
                .path
                .strip_prefix("vip[")
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(index, _)| index.parse::<usize>().ok())
                .filter(|index| *index < config.vips.len());
            match index {
                Some(index) if !refused.iter().any(|(i, _)| *i == index) => {
                    refused.push((index, format!("{}: {}", error.path, error.message)));
                }
                Some(_) => {}
                None => global_refused = true,
            }
        }
        if refused.is_empty() {
            // Nothing a VIP can answer for: keep the defaults and no VIP rather than a file
            // lb would refuse (never seen; a guard against a writer bug).
            let reason = errors.iter().map(ToString::to_string).collect::<Vec<_>>();
            let what = if global_refused && config.global != Global::default() {
                config.global = Global::default();
                "global"
            } else {
                config.vips.clear();
                lines.clear();
                "every VIP"
            };
            report.left_out(
                1,
                what,
                format!("lb would refuse it: {}", reason.join("; ")),
            );
            continue;
        }
        refused.sort_by_key(|(index, _)| std::cmp::Reverse(*index));
        for (index, reason) in refused {
            let vip = config.vips.remove(index);
            let line = lines.remove(index);
            report.left_out(
                line,
                format!("VIP {}", vip.name),
                format!("lb would refuse it: {reason}"),
            );
            for proxy in expected.iter_mut() {
                proxy.vips.retain(|name| *name != vip.name);
            }
        }
    }
}
