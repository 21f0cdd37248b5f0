//! How the VIP carries traffic: timeouts, retries, keep-alive, per-VIP server settings
//! (`on-marked-down shutdown-sessions`, PROXY protocol, TLS to servers), TLS termination and
//! the http settings.
//!
//! Timeouts: `connect`, `client`, `server`, `queue` (HAProxy's default: the connect
//! timeout), `http-request` (default: the client timeout), `tunnel` (default on http VIPs:
//! the shorter of client and server, which HAProxy applies to tunnels then). On tcp VIPs
//! `timeout tunnel` governs established connections, so it becomes the client and server
//! timeouts too. A missing connect, client or server timeout
//! (HAProxy waits forever, and warns) keeps lb's default; a timeout of 0 (HAProxy's "never")
//! becomes 1 day; both are noted. The other per-VIP settings come from the first server and
//! a server that differs is noted. TCP keep-alive (`option tcpka`) uses lb's timing unless
//! `clitcpka-*`/`srvtcpka-*` say otherwise.

use std::time::Duration;

use super::build::{Member, Pair};
use super::global::Globals;
use super::proxy::{At, Proxy, Tcpka};
use super::report::Report;
use super::server::ServerOptions;
use crate::model::{
    CertificatePaths, HttpOptions, KeepAlive, Mode, ServerTls, Timeouts, TlsSettings, Vip,
};

/// What stands for HAProxy's "no timeout".
const NEVER: Duration = Duration::from_secs(24 * 3600);

/// The VIP's timeouts.
pub(super) fn timeouts(pair: Pair<'_>, report: &mut Report) -> Timeouts {
    let Pair { front, back } = pair;
    let mut timeouts = Timeouts::default();
    let mut pick =
        |proxy: &Proxy, name: &str, value: Option<At<Duration>>, default: Duration| match value {
            None => {
                report.approximated(
                    proxy.header.number,
                    proxy.header.text.clone(),
                    format!(
                        "no `timeout {name}`: HAProxy never times out there; lb's default {} \
                         applies",
                        crate::model::format_duration(default)
                    ),
                );
                default
            }
            Some(At { line, value }) if value.is_zero() => {
                report.approximated(
                    line,
                    format!("timeout {name} 0"),
                    "lb has no unlimited timeout: 1d",
                );
                NEVER
            }
            Some(At { value, .. }) => value,
        };
    timeouts.connect = pick(back, "connect", back.timeouts.connect, timeouts.connect);
    timeouts.client = pick(front, "client", front.timeouts.client, timeouts.client);
    timeouts.server = pick(back, "server", back.timeouts.server, timeouts.server);
    let mut set = |name: &str, value: Option<At<Duration>>| {
        value.map(|At { line, value }| {
            if value.is_zero() {
                report.approximated(
                    line,
                    format!("timeout {name} 0"),
                    "lb has no unlimited timeout: 1d",
                );
                NEVER
            } else {
                value
            }
        })
    };
    timeouts.queue = set("queue", back.timeouts.queue).unwrap_or(timeouts.connect);
    timeouts.http_request =
        set("http-request", front.timeouts.http_request).unwrap_or(timeouts.client);
    let keep_alive = set("http-keep-alive", front.timeouts.http_keep_alive);
    match set("tunnel", back.timeouts.tunnel) {
        Some(tunnel) if front.mode == Mode::Tcp => {
            timeouts.tunnel = tunnel;
            timeouts.client = tunnel;
            timeouts.server = tunnel;
        }
        Some(tunnel) => timeouts.tunnel = tunnel,
        None if front.mode == Mode::Http => {
            timeouts.tunnel = timeouts.client.min(timeouts.server);
        }
        None => {}
    }
    if let (Some(at), Some(keep_alive)) = (front.timeouts.http_keep_alive, keep_alive) {
        if front.mode == Mode::Http && keep_alive != timeouts.http_request {
            report.approximated(
                at.line,
                "timeout http-keep-alive",
                "lb closes an idle keep-alive client after http_request_timeout",
            );
        }
    }
    timeouts
}

/// `retries` (HAProxy's default 3); without `option redispatch` HAProxy retries the same
/// server, lb another one: noted.
pub(super) fn retries(back: &Proxy, report: &mut Report) -> u32 {
    let retries = back.retries.map_or(3, |at| at.value);
    if retries > 0 && !back.redispatch {
        let (line, text) = match back.retries {
            Some(at) => (at.line, format!("retries {}", at.value)),
            None => (back.header.number, back.header.text.clone()),
        };
        report.approximated(
            line,
            text,
            "without `option redispatch` HAProxy retries a failed connect on the same server; \
             lb retries on another usable server",
        );
    }
    retries
}

/// TCP keep-alive on one side.
pub(super) fn keepalive(tcpka: &Tcpka, report: &mut Report) -> Option<KeepAlive> {
    let line = tcpka.on?;
    let default = KeepAlive::default();
    if tcpka.idle.is_none() || tcpka.interval.is_none() || tcpka.count.is_none() {
        report.approximated(
            line,
            "tcpka",
            "lb probes after 60s idle, every 10s, 6 times where `*tcpka-idle`, `-intvl`, `-cnt` \
             say nothing (HAProxy leaves the kernel's, usually 2h, 75s, 9)",
        );
    }
    Some(KeepAlive {
        idle: tcpka.idle.unwrap_or(default.idle),
        interval: tcpka.interval.unwrap_or(default.interval),
        count: tcpka.count.unwrap_or(default.count),
    })
}

/// The per-VIP settings HAProxy sets per server: closing sessions of a server marked down,
/// the PROXY protocol, TLS to the servers.
pub(super) fn server_side(
    vip: &mut Vip,
    members: &[Member<'_>],
    globals: &Globals,
    report: &mut Report,
) {
    let Some(first) = members.first() else {
        return;
    };
    let options = &first.spec.options;
    let tls = |options: &ServerOptions| {
        (
            options.ssl,
            options.verify,
            options.ca_file.clone(),
            options.sni.clone(),
            options.crt.clone(),
            options.alpn.clone(),
        )
    };
    for member in &members[1..] {
        let other = &member.spec.options;
        let mut differs = Vec::new();
        if other.shutdown_sessions != options.shutdown_sessions {
            differs.push("on-marked-down");
        }
        if other.send_proxy != options.send_proxy {
            differs.push("send-proxy");
        }
        if tls(other) != tls(options) {
            differs.push("ssl");
        }
        if !differs.is_empty() {
            report.approximated(
                member.spec.line,
                format!("server {}", member.spec.name),
                format!(
                    "lb sets {} per VIP: as server `{}`",
                    differs.join(", "),
                    first.name
                ),
            );
        }
    }
    vip.shutdown_sessions_on_down = options.shutdown_sessions;
    match (options.send_proxy, vip.mode) {
        (Some(version), Mode::Tcp) => vip.send_proxy = Some(version),
        (Some(_), Mode::Http) => report.left_out(
            first.spec.line,
            "send-proxy",
            "lb sends the PROXY protocol on tcp VIPs only (http VIPs add X-Forwarded-For)",
        ),
        (None, _) => {}
    }
    if options.check_ssl && !options.ssl {
        report.left_out(
            first.spec.line,
            "check-ssl",
            "lb's checks use TLS when the traffic to the servers does (`ssl`), not alone",
        );
    }
    if options.ssl {
        vip.server_tls = Some(server_tls(
            options,
            first.spec.line,
            globals,
            vip.mode,
            report,
        ));
    }
}

/// TLS to the servers, as `options` (of the server at `line`) ask.
fn server_tls(
    options: &ServerOptions,
    line: usize,
    globals: &Globals,
    mode: Mode,
    report: &mut Report,
) -> ServerTls {
    let ca = options
        .ca_file
        .as_deref()
        .map(|file| Globals::resolve(globals.ca_base.as_deref(), file).into());
    let mut verify = options.verify.unwrap_or(globals.verify_servers);
    if verify && ca.is_none() {
        report.approximated(
            line,
            "ssl",
            "certificates are to be verified but no `ca-file` says against what (HAProxy \
             refuses to start): imported with verify = false; add `ca` to server_tls",
        );
        verify = false;
    }
    let server_name = options.sni.clone().filter(|name| {
        let valid = name.parse::<std::net::IpAddr>().is_ok() || is_dns_name(name);
        if !valid {
            report.left_out(
                line,
                format!("sni str({name})"),
                "not a DNS name or an IP address",
            );
        }
        valid
    });
    let client_certificate = options.crt.as_deref().map(|file| {
        let path = Globals::resolve(globals.crt_base.as_deref(), file);
        CertificatePaths {
            cert: path.clone().into(),
            key: path.into(),
        }
    });
    let mut alpn = options
        .alpn
        .clone()
        .unwrap_or_else(|| ServerTls::default_alpn(mode));
    if mode == Mode::Http && alpn.iter().any(|protocol| protocol != "http/1.1") {
        report.approximated(
            line,
            "alpn",
            "lb speaks HTTP/1.1 to the servers of http VIPs: alpn http/1.1",
        );
        alpn = ServerTls::default_alpn(mode);
    }
    alpn.retain(|protocol| (1..=255).contains(&protocol.len()));
    ServerTls {
        ca,
        server_name,
        verify,
        client_certificate,
        alpn,
    }
}

/// Labels of letters, digits, `-` and `_`, 1 to 63 bytes each, 253 in all at most.
fn is_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        })
}

/// TLS termination from the frontend's `ssl` binds: every certificate, in order (the first
/// is the default), and the first `alpn` (none without one, as HAProxy 2.6 offers).
pub(super) fn tls(front: &Proxy, report: &mut Report) -> TlsSettings {
    let mut certificates: Vec<CertificatePaths> = Vec::new();
    let mut alpn: Option<&Vec<String>> = None;
    for bind in front
        .binds
        .iter()
        .filter(|bind| bind.certificates.is_some())
    {
        for file in bind.certificates.iter().flatten() {
            let paths = CertificatePaths {
                cert: file.into(),
                key: file.into(),
            };
            if !certificates.contains(&paths) {
                certificates.push(paths);
            }
        }
        match (&alpn, &bind.alpn) {
            (None, Some(protocols)) => alpn = Some(protocols),
            (Some(first), Some(protocols)) if *first != protocols => report.approximated(
                bind.line,
                "alpn",
                "lb offers one ALPN list per VIP: the first bind's",
            ),
            _ => {}
        }
    }
    let mut alpn = alpn.cloned().unwrap_or_default();
    alpn.retain(|protocol| (1..=255).contains(&protocol.len()));
    TlsSettings { certificates, alpn }
}

/// The http settings but the rules: the header limits of `global`.
pub(super) fn http(globals: &Globals) -> HttpOptions {
    let mut http = HttpOptions::default();
    if let Some(fields) = globals.max_header_fields {
        http.head_limits.max_fields = fields;
    }
    http
}

/// Adds the rules of `pair` that hold on a VIP that terminates TLS (`tls`) or not: request
/// rules and redirects of the frontend first, response rules of the backend first.
pub(super) fn rules(vip: &mut Vip, pair: Pair<'_>, tls: bool) {
    let sides = pair.sides();
    let http = &mut vip.http;
    for side in &sides {
        for rule in side.request_rules.iter().filter(|r| r.value.0.holds(tls)) {
            http.request_headers.push(rule.value.1.clone());
        }
        for redirect in side.redirects.iter().filter(|r| r.value.0.holds(tls)) {
            http.redirects.push(redirect.value.1.clone());
        }
    }
    for side in sides.iter().rev() {
        for rule in side.response_rules.iter().filter(|r| r.value.0.holds(tls)) {
            http.response_headers.push(rule.value.1.clone());
        }
    }
}

/// Notes, on an http VIP without `option forwardfor`, that lb adds the forwarding headers;
/// on a tcp VIP, the proxy's own http directives that have no effect.
pub(super) fn note_forwarding(pair: Pair<'_>, mode: Mode, report: &mut Report) {
    let sides = pair.sides();
    if mode == Mode::Http {
        if sides.iter().all(|side| side.forwardfor.is_none()) {
            report.approximated(
                pair.front.header.number,
                pair.front.header.text.clone(),
                "no `option forwardfor`: lb adds X-Forwarded-For, X-Forwarded-Proto, \
                 X-Forwarded-Port and Forwarded to every request all the same",
            );
        }
        return;
    }
    for side in sides {
        let lines = (side.request_rules.iter().map(|r| (r.line, "http-request")))
            .chain(
                side.response_rules
                    .iter()
                    .map(|r| (r.line, "http-response")),
            )
            .chain(side.redirects.iter().map(|r| (r.line, "redirect")))
            .chain(side.forwardfor.map(|line| (line, "option forwardfor")));
        for (line, construct) in lines.filter(|(line, _)| side.owns(*line)) {
            report.left_out(
                line,
                construct,
                "no effect on a tcp VIP (HAProxy ignores it in tcp mode too)",
            );
        }
    }
}
