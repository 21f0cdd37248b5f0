//! One HAProxy proxy (`listen`, `frontend` or `backend`) as HAProxy sees it: its `defaults`
//! section's directives, then its own, read in order (a later directive overrides an earlier
//! one, `no option X` undoes `option X`).
//!
//! This is still HAProxy's vocabulary (binds, timeouts by HAProxy's names, server lines, rules
//! with their conditions); `build` turns it into lb's model. Directives that lb has no
//! equivalent for are noted here, at their line; those whose fate depends on the whole proxy
//! (its mode, its servers) are kept for `build` to decide.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::checks::{self, CheckSpec, Probe};
use super::global::Globals;
use super::http::{self, Conditional, Rule};
use super::lexer::Line;
use super::options;
use super::persist::{self, CookieSpec, StickRule, StickTable};
use super::report::Report;
use super::sections::{Kind, Section};
use super::server::{self, ServerOptions, ServerSpec};
use super::values::{Unit, bind_addresses, number, time};
use crate::model::{HeaderRule, Mode, Redirect, Source};

/// A value and the line that set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct At<T> {
    /// The line, from 1.
    pub(super) line: usize,
    /// The value.
    pub(super) value: T,
}

impl<T> At<T> {
    /// `value`, set at `line`.
    pub(super) fn new(line: usize, value: T) -> Self {
        At { line, value }
    }
}

/// A `bind` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Bind {
    /// Its line.
    pub(super) line: usize,
    /// Its addresses.
    pub(super) addresses: Vec<SocketAddr>,
    /// `ssl crt ...`: the certificate files (certificate and key in one PEM each); `None` for
    /// cleartext.
    pub(super) certificates: Option<Vec<String>>,
    /// `alpn`.
    pub(super) alpn: Option<Vec<String>>,
    /// `accept-proxy`.
    pub(super) accept_proxy: bool,
}

/// `balance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Balance {
    /// `roundrobin` or `static-rr`.
    RoundRobin,
    /// `leastconn`.
    LeastConn,
    /// `source`.
    Source,
    /// `first`.
    First,
    /// `random(N)`: N draws (HAProxy's default 2).
    Random(u32),
    /// An algorithm lb does not have.
    Other(String),
}

/// The `timeout` directives, by HAProxy's names (zero is HAProxy's "no timeout").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Timeouts {
    /// `timeout connect`.
    pub(super) connect: Option<At<Duration>>,
    /// `timeout client`.
    pub(super) client: Option<At<Duration>>,
    /// `timeout server`.
    pub(super) server: Option<At<Duration>>,
    /// `timeout queue`.
    pub(super) queue: Option<At<Duration>>,
    /// `timeout http-request`.
    pub(super) http_request: Option<At<Duration>>,
    /// `timeout http-keep-alive`.
    pub(super) http_keep_alive: Option<At<Duration>>,
    /// `timeout tunnel`.
    pub(super) tunnel: Option<At<Duration>>,
    /// `timeout check`.
    pub(super) check: Option<At<Duration>>,
}

/// TCP keep-alive on one side: `option clitcpka` / `srvtcpka` (or `tcpka`) and the
/// `*-idle`, `*-intvl`, `*-cnt` settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Tcpka {
    /// The line that turned it on.
    pub(super) on: Option<usize>,
    /// `clitcpka-idle` / `srvtcpka-idle`.
    pub(super) idle: Option<Duration>,
    /// `clitcpka-intvl` / `srvtcpka-intvl`.
    pub(super) interval: Option<Duration>,
    /// `clitcpka-cnt` / `srvtcpka-cnt`.
    pub(super) count: Option<u32>,
}

/// One proxy as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Proxy {
    /// Its name.
    pub(super) name: String,
    /// `listen`, `frontend` or `backend`.
    pub(super) kind: Kind,
    /// Its header line.
    pub(super) header: Line,
    /// The lines of the `defaults` section it inherits.
    pub(super) inherited: Option<RangeInclusive<usize>>,
    /// `mode`.
    pub(super) mode: Mode,
    /// `bind` lines.
    pub(super) binds: Vec<Bind>,
    /// `balance`.
    pub(super) balance: Option<At<Balance>>,
    /// `hash-type consistent`.
    pub(super) consistent_hash: bool,
    /// `maxconn`.
    pub(super) max_connections: Option<u32>,
    /// `retries`.
    pub(super) retries: Option<At<u32>>,
    /// `option redispatch`.
    pub(super) redispatch: bool,
    /// `timeout ...`.
    pub(super) timeouts: Timeouts,
    /// Check directives.
    pub(super) check: CheckSpec,
    /// `default-server` options in force.
    pub(super) server_defaults: ServerOptions,
    /// `server` lines.
    pub(super) servers: Vec<ServerSpec>,
    /// `cookie`.
    pub(super) cookie: Option<At<CookieSpec>>,
    /// `stick-table`.
    pub(super) stick_table: Option<At<StickTable>>,
    /// `stick` rules lb may follow.
    pub(super) stick: Vec<At<StickRule>>,
    /// `option forwardfor`: its line.
    pub(super) forwardfor: Option<usize>,
    /// `http-request` header rules.
    pub(super) request_rules: Vec<Conditional<HeaderRule>>,
    /// `http-response` header rules.
    pub(super) response_rules: Vec<Conditional<HeaderRule>>,
    /// Redirects.
    pub(super) redirects: Vec<Conditional<Redirect>>,
    /// Client-side TCP keep-alive.
    pub(super) client_tcpka: Tcpka,
    /// Server-side TCP keep-alive.
    pub(super) server_tcpka: Tcpka,
    /// `source`.
    pub(super) source: Option<At<Source>>,
    /// `use_backend NAME` without a condition (the first one).
    pub(super) use_backend: Option<At<String>>,
    /// `default_backend`.
    pub(super) default_backend: Option<At<String>>,
    /// `stats` lines.
    pub(super) stats: Vec<Line>,
    /// `disabled`: its line.
    pub(super) disabled: Option<usize>,
    /// `option allbackups`.
    pub(super) all_backups: bool,
}

impl Proxy {
    fn new(section: &Section) -> Self {
        Proxy {
            name: section.name.clone(),
            kind: section.kind,
            header: section.header.clone(),
            inherited: None,
            mode: Mode::Tcp,
            binds: Vec::new(),
            balance: None,
            consistent_hash: false,
            max_connections: None,
            retries: None,
            redispatch: false,
            timeouts: Timeouts::default(),
            check: CheckSpec::default(),
            server_defaults: ServerOptions::default(),
            servers: Vec::new(),
            cookie: None,
            stick_table: None,
            stick: Vec::new(),
            forwardfor: None,
            request_rules: Vec::new(),
            response_rules: Vec::new(),
            redirects: Vec::new(),
            client_tcpka: Tcpka::default(),
            server_tcpka: Tcpka::default(),
            source: None,
            use_backend: None,
            default_backend: None,
            stats: Vec::new(),
            disabled: None,
            all_backups: false,
        }
    }

    /// Whether `line` is the proxy's own, not its `defaults` section's.
    pub(super) fn owns(&self, line: usize) -> bool {
        !self
            .inherited
            .as_ref()
            .is_some_and(|lines| lines.contains(&line))
    }
}

/// Reads `section`, after the directives of `defaults`.
pub(super) fn read(
    section: &Section,
    defaults: Option<&Section>,
    globals: &Globals,
    report: &mut Report,
) -> Proxy {
    let mut proxy = Proxy::new(section);
    if let Some(defaults) = defaults {
        let last = defaults
            .body
            .last()
            .map_or(defaults.header.number, |line| line.number);
        proxy.inherited = Some(defaults.header.number..=last);
        for line in &defaults.body {
            directive(&mut proxy, line, Kind::Defaults, globals, report);
        }
    }
    for line in &section.body {
        directive(&mut proxy, line, section.kind, globals, report);
    }
    proxy
}

/// Reads one directive of a section of kind `kind` into `proxy`.
fn directive(proxy: &mut Proxy, line: &Line, kind: Kind, globals: &Globals, report: &mut Report) {
    let argument = line.word(1);
    let mut invalid = |reason: String| report.left_out(line.number, line.text.clone(), reason);
    match line.word(0) {
        "mode" => match argument {
            "tcp" => proxy.mode = Mode::Tcp,
            "http" => proxy.mode = Mode::Http,
            _ => invalid(format!("lb serves tcp and http, not `{argument}`")),
        },
        "bind" if matches!(kind, Kind::Frontend | Kind::Listen) => {
            if let Some(bind) = bind(line, globals, report) {
                proxy.binds.push(bind);
            }
        }
        "server" if matches!(kind, Kind::Backend | Kind::Listen) => {
            let spec = server::server(line, &proxy.server_defaults, report);
            proxy.servers.push(spec);
        }
        "bind" | "server" => invalid("not allowed in this section (HAProxy refuses it)".to_owned()),
        "default-server" => {
            let words = &line.words[1..];
            server::read_options(words, line, &mut proxy.server_defaults, report);
        }
        "balance" => proxy.balance = Some(At::new(line.number, balance(argument))),
        "hash-type" => proxy.consistent_hash = argument == "consistent",
        "maxconn" => match number(argument) {
            Ok(count) if count > 0 => proxy.max_connections = Some(count),
            _ => invalid(format!("`{argument}` is not a connection count")),
        },
        "retries" => match number(argument) {
            Ok(count) => proxy.retries = Some(At::new(line.number, count)),
            Err(reason) => invalid(reason),
        },
        "timeout" => timeout(proxy, line, report),
        "option" => options::option(proxy, line, false, report),
        "no" if argument == "option" => options::option(proxy, line, true, report),
        "http-check" => checks::http_check(&mut proxy.check, line, report),
        "tcp-check" => {
            let inherited = kind == Kind::Defaults;
            checks::tcp_check(&mut proxy.check, line, inherited, report);
        }
        "cookie" => {
            proxy.cookie = persist::cookie(line, report).map(|spec| At::new(line.number, spec));
        }
        "stick-table" => {
            proxy.stick_table = Some(At::new(line.number, persist::stick_table(line, report)));
        }
        "stick" => {
            if let Some(rule) = persist::stick(line, report) {
                proxy.stick.push(At::new(line.number, rule));
            }
        }
        "http-request" | "http-response" => match http::rule(line, report) {
            Some(Rule::Request(rule)) => proxy.request_rules.push(rule),
            Some(Rule::Response(rule)) => proxy.response_rules.push(rule),
            Some(Rule::Redirect(redirect)) => proxy.redirects.push(redirect),
            None => {}
        },
        "redirect" => proxy.redirects.extend(http::redirect(line, 1, report)),
        "source" => source(proxy, line, report),
        "use_backend" if line.words.len() == 2 => {
            proxy
                .use_backend
                .get_or_insert(At::new(line.number, argument.to_owned()));
        }
        "use_backend" => invalid(
            "lb has no ACLs: a VIP has one set of servers (its default_backend, or a \
             use_backend without condition)"
                .to_owned(),
        ),
        "default_backend" => {
            proxy.default_backend = Some(At::new(line.number, argument.to_owned()));
        }
        "stats" => proxy.stats.push(line.clone()),
        "disabled" => proxy.disabled = Some(line.number),
        "enabled" => proxy.disabled = None,
        keyword if keyword.starts_with("clitcpka-") || keyword.starts_with("srvtcpka-") => {
            tcpka_setting(proxy, line, report);
        }
        keyword => invalid(options::reason(keyword).to_owned()),
    }
}

fn balance(argument: &str) -> Balance {
    match argument {
        "roundrobin" | "static-rr" => Balance::RoundRobin,
        "leastconn" => Balance::LeastConn,
        "source" => Balance::Source,
        "first" => Balance::First,
        "random" => Balance::Random(2),
        other => other
            .strip_prefix("random(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|draws| draws.parse().ok())
            .filter(|draws| *draws > 0)
            .map_or_else(|| Balance::Other(other.to_owned()), Balance::Random),
    }
}

fn timeout(proxy: &mut Proxy, line: &Line, report: &mut Report) {
    let timeouts = &mut proxy.timeouts;
    let slot = match line.word(1) {
        "connect" => &mut timeouts.connect,
        "client" => &mut timeouts.client,
        "server" => &mut timeouts.server,
        "queue" => &mut timeouts.queue,
        "http-request" => &mut timeouts.http_request,
        "http-keep-alive" => &mut timeouts.http_keep_alive,
        "tunnel" => &mut timeouts.tunnel,
        "check" => &mut timeouts.check,
        _ => {
            report.left_out(
                line.number,
                line.text.clone(),
                "lb has no such timeout (it has connect, client, server, queue, http-request, \
                 tunnel and the check's)",
            );
            return;
        }
    };
    match time(line.word(2), Unit::Milliseconds) {
        Ok(value) => *slot = Some(At::new(line.number, value)),
        Err(reason) => report.left_out(line.number, line.text.clone(), reason),
    }
}

fn tcpka_setting(proxy: &mut Proxy, line: &Line, report: &mut Report) {
    let keyword = line.word(0);
    let tcpka = if keyword.starts_with("cli") {
        &mut proxy.client_tcpka
    } else {
        &mut proxy.server_tcpka
    };
    let value = line.word(1);
    let outcome = match &keyword[9..] {
        "idle" | "intvl" => time(value, Unit::Seconds).and_then(|period| {
            if period.is_zero() {
                return Err("a zero period".to_owned());
            }
            *if keyword.ends_with("idle") {
                &mut tcpka.idle
            } else {
                &mut tcpka.interval
            } = Some(period);
            Ok(())
        }),
        "cnt" => match number(value) {
            Ok(count) if count > 0 => {
                tcpka.count = Some(count);
                Ok(())
            }
            _ => Err(format!("`{value}` is not a count of 1 or more")),
        },
        _ => Err("lb has no such keep-alive setting".to_owned()),
    };
    if let Err(reason) = outcome {
        report.left_out(line.number, line.text.clone(), reason);
    }
}

/// `source ADDRESS[:PORT] [usesrc clientip | client]`.
fn source(proxy: &mut Proxy, line: &Line, report: &mut Report) {
    let address = line.word(1);
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) if host.parse::<std::net::IpAddr>().is_ok() || host == "*" => {
            (host, Some(port))
        }
        _ => (address, None),
    };
    let host = if host == "*" { "0.0.0.0" } else { host };
    let mut note = |kind_left_out: bool, reason: &str| {
        if kind_left_out {
            report.left_out(line.number, line.text.clone(), reason);
        } else {
            report.approximated(line.number, line.text.clone(), reason);
        }
    };
    let Ok(ip) = host.parse::<std::net::IpAddr>() else {
        note(true, "not an IP address");
        return;
    };
    let chosen = match &line.words[2.min(line.words.len())..] {
        [] if ip.is_unspecified() => None,
        [] => Some(Source::Address(ip)),
        [usesrc, how] if usesrc == "usesrc" && how == "clientip" => Some(Source::Client),
        [usesrc, how] if usesrc == "usesrc" && how == "client" => {
            note(
                false,
                "lb connects from the client's address; the kernel picks the port (HAProxy \
                 reuses the client's port too)",
            );
            Some(Source::Client)
        }
        _ => {
            note(
                true,
                "lb connects from a fixed address or from the client's (`usesrc clientip`), \
                 nothing else",
            );
            return;
        }
    };
    if port.is_some_and(|port| port != "0" && !port.is_empty()) {
        note(false, "the kernel picks the source port");
    }
    proxy.source = chosen.map(|source| At::new(line.number, source));
}

/// Reads a `bind` line; `None` (noted) when none of its addresses can be read.
fn bind(line: &Line, globals: &Globals, report: &mut Report) -> Option<Bind> {
    let addresses = match bind_addresses(line.word(1)) {
        Ok(addresses) => addresses,
        Err(reason) => {
            report.left_out(line.number, line.text.clone(), reason);
            return None;
        }
    };
    let mut bind = Bind {
        line: line.number,
        addresses,
        certificates: None,
        alpn: None,
        accept_proxy: false,
    };
    let mut ssl = false;
    let mut certificates = Vec::new();
    let words = &line.words[2.min(line.words.len())..];
    let mut index = 0;
    while index < words.len() {
        let keyword = words[index].as_str();
        let argument = words.get(index + 1).map_or("", String::as_str);
        index += 1;
        match keyword {
            "ssl" => ssl = true,
            "transparent" => {}
            "accept-proxy" => bind.accept_proxy = true,
            "crt" => {
                let base = globals.crt_base.as_deref();
                certificates.push(Globals::resolve(base, argument));
                index += 1;
            }
            "alpn" => {
                bind.alpn = Some(argument.split(',').map(str::to_owned).collect());
                index += 1;
            }
            _ => options::BIND_OPTIONS.note(keyword, words, &mut index, line, report),
        }
    }
    match (ssl, certificates.is_empty()) {
        (true, false) => bind.certificates = Some(certificates),
        (true, true) => {
            report.left_out(
                line.number,
                line.text.clone(),
                "`ssl` without `crt` (HAProxy refuses it too)",
            );
            return None;
        }
        (false, false) => report.left_out(
            line.number,
            "crt",
            "a certificate without `ssl` is never used: the bind is cleartext",
        ),
        (false, true) => {}
    }
    Some(bind)
}

/// Turns `probe` on (or off for `no option`).
pub(super) fn set_probe(proxy: &mut Proxy, line: &Line, probe: Option<Probe>) {
    proxy.check.probe = probe.map(|probe| At::new(line.number, probe));
}
