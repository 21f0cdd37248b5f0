//! Semantic checks of a whole [`Config`], for configurations read from a file and for those an
//! embedder builds in code alike.
//!
//! [`validate`] reports every problem, never just the first, each with the path of the field as
//! the TOML file names it (`vip[2].servers[1].weight`, `vip[0].check.rise`,
//! `vip[1].connect_timeout`), so the file layer can point at the line that set it.
//!
//! What is checked: unique VIP names, no address:port taken twice (over every VIP and the admin
//! listener), no port 0 on listeners or servers, at least one listen address and one server per
//! VIP, unique server names and ids within a VIP, weights within `0..=MAX_WEIGHT`, names made of
//! letters, digits, `-`, `_` and `.` (they appear in admin API paths), cookie persistence only on
//! `http` VIPs, sending the PROXY protocol (`send_proxy`) only on `tcp` VIPs, with `source =
//! "client"` servers of the clients' address family where the listen addresses fix it (no
//! `accept_proxy_from`, no `::` listener), positive rise, fall, connection caps and table sizes, netmasks within the
//! address length, a check port other than 0, TLS with at least one certificate whose files are
//! named and ALPN names of 1 to 255 bytes, TLS to servers with a `ca` while `verify` is on, a
//! `server_name` that is a DNS name or an IP address and, on `http` VIPs, no ALPN protocol but
//! `http/1.1`, and no zero duration where zero makes no sense (every timeout and interval
//! except `queue_timeout`, where zero means "do not queue").
//!
//! In `[cluster]`: valid node and peer names that differ, a replication `listen` whose bind
//! would not collide with a VIP or the admin listener (same port on the same or a wildcard
//! address), ports other than 0, a named `secret_file`, no table listed twice, a positive
//! `sync_timeout`. In `[cluster.vrrp]`: an `[admin]` listener (keepalived's check script runs
//! `lb ctl health` through it), an interface name, `router_id` 1-255, `priority` 1-254, an
//! `advert_interval` VRRPv3 carries (10 ms to 40.95 s in 10 ms steps), and unicast
//! `src_address` and `peer_address` of one family that differ.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{
    Check, CheckKind, Config, HeadLimits, MAX_WEIGHT, Mode, Persistence, ScriptStep, ServerTls,
    Source, TlsSettings, Vip,
};
use crate::cluster::{Cluster, Vrrp};

/// One semantic problem of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The field, named as in the TOML file: `vip[1].servers[0].weight`.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// Every semantic problem of `config`, in the order of the fields; empty when it can run.
pub fn validate(config: &Config) -> Vec<ValidationError> {
    let mut report = Report::default();
    if config.global.max_connections == 0 {
        report.push("global.max_connections", "must be at least 1");
    }
    let mut listeners: HashMap<SocketAddr, String> = HashMap::new();
    if let Some(admin) = &config.admin {
        report.listener(&mut listeners, admin.listen, "admin.listen".to_owned());
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (index, vip) in config.vips.iter().enumerate() {
        let path = format!("vip[{index}]");
        report.name(&format!("{path}.name"), &vip.name);
        if let Some(&first) = names.get(vip.name.as_str()) {
            report.push(
                format!("{path}.name"),
                format!(
                    "duplicate VIP name `{}` (first used by vip[{first}])",
                    vip.name
                ),
            );
        } else {
            names.insert(&vip.name, index);
        }
        if vip.listen.is_empty() {
            report.push(format!("{path}.listen"), "needs at least one address:port");
        }
        for (slot, address) in vip.listen.iter().enumerate() {
            report.listener(&mut listeners, *address, format!("{path}.listen[{slot}]"));
        }
        vip_settings(&mut report, &path, vip);
    }
    if let Some(cluster) = &config.cluster {
        self::cluster(&mut report, cluster, &listeners);
        if let Some(vrrp) = &cluster.vrrp {
            if config.admin.is_none() {
                report.push(
                    "cluster.vrrp",
                    "needs an [admin] listener: keepalived's check script runs `lb ctl health` \
                     through it",
                );
            }
            self::vrrp(&mut report, vrrp);
        }
    }
    report.errors
}

fn cluster(report: &mut Report, cluster: &Cluster, listeners: &HashMap<SocketAddr, String>) {
    report.name("cluster.node", &cluster.node);
    report.name("cluster.peer.name", &cluster.peer.name);
    if !cluster.node.is_empty() && cluster.peer.name == cluster.node {
        report.push(
            "cluster.peer.name",
            format!(
                "the peer's name must differ from this node's (`{}`)",
                cluster.node
            ),
        );
    }
    let listen = cluster.listen;
    let collides = |other: &SocketAddr| {
        other.port() == listen.port()
            && (other.ip() == listen.ip()
                || other.ip().is_unspecified()
                || listen.ip().is_unspecified())
    };
    let taken = listeners
        .iter()
        .filter(|(other, _)| collides(other))
        .min_by_key(|(_, path)| path.as_str());
    if listen.port() == 0 {
        report.push("cluster.listen", "a listener needs a port other than 0");
    } else if let Some((other, path)) = taken {
        report.push(
            "cluster.listen",
            format!("{listen} would collide with {path} ({other})"),
        );
    }
    if cluster.peer.address.port() == 0 {
        report.push("cluster.peer.address", "port 0 cannot be connected to");
    }
    if cluster.secret_file.as_os_str().is_empty() {
        report.push("cluster.secret_file", "names no file");
    }
    for (index, table) in cluster.tables.iter().enumerate() {
        if cluster.tables[..index].contains(table) {
            report.push(
                "cluster.tables",
                format!("`{}` is listed twice", table.as_str()),
            );
        }
    }
    report.positive_duration("cluster.sync_timeout", cluster.sync_timeout);
}

fn vrrp(report: &mut Report, vrrp: &Vrrp) {
    let interface = &vrrp.interface;
    let fits = (1..=15).contains(&interface.len())
        && interface
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/:\"'#!\\".contains(&b));
    if !fits {
        report.push(
            "cluster.vrrp.interface",
            format!(
                "`{interface}` is not a network interface name (1 to 15 characters, e.g. `eth0`)"
            ),
        );
    }
    if vrrp.router_id == 0 {
        report.push("cluster.vrrp.router_id", out_of_range(0, 1, 255));
    }
    if !(1..=254).contains(&vrrp.priority) {
        report.push("cluster.vrrp.priority", out_of_range(vrrp.priority, 1, 254));
    }
    let interval = vrrp.advert_interval;
    let step = Vrrp::ADVERT_STEP.as_nanos();
    if !(Vrrp::ADVERT_STEP..=Vrrp::MAX_ADVERT_INTERVAL).contains(&interval)
        || interval.as_nanos() % step != 0
    {
        report.push(
            "cluster.vrrp.advert_interval",
            "VRRPv3 adverts are 10ms to 40950ms apart, in steps of 10ms",
        );
    }
    let (src, peer) = (vrrp.src_address, vrrp.peer_address);
    for (key, address) in [("src_address", src), ("peer_address", peer)] {
        if address.is_unspecified() || address.is_multicast() {
            report.push(
                format!("cluster.vrrp.{key}"),
                format!("{address} is not a unicast address"),
            );
        }
    }
    if !src.is_unspecified() && !peer.is_unspecified() {
        if src == peer {
            report.push(
                "cluster.vrrp.peer_address",
                "must differ from `src_address`: it is the other node's address",
            );
        } else if src.is_ipv4() != peer.is_ipv4() {
            report.push(
                "cluster.vrrp.peer_address",
                "must be of the same family as `src_address`: adverts travel in one",
            );
        }
    }
}

/// Every semantic problem of one VIP that an embedder starts on its own: the checks of
/// [`validate`] that concern a VIP alone, each path starting at `vip`
/// (`vip.servers[1].weight`). A listen port of 0 is allowed here: the system picks a free one,
/// as embedders and tests want.
pub fn validate_vip(vip: &Vip) -> Vec<ValidationError> {
    let mut report = Report::default();
    report.name("vip.name", &vip.name);
    if vip.listen.is_empty() {
        report.push("vip.listen", "needs at least one address:port");
    }
    vip_settings(&mut report, "vip", vip);
    report.errors
}

fn vip_settings(report: &mut Report, path: &str, vip: &Vip) {
    servers(report, path, vip);
    persistence(report, &format!("{path}.persistence"), vip);
    check(report, &format!("{path}.check"), &vip.check);
    if let Some(tls) = &vip.tls {
        self::tls(report, &format!("{path}.tls"), tls);
    }
    if let Some(server_tls) = &vip.server_tls {
        self::server_tls(report, &format!("{path}.server_tls"), server_tls, vip.mode);
    }
    if vip.source == Some(Source::Client) {
        client_source(report, path, vip);
    }
    if vip.mode == Mode::Http {
        if vip.send_proxy.is_some() {
            report.push(
                format!("{path}.send_proxy"),
                "sending the PROXY protocol works on tcp VIPs only (http VIPs share server \
                 connections between clients and send X-Forwarded-For instead)",
            );
        }
        let limits = vip.http.head_limits;
        for (key, value, range) in [
            ("max_header_bytes", limits.max_bytes, HeadLimits::BYTES),
            ("max_header_fields", limits.max_fields, HeadLimits::FIELDS),
        ] {
            if !range.contains(&value) {
                let message = format!(
                    "{value} is out of range ({}-{})",
                    range.start(),
                    range.end()
                );
                report.push(format!("{path}.http.{key}"), message);
            }
        }
    }
    let timeouts = &vip.timeouts;
    for (key, value) in [
        ("connect_timeout", timeouts.connect),
        ("client_timeout", timeouts.client),
        ("server_timeout", timeouts.server),
        ("tunnel_timeout", timeouts.tunnel),
        ("http_request_timeout", timeouts.http_request),
    ] {
        report.positive_duration(&format!("{path}.{key}"), value);
    }
    if vip.max_connections == 0 {
        report.push(format!("{path}.max_connections"), "must be at least 1");
    }
    for (key, keepalive) in [
        ("client_keepalive", vip.client_keepalive),
        ("server_keepalive", vip.server_keepalive),
    ] {
        if let Some(keepalive) = keepalive {
            report.positive_duration(&format!("{path}.{key}.idle"), keepalive.idle);
            report.positive_duration(&format!("{path}.{key}.interval"), keepalive.interval);
            if keepalive.count == 0 {
                report.push(format!("{path}.{key}.count"), "must be at least 1");
            }
        }
    }
}

/// With `source = "client"`, a server connection is made from the client's address, so a
/// server must be of the clients' family. Where the listen addresses fix that family (no
/// PROXY header may bring another, no IPv6 wildcard takes IPv4 clients too), a server of the
/// other family could never be reached.
fn client_source(report: &mut Report, path: &str, vip: &Vip) {
    if !vip.accept_proxy_from.is_empty() {
        return;
    }
    let family = |address: IpAddr| match address.to_canonical() {
        IpAddr::V4(_) => "IPv4",
        IpAddr::V6(_) => "IPv6",
    };
    let mut clients = vip.listen.iter().map(|listen| match listen.ip() {
        IpAddr::V6(v6) if v6.is_unspecified() => None,
        address => Some(family(address)),
    });
    let Some(Some(first)) = clients.next() else {
        return;
    };
    if !clients.all(|other| other == Some(first)) {
        return;
    }
    for (index, server) in vip.servers.iter().enumerate() {
        if family(server.address.ip()) != first {
            report.push(
                format!("{path}.servers[{index}].address"),
                format!(
                    "with source = \"client\" connections come from the client's address, and \
                     this VIP's clients are {first} (its listen addresses): an {} server cannot \
                     be reached from them",
                    family(server.address.ip())
                ),
            );
        }
    }
}

fn tls(report: &mut Report, path: &str, tls: &TlsSettings) {
    if tls.certificates.is_empty() {
        report.push(
            format!("{path}.certificates"),
            "needs at least one certificate",
        );
    }
    for (index, paths) in tls.certificates.iter().enumerate() {
        for (key, file) in [("cert", &paths.cert), ("key", &paths.key)] {
            if file.as_os_str().is_empty() {
                report.push(
                    format!("{path}.certificates[{index}].{key}"),
                    "names no file",
                );
            }
        }
    }
    alpn(report, path, &tls.alpn);
}

fn server_tls(report: &mut Report, path: &str, tls: &ServerTls, mode: Mode) {
    match &tls.ca {
        None if tls.verify => report.push(
            format!("{path}.ca"),
            "needed while `verify` is on: the PEM file of the authorities that sign the \
             servers' certificates (`verify = false` accepts any certificate, insecure)",
        ),
        Some(ca) if ca.as_os_str().is_empty() => report.push(format!("{path}.ca"), "names no file"),
        _ => {}
    }
    if let Some(name) = &tls.server_name {
        if name.parse::<IpAddr>().is_err() && !is_dns_name(name) {
            report.push(
                format!("{path}.server_name"),
                format!("`{name}` is neither a DNS name nor an IP address"),
            );
        }
    }
    if let Some(paths) = &tls.client_certificate {
        for (key, file) in [("cert", &paths.cert), ("key", &paths.key)] {
            if file.as_os_str().is_empty() {
                report.push(format!("{path}.{key}"), "names no file");
            }
        }
    }
    alpn(report, path, &tls.alpn);
    if mode == Mode::Http {
        for (index, protocol) in tls.alpn.iter().enumerate() {
            if protocol != "http/1.1" {
                report.push(
                    format!("{path}.alpn[{index}]"),
                    format!(
                        "http VIPs speak HTTP/1.1 to their servers: `{protocol}` cannot be offered"
                    ),
                );
            }
        }
    }
}

fn alpn(report: &mut Report, path: &str, protocols: &[String]) {
    for (index, protocol) in protocols.iter().enumerate() {
        if protocol.is_empty() || protocol.len() > 255 {
            report.push(
                format!("{path}.alpn[{index}]"),
                "a protocol name is 1 to 255 bytes",
            );
        }
    }
}

/// Labels of letters, digits, `-` and `_`, 1 to 63 bytes each, 253 bytes in all at most.
fn is_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        })
}

fn servers(report: &mut Report, path: &str, vip: &Vip) {
    if vip.servers.is_empty() {
        report.push(format!("{path}.servers"), "a VIP needs at least one server");
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut ids = HashMap::new();
    for (index, server) in vip.servers.iter().enumerate() {
        let path = format!("{path}.servers[{index}]");
        report.name(&format!("{path}.name"), &server.name);
        if let Some(&first) = names.get(server.name.as_str()) {
            report.push(
                format!("{path}.name"),
                format!(
                    "duplicate server name `{}` (first used by servers[{first}])",
                    server.name
                ),
            );
        } else {
            names.insert(&server.name, index);
        }
        if let Some(&first) = ids.get(&server.id) {
            report.push(
                path.clone(),
                format!(
                    "server id {} is already used by servers[{first}]",
                    server.id
                ),
            );
        } else {
            ids.insert(server.id, index);
        }
        if server.address.port() == 0 {
            report.push(format!("{path}.address"), "port 0 cannot be connected to");
        }
        if server.weight > MAX_WEIGHT {
            report.push(
                format!("{path}.weight"),
                out_of_range(server.weight, 0, MAX_WEIGHT),
            );
        }
    }
}

fn persistence(report: &mut Report, path: &str, vip: &Vip) {
    match &vip.persistence {
        Persistence::None | Persistence::LastSuccessful { .. } => {}
        Persistence::SourceIp {
            timeout,
            size,
            netmask_v4,
            netmask_v6,
        } => {
            report.positive_duration(&format!("{path}.timeout"), *timeout);
            if *size == 0 {
                report.push(format!("{path}.size"), "must be at least 1");
            }
            if *netmask_v4 > 32 {
                report.push(format!("{path}.netmask"), out_of_range(*netmask_v4, 0, 32));
            }
            if *netmask_v6 > 128 {
                report.push(
                    format!("{path}.netmask_v6"),
                    out_of_range(*netmask_v6, 0, 128),
                );
            }
        }
        Persistence::Cookie {
            name,
            max_idle,
            max_life,
            ..
        } => {
            if vip.mode != Mode::Http {
                report.push(
                    format!("{path}.kind"),
                    format!(
                        "cookie persistence needs mode = \"http\" (this VIP is {})",
                        vip.mode.as_str()
                    ),
                );
            }
            if !is_name(name) {
                report.push(
                    format!("{path}.name"),
                    format!("`{name}` is not a cookie name (letters, digits, `-`, `_`, `.`)"),
                );
            }
            for (key, value) in [("max_idle", max_idle), ("max_life", max_life)] {
                if let Some(value) = value {
                    report.positive_duration(&format!("{path}.{key}"), *value);
                }
            }
        }
    }
}

fn check(report: &mut Report, path: &str, check: &Check) {
    for (key, value) in [("rise", check.rise), ("fall", check.fall)] {
        if value == 0 {
            report.push(format!("{path}.{key}"), "must be at least 1");
        }
    }
    if check.observe_failures == Some(0) {
        report.push(
            format!("{path}.observe_failures"),
            "must be at least 1 (leave it out to turn passive observation off)",
        );
    }
    if check.port == Some(0) {
        report.push(format!("{path}.port"), out_of_range(0, 1, u16::MAX));
    }
    for (key, value) in [
        ("interval", check.interval),
        ("fast_interval", check.fast_interval),
        ("down_interval", check.down_interval),
        ("timeout", check.timeout),
    ] {
        report.positive_duration(&format!("{path}.{key}"), value);
    }
    match &check.kind {
        CheckKind::Tcp | CheckKind::Mysql | CheckKind::Redis { .. } => {}
        CheckKind::Http(http) => {
            if http.method.is_empty() || !http.method.bytes().all(|b| b.is_ascii_uppercase()) {
                report.push(
                    format!("{path}.method"),
                    format!("`{}` is not an HTTP method (e.g. GET, HEAD)", http.method),
                );
            }
            if !http.path.starts_with('/') || http.path.bytes().any(|b| b <= b' ') {
                report.push(
                    format!("{path}.path"),
                    format!(
                        "`{}` is not a request path (e.g. `/healthcheck`)",
                        http.path
                    ),
                );
            }
            if http.expect.is_empty() {
                report.push(format!("{path}.expect"), "needs at least one status range");
            }
        }
        CheckKind::Script(steps) => {
            if steps.is_empty() {
                report.push(format!("{path}.steps"), "needs at least one step");
            }
            for (index, step) in steps.iter().enumerate() {
                let (ScriptStep::Send(bytes) | ScriptStep::Expect(bytes)) = step;
                if bytes.is_empty() {
                    report.push(
                        format!("{path}.steps[{index}]"),
                        "an empty step does nothing",
                    );
                }
            }
        }
    }
}

/// The message for a number outside its range, shared with the file layer.
pub(crate) fn out_of_range(
    value: impl fmt::Display,
    low: impl fmt::Display,
    high: impl fmt::Display,
) -> String {
    format!("{value} is out of range ({low}-{high})")
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[derive(Default)]
struct Report {
    errors: Vec<ValidationError>,
}

impl Report {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ValidationError {
            path: path.into(),
            message: message.into(),
        });
    }

    fn name(&mut self, path: &str, name: &str) {
        if !is_name(name) {
            self.push(
                path,
                format!("`{name}` is not a valid name (letters, digits, `-`, `_`, `.`)"),
            );
        }
    }

    fn positive_duration(&mut self, path: &str, value: Duration) {
        if value.is_zero() {
            self.push(path, "must be longer than zero");
        }
    }

    fn listener(
        &mut self,
        taken: &mut HashMap<SocketAddr, String>,
        address: SocketAddr,
        path: String,
    ) {
        if address.port() == 0 {
            self.push(path, "a listener needs a port other than 0");
        } else if let Some(first) = taken.get(&address) {
            self.push(path, format!("{address} is already used by {first}"));
        } else {
            taken.insert(address, path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Admin, Network, ProxyVersion, Server, ServerId};

    fn vip(name: &str, port: u16) -> Vip {
        let mut vip = Vip::new(name, SocketAddr::from(([192, 0, 2, 10], port)));
        vip.servers = vec![Server::new(
            ServerId(0),
            "a",
            SocketAddr::from(([192, 0, 2, 11], port)),
        )];
        vip
    }

    fn paths(config: &Config) -> Vec<String> {
        validate(config).into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn a_sound_config_has_no_error() {
        let config = Config {
            admin: Some(Admin::default()),
            vips: vec![vip("mysql", 3306), vip("redis", 6379)],
            ..Config::default()
        };
        assert_eq!(validate(&config), vec![]);
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let mut first = vip("web", 80);
        first.persistence = Persistence::cookie();
        first.servers[0].weight = 300;
        first.servers.push(first.servers[0].clone());
        first.servers[1].weight = 1;
        first.check.rise = 0;
        first.check.port = Some(0);
        first.timeouts.connect = Duration::ZERO;
        let mut second = vip("web", 80);
        second.servers.clear();
        let config = Config {
            vips: vec![first, second],
            ..Config::default()
        };
        assert_eq!(
            paths(&config),
            [
                "vip[0].servers[0].weight",
                "vip[0].servers[1].name",
                "vip[0].servers[1]",
                "vip[0].persistence.kind",
                "vip[0].check.rise",
                "vip[0].check.port",
                "vip[0].connect_timeout",
                "vip[1].name",
                "vip[1].listen[0]",
                "vip[1].servers",
            ]
        );
        let errors = validate(&config);
        assert_eq!(
            errors[0].to_string(),
            "vip[0].servers[0].weight: 300 is out of range (0-256)"
        );
        assert!(errors[8].message.contains("vip[0].listen[0]"));
    }

    #[test]
    fn the_admin_listener_cannot_share_a_vip_address() {
        let config = Config {
            admin: Some(Admin {
                listen: SocketAddr::from(([192, 0, 2, 10], 80)),
                token_file: None,
            }),
            vips: vec![vip("web", 80)],
            ..Config::default()
        };
        assert_eq!(paths(&config), ["vip[0].listen[0]"]);
    }

    #[test]
    fn a_pair_is_checked_against_itself_and_the_listeners() {
        use crate::cluster::{Cluster, Peer, Table, Vrrp};
        let peer = Peer {
            name: "lb1".to_owned(),
            address: SocketAddr::from(([10, 79, 0, 2], 0)),
        };
        let listen = SocketAddr::from(([0, 0, 0, 0], 80));
        let mut cluster = Cluster::new("lb1", listen, peer, "");
        cluster.tables = vec![Table::SourceIp, Table::SourceIp];
        let src = IpAddr::from([10, 77, 0, 11]);
        let mut vrrp = Vrrp::new("eth 0", 0, src, src);
        vrrp.priority = 255;
        vrrp.advert_interval = Duration::from_millis(41_000);
        cluster.vrrp = Some(vrrp);
        let config = Config {
            vips: vec![vip("web", 80)],
            cluster: Some(cluster),
            ..Config::default()
        };
        assert_eq!(
            paths(&config),
            [
                "cluster.peer.name",
                "cluster.listen",
                "cluster.peer.address",
                "cluster.secret_file",
                "cluster.tables",
                "cluster.vrrp",
                "cluster.vrrp.interface",
                "cluster.vrrp.router_id",
                "cluster.vrrp.priority",
                "cluster.vrrp.advert_interval",
                "cluster.vrrp.peer_address",
            ]
        );
        let mut fine = config.clone();
        fine.admin = Some(Admin::default());
        let cluster = fine.cluster.as_mut().unwrap();
        cluster.peer.name = "lb2".to_owned();
        cluster.peer.address.set_port(7440);
        cluster.listen = SocketAddr::from(([10, 79, 0, 1], 7440));
        cluster.secret_file = "cluster.key".into();
        cluster.tables = Table::ALL.to_vec();
        let vrrp = cluster.vrrp.as_mut().unwrap();
        vrrp.interface = "eth0.100".to_owned();
        vrrp.router_id = 255;
        vrrp.priority = 254;
        vrrp.advert_interval = Duration::from_millis(40_950);
        vrrp.peer_address = IpAddr::from([10, 77, 0, 12]);
        assert_eq!(validate(&fine), vec![]);
    }

    #[test]
    fn zero_queue_timeout_means_no_queue_and_is_allowed() {
        let mut web = vip("web", 80);
        web.timeouts.queue = Duration::ZERO;
        let config = Config {
            vips: vec![web],
            ..Config::default()
        };
        assert_eq!(validate(&config), vec![]);
    }

    #[test]
    fn head_limits_out_of_range_are_refused() {
        let mut web = vip("web", 80);
        web.mode = Mode::Http;
        web.http.head_limits = HeadLimits {
            max_bytes: 100,
            max_fields: 0,
        };
        let config = Config {
            vips: vec![web],
            ..Config::default()
        };
        assert_eq!(
            paths(&config),
            [
                "vip[0].http.max_header_bytes",
                "vip[0].http.max_header_fields"
            ]
        );
    }

    #[test]
    fn sending_the_proxy_protocol_is_refused_on_http_vips() {
        let mut web = vip("web", 80);
        web.mode = Mode::Http;
        web.send_proxy = Some(ProxyVersion::V2);
        web.accept_proxy_from = vec![Network::parse("10.0.0.0/8").unwrap()];
        let mut tcp = web.clone();
        tcp.name = "tcp".to_owned();
        tcp.listen = vec![SocketAddr::from(([192, 0, 2, 10], 81))];
        tcp.mode = Mode::Tcp;
        let config = Config {
            vips: vec![web, tcp],
            ..Config::default()
        };
        assert_eq!(paths(&config), ["vip[0].send_proxy"]);
    }

    #[test]
    fn a_client_source_needs_servers_of_the_clients_family() {
        let mut v4 = vip("v4", 80);
        v4.source = Some(Source::Client);
        v4.servers.push(Server::new(
            ServerId(1),
            "b",
            "[2001:db8::11]:80".parse().unwrap(),
        ));
        let mut v6 = v4.clone();
        v6.name = "v6".to_owned();
        v6.listen = vec!["[2001:db8::10]:80".parse().unwrap()];
        // Clients of either family: a wildcard IPv6 listener, or a PROXY header.
        let mut wildcard = v4.clone();
        wildcard.name = "wildcard".to_owned();
        wildcard.listen = vec!["[::]:80".parse().unwrap()];
        let mut proxied = v4.clone();
        proxied.name = "proxied".to_owned();
        proxied.listen = vec![SocketAddr::from(([192, 0, 2, 10], 81))];
        proxied.accept_proxy_from = vec![Network::parse("10.0.0.0/8").unwrap()];
        // A fixed source address is the operator's business.
        let mut fixed = v4.clone();
        fixed.name = "fixed".to_owned();
        fixed.listen = vec![SocketAddr::from(([192, 0, 2, 10], 82))];
        fixed.source = Some(Source::Address([192, 0, 2, 1].into()));
        let config = Config {
            vips: vec![v4, v6, wildcard, proxied, fixed],
            ..Config::default()
        };
        let errors = validate(&config);
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["vip[0].servers[1].address", "vip[1].servers[0].address"]
        );
        assert!(
            errors[0].message.contains("clients are IPv4")
                && errors[0].message.contains("an IPv6 server"),
            "{}",
            errors[0]
        );
    }
}
