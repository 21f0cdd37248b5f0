//! A frontend with its backend (or a `listen` section, both in one) made into lb VIPs.
//!
//! The VIP takes the frontend's name and its `bind` addresses, the backend's servers in
//! order (server ids `#0`, `#1`, ... as written). lb terminates TLS per VIP, not per
//! address: a proxy with cleartext and `ssl` binds becomes two VIPs, `NAME` (cleartext) and
//! `NAME-tls`, with the same servers and settings, and each rule conditioned on `ssl_fc`
//! lands on the VIP where it holds. A server without a port takes the VIP's port (HAProxy
//! uses the port the client connected to); names keep lb's characters (letters, digits,
//! `-`, `_`, `.`; others become `_`). An address already listened on by an earlier VIP, a
//! server whose address cannot be read, a proxy without addresses or servers, a disabled
//! one, or a frontend and backend of different modes are noted and left out.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use super::global::Globals;
use super::health;
use super::proxy::Proxy;
use super::report::Report;
use super::scheduling;
use super::server::ServerSpec;
use super::traffic;
use super::values::{ServerAddress, lb_name};
use super::verify::{Expected, ExpectedServer};
use crate::model::{Mode, Network, Server, ServerId, TlsSettings, Vip};

/// A frontend and the backend it hands clients to (the same proxy for `listen`).
#[derive(Clone, Copy)]
pub(super) struct Pair<'a> {
    /// Where clients arrive.
    pub(super) front: &'a Proxy,
    /// Where the servers are.
    pub(super) back: &'a Proxy,
}

impl<'a> Pair<'a> {
    /// The frontend, then the backend if it is another proxy.
    pub(super) fn sides(&self) -> Vec<&'a Proxy> {
        if std::ptr::eq(self.front, self.back) {
            vec![self.front]
        } else {
            vec![self.front, self.back]
        }
    }
}

/// A server the VIP can have: its line, and its lb name and address.
pub(super) struct Member<'a> {
    /// The `server` line as read.
    pub(super) spec: &'a ServerSpec,
    /// Its name in lb.
    pub(super) name: String,
    /// Its address, with a port.
    pub(super) address: SocketAddr,
}

/// What the whole import keeps across VIPs.
pub(super) struct Context<'a> {
    /// The `global` section.
    pub(super) globals: &'a Globals,
    /// The report.
    pub(super) report: &'a mut Report,
    /// VIP names given so far.
    pub(super) names: HashSet<String>,
    /// Listen addresses taken so far, with their VIP.
    pub(super) listeners: HashMap<SocketAddr, String>,
}

/// The VIPs made of `pair` (none, one, or two when cleartext and TLS binds mix), each with
/// the line of the proxy it comes from, and what HAProxy says of the pair.
pub(super) fn vips(pair: Pair<'_>, cx: &mut Context<'_>) -> (Vec<(Vip, usize)>, Expected) {
    let Pair { front, back } = pair;
    let mut expected = expected(pair);
    let header = front.header.number;
    let left_out = |cx: &mut Context<'_>, line: usize, reason: &str| {
        let construct = front.header.text.clone();
        cx.report
            .left_out(line, construct, format!("the whole proxy: {reason}"));
    };
    if let Some(line) = front.disabled.or(back.disabled) {
        left_out(cx, line, "it is disabled");
        return (Vec::new(), expected);
    }
    if front.mode != back.mode {
        left_out(
            cx,
            header,
            "its backend's mode differs (HAProxy refuses it too)",
        );
        return (Vec::new(), expected);
    }
    let members = members(pair, cx.report);
    if members.is_empty() {
        if front.stats.is_empty() && back.stats.is_empty() {
            left_out(cx, back.header.number, "no server lb can use");
        } else {
            left_out(
                cx,
                header,
                "a stats page: lb's status page is its admin listener's `GET /` ([admin])",
            );
        }
        return (Vec::new(), expected);
    }
    for stats in pair.sides().iter().flat_map(|side| &side.stats) {
        cx.report.left_out(
            stats.number,
            stats.text.clone(),
            "lb's status page is its admin listener's `GET /` ([admin])",
        );
    }
    let (cleartext, tls) = listeners(front, cx);
    if cleartext.is_empty() && tls.is_empty() {
        left_out(cx, header, "no address to listen on");
        return (Vec::new(), expected);
    }
    let base = base_vip(pair, &members, cx);
    let mut vips = Vec::new();
    let split = !cleartext.is_empty() && !tls.is_empty();
    if !cleartext.is_empty() {
        vips.push(finish(pair, base.clone(), (cleartext, None), false, cx));
    }
    if !tls.is_empty() {
        let settings = traffic::tls(front, cx.report);
        let vip = finish(pair, base, (tls, Some(settings)), split, cx);
        if split {
            let line = front.binds.iter().find(|b| b.certificates.is_some());
            cx.report.approximated(
                line.map_or(header, |bind| bind.line),
                "ssl",
                format!(
                    "lb terminates TLS per VIP: the ssl binds make VIP `{}`, with the same \
                     servers and settings and a persistence table of its own",
                    vip.name
                ),
            );
        }
        vips.push(vip);
    }
    expected.vips = vips.iter().map(|vip| vip.name.clone()).collect();
    (
        vips.into_iter().map(|vip| (vip, header)).collect(),
        expected,
    )
}

/// The settings every VIP of the pair shares.
fn base_vip(pair: Pair<'_>, members: &[Member<'_>], cx: &mut Context<'_>) -> Vip {
    let Pair { front, back } = pair;
    let mut vip = Vip::new(String::new(), SocketAddr::from(([0, 0, 0, 0], 0)));
    vip.mode = front.mode;
    vip.servers = members
        .iter()
        .zip(0..)
        .map(|(member, id)| server(member, id, members))
        .collect();
    vip.scheduler = scheduling::scheduler(back, members, cx.report);
    vip.persistence = scheduling::persistence(pair, vip.mode, cx.report);
    vip.check = health::check(back, members, cx.report);
    vip.timeouts = traffic::timeouts(pair, cx.report);
    vip.retries = traffic::retries(back, cx.report);
    vip.max_connections = front.max_connections.unwrap_or(vip.max_connections);
    traffic::server_side(&mut vip, members, cx.globals, cx.report);
    vip.client_keepalive = traffic::keepalive(&front.client_tcpka, cx.report);
    vip.server_keepalive = traffic::keepalive(&back.server_tcpka, cx.report);
    vip.source = back.source.map(|source| source.value);
    if front.binds.iter().any(|bind| bind.accept_proxy) {
        if let Some(bind) = front.binds.iter().find(|bind| !bind.accept_proxy) {
            cx.report.approximated(
                bind.line,
                format!("bind {}", join(&bind.addresses)),
                "lb expects PROXY headers per VIP: this bind's clients must send one too",
            );
        }
        vip.accept_proxy_from = ["0.0.0.0/0", "::/0"]
            .iter()
            .filter_map(|network| Network::parse(network).ok())
            .collect();
    }
    if vip.mode == Mode::Http {
        vip.http = traffic::http(cx.globals);
    }
    traffic::note_forwarding(pair, vip.mode, cx.report);
    vip
}

/// The VIP with its name, listen addresses, TLS and the rules that hold there; `split` for
/// the TLS half of a proxy with cleartext binds too (named `NAME-tls`).
fn finish(
    pair: Pair<'_>,
    mut vip: Vip,
    (listen, tls): (Vec<SocketAddr>, Option<TlsSettings>),
    split: bool,
    cx: &mut Context<'_>,
) -> Vip {
    let front = pair.front;
    let (wanted, natural) = if split {
        (
            format!("{}-tls", lb_name(&front.name)),
            format!("{}-tls", front.name),
        )
    } else {
        (lb_name(&front.name), front.name.clone())
    };
    let mut name = wanted.clone();
    let mut suffix = 2;
    while cx.names.contains(&name) {
        name = format!("{wanted}-{suffix}");
        suffix += 1;
    }
    if name != natural {
        cx.report.approximated(
            front.header.number,
            front.header.text.clone(),
            format!("named `{name}` in lb (names hold letters, digits, `-`, `_`, `.`, once each)"),
        );
    }
    cx.names.insert(name.clone());
    for address in &listen {
        cx.listeners.insert(*address, name.clone());
    }
    vip.name = name;
    vip.listen = listen;
    if vip.mode == Mode::Http {
        traffic::rules(&mut vip, pair, tls.is_some());
    }
    vip.tls = tls;
    vip
}

/// The bind addresses, cleartext and TLS, that no earlier VIP listens on.
fn listeners(front: &Proxy, cx: &mut Context<'_>) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
    let (mut cleartext, mut tls) = (Vec::new(), Vec::new());
    for bind in &front.binds {
        for address in &bind.addresses {
            if let Some(owner) = cx.listeners.get(address) {
                cx.report.left_out(
                    bind.line,
                    address.to_string(),
                    format!("already a listen address of VIP `{owner}`"),
                );
                continue;
            }
            if cleartext.contains(address) || tls.contains(address) {
                continue;
            }
            if bind.certificates.is_some() {
                tls.push(*address);
            } else {
                cleartext.push(*address);
            }
        }
    }
    (cleartext, tls)
}

/// The backend's servers that lb can have, in order.
fn members<'a>(pair: Pair<'a>, report: &mut Report) -> Vec<Member<'a>> {
    let ports: HashSet<u16> = pair
        .front
        .binds
        .iter()
        .flat_map(|bind| bind.addresses.iter().map(SocketAddr::port))
        .collect();
    let mut members: Vec<Member<'a>> = Vec::new();
    for spec in &pair.back.servers {
        let construct = format!("server {}", spec.name);
        let address = match (&spec.address, ports.iter().next()) {
            (Ok(ServerAddress::Socket(address)), _) => *address,
            (Ok(ServerAddress::Ip(ip)), Some(port)) if ports.len() == 1 => {
                SocketAddr::new(*ip, *port)
            }
            (Ok(ServerAddress::Ip(_)), _) => {
                report.left_out(
                    spec.line,
                    construct,
                    "no port, and the VIP does not listen on exactly one port to take it from",
                );
                continue;
            }
            (Err(reason), _) => {
                report.left_out(spec.line, construct, reason.clone());
                continue;
            }
        };
        let name = lb_name(&spec.name);
        if members.iter().any(|member| member.name == name) {
            report.left_out(
                spec.line,
                construct,
                "a server of this name comes before it",
            );
            continue;
        }
        if name != spec.name {
            report.approximated(spec.line, construct, format!("named `{name}` in lb"));
        }
        members.push(Member {
            spec,
            name,
            address,
        });
    }
    members
}

/// The lb server of `member` (number `id`); weights keep their shares: equal weights become
/// lb's default, unequal ones are HAProxy's own (both range 0-256).
fn server(member: &Member<'_>, id: u32, members: &[Member<'_>]) -> Server {
    let weight = |member: &Member<'_>| member.spec.options.weight.unwrap_or(1);
    let uniform = members
        .iter()
        .all(|other| weight(other) == weight(member) && weight(other) != 0);
    let mut server = Server::new(ServerId(id), member.name.clone(), member.address);
    if !uniform {
        server.weight = weight(member);
    }
    server.backup = member.spec.options.backup;
    if member.spec.options.disabled {
        server.admin = crate::model::AdminState::Maintenance;
    }
    server
}

/// What haproxy.cfg says of the pair, for [`super::verify`].
fn expected(pair: Pair<'_>) -> Expected {
    let ports: Vec<u16> = pair
        .front
        .binds
        .iter()
        .flat_map(|bind| bind.addresses.iter().map(SocketAddr::port))
        .collect();
    let mut listen: Vec<SocketAddr> = Vec::new();
    for address in pair.front.binds.iter().flat_map(|bind| &bind.addresses) {
        if !listen.contains(address) {
            listen.push(*address);
        }
    }
    let servers = pair
        .back
        .servers
        .iter()
        .map(|spec| ExpectedServer {
            name: spec.name.clone(),
            address: match spec.address {
                Ok(ServerAddress::Socket(address)) => Some(address),
                Ok(ServerAddress::Ip(ip)) if ports.iter().all(|port| *port == ports[0]) => {
                    ports.first().map(|port| SocketAddr::new(ip, *port))
                }
                _ => None,
            },
            weight: spec.options.weight.unwrap_or(1),
            backup: spec.options.backup,
            disabled: spec.options.disabled,
        })
        .collect();
    Expected {
        proxy: pair.front.name.clone(),
        line: pair.front.header.number,
        vips: Vec::new(),
        listen,
        servers,
        persistence: scheduling::expected_persistence(pair),
    }
}

/// Addresses as `a, b`.
pub(super) fn join(addresses: &[SocketAddr]) -> String {
    addresses
        .iter()
        .map(SocketAddr::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
