//! Writing a [`Config`] back as TOML in the file's own shape.
//!
//! Only what differs from the defaults is written (persistence tables are written whole) (so `lb profile` prints a file a person can
//! read), and never a `[defaults]` section: reading the output back gives the same `Config`.
//! `persistence`, `check`, keep-alive tables and servers are inline tables, one server per
//! line. Script steps are written as text; bytes that are not UTF-8 cannot be written in TOML
//! and are replaced by U+FFFD;
//! likewise a `token_file`, `secret_file` or certificate path that is not UTF-8. `[cluster]`
//! and `[cluster.vrrp]` come before the VIPs.

use std::fmt::Write as _;
use std::time::Duration;

use toml_writer::ToTomlValue;

use super::check::initial_name;
use super::reader::UNREADABLE_ADDRESS;
use crate::cluster::{Cluster, Table, Vrrp};
use crate::model::{
    Check, CheckKind, Config, Global, HeadLimits, HeaderRule, HttpCheck, HttpOptions, KeepAlive,
    Mode, PathMatch, Persistence, RedirectTarget, SchedulerKind, ScriptStep, Server, ServerTls,
    StatusRange, TlsSettings, Vip, format_duration,
};

/// The configuration as TOML that [`super::parse`] reads back to an equal `Config`.
pub fn to_toml(config: &Config) -> String {
    let mut out = String::new();
    let global = global(&config.global);
    if !global.is_empty() {
        out.push_str("[global]\n");
        out.push_str(&global.lines());
    }
    if let Some(admin) = &config.admin {
        let mut entries = Entries::default();
        entries.text("listen", &admin.listen.to_string());
        if let Some(file) = &admin.token_file {
            entries.text("token_file", &file.to_string_lossy());
        }
        section(&mut out, "[admin]", &entries.lines());
    }
    if let Some(cluster) = &config.cluster {
        section(&mut out, "[cluster]", &self::cluster(cluster).lines());
        if let Some(vrrp) = &cluster.vrrp {
            section(&mut out, "[cluster.vrrp]", &self::vrrp(vrrp).lines());
        }
    }
    for vip in &config.vips {
        section(&mut out, "[[vip]]", &self::vip(vip).lines());
    }
    out
}

fn section(out: &mut String, header: &str, body: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(header);
    out.push('\n');
    out.push_str(body);
}

fn global(global: &Global) -> Entries {
    let defaults = Global::default();
    let mut entries = Entries::default();
    if global.max_connections != defaults.max_connections {
        entries.raw("max_connections", global.max_connections);
    }
    if global.shutdown_timeout != defaults.shutdown_timeout {
        entries.duration("shutdown_timeout", global.shutdown_timeout);
    }
    entries
}

fn cluster(cluster: &Cluster) -> Entries {
    let mut entries = Entries::default();
    entries.text("node", &cluster.node);
    entries.text("listen", &cluster.listen.to_string());
    let mut peer = Entries::default();
    peer.text("name", &cluster.peer.name);
    peer.text("address", &cluster.peer.address.to_string());
    entries.raw("peer", peer.inline());
    entries.text("secret_file", &cluster.secret_file.to_string_lossy());
    if cluster.tables != Table::ALL {
        let tables = cluster.tables.iter().map(|t| t.as_str().to_toml_value());
        entries.raw("tables", array(tables));
    }
    entries.duration_unless(
        "sync_timeout",
        cluster.sync_timeout,
        Cluster::DEFAULT_SYNC_TIMEOUT,
    );
    entries.raw_unless(
        "close_sessions_on_vip_loss",
        cluster.close_sessions_on_vip_loss,
        true,
    );
    entries
}

fn vrrp(vrrp: &Vrrp) -> Entries {
    let mut entries = Entries::default();
    entries.text("interface", &vrrp.interface);
    entries.raw("router_id", vrrp.router_id);
    entries.raw_unless("priority", vrrp.priority, Vrrp::DEFAULT_PRIORITY);
    entries.duration_unless(
        "advert_interval",
        vrrp.advert_interval,
        Vrrp::DEFAULT_ADVERT_INTERVAL,
    );
    entries.text("src_address", &vrrp.src_address.to_string());
    entries.text("peer_address", &vrrp.peer_address.to_string());
    entries
}

fn vip(vip: &Vip) -> Entries {
    let defaults = Vip::new(vip.name.clone(), UNREADABLE_ADDRESS);
    let mut entries = Entries::default();
    entries.text("name", &vip.name);
    let listen: Vec<String> = vip
        .listen
        .iter()
        .map(|a| a.to_string().to_toml_value())
        .collect();
    entries.raw("listen", format!("[{}]", listen.join(", ")));
    if vip.mode != Mode::Tcp {
        entries.text("mode", vip.mode.as_str());
    }
    if vip.scheduler != SchedulerKind::RoundRobin {
        entries.text("scheduler", vip.scheduler.as_str());
    }
    if vip.persistence != Persistence::None {
        entries.raw("persistence", persistence(&vip.persistence).inline());
    }
    if vip.check != Check::default() {
        entries.raw("check", check(&vip.check).inline());
    }
    let (timeouts, usual) = (&vip.timeouts, &defaults.timeouts);
    for (key, value, default) in [
        ("connect_timeout", timeouts.connect, usual.connect),
        ("client_timeout", timeouts.client, usual.client),
        ("server_timeout", timeouts.server, usual.server),
        ("tunnel_timeout", timeouts.tunnel, usual.tunnel),
        ("queue_timeout", timeouts.queue, usual.queue),
        (
            "http_request_timeout",
            timeouts.http_request,
            usual.http_request,
        ),
    ] {
        if value != default {
            entries.duration(key, value);
        }
    }
    for (key, value, default) in [
        ("retries", vip.retries, defaults.retries),
        (
            "max_connections",
            vip.max_connections,
            defaults.max_connections,
        ),
    ] {
        if value != default {
            entries.raw(key, value);
        }
    }
    if vip.shutdown_sessions_on_down {
        entries.raw("shutdown_sessions_on_down", true);
    }
    transport(&mut entries, vip);
    if vip.http != HttpOptions::default() {
        entries.raw("http", http(&vip.http).inline());
    }
    if let Some(settings) = &vip.tls {
        entries.raw("tls", tls(settings, vip.mode).inline());
    }
    if let Some(settings) = &vip.server_tls {
        entries.raw("server_tls", server_tls(settings, vip.mode).inline());
    }
    let servers: Vec<String> = vip
        .servers
        .iter()
        .map(|s| format!("  {},\n", server(s).inline()))
        .collect();
    entries.raw("servers", format!("[\n{}]", servers.concat()));
    entries
}

fn transport(entries: &mut Entries, vip: &Vip) {
    if let Some(version) = vip.send_proxy {
        entries.text("send_proxy", version.as_str());
    }
    if !vip.accept_proxy_from.is_empty() {
        let networks: Vec<String> = vip
            .accept_proxy_from
            .iter()
            .map(|network| network.to_string().to_toml_value())
            .collect();
        entries.raw("accept_proxy_from", format!("[{}]", networks.join(", ")));
    }
    if let Some(source) = vip.source {
        entries.text("source", &source.to_string());
    }
    for (key, keepalive) in [
        ("client_keepalive", vip.client_keepalive),
        ("server_keepalive", vip.server_keepalive),
    ] {
        match keepalive {
            None => {}
            Some(keepalive) if keepalive == KeepAlive::default() => entries.raw(key, true),
            Some(keepalive) => {
                let mut table = Entries::default();
                table.duration("idle", keepalive.idle);
                table.duration("interval", keepalive.interval);
                table.raw("count", keepalive.count);
                entries.raw(key, table.inline());
            }
        }
    }
}

fn http(http: &HttpOptions) -> Entries {
    let mut entries = Entries::default();
    if !http.trusted_forwarders.is_empty() {
        let networks: Vec<String> = http
            .trusted_forwarders
            .iter()
            .map(|network| network.to_string().to_toml_value())
            .collect();
        entries.raw("trusted_forwarders", format!("[{}]", networks.join(", ")));
    }
    if let Some(secret) = http.cookie_secret {
        entries.text("cookie_secret", &format!("{secret:032x}"));
    }
    let defaults = HeadLimits::default();
    for (key, value, default) in [
        (
            "max_header_bytes",
            http.head_limits.max_bytes,
            defaults.max_bytes,
        ),
        (
            "max_header_fields",
            http.head_limits.max_fields,
            defaults.max_fields,
        ),
    ] {
        if value != default {
            entries.raw(key, value);
        }
    }
    let list = |items: Vec<Entries>| {
        let items: Vec<String> = items.iter().map(Entries::inline).collect();
        format!("[{}]", items.join(", "))
    };
    for (key, rules) in [
        ("request_headers", &http.request_headers),
        ("response_headers", &http.response_headers),
    ] {
        if !rules.is_empty() {
            entries.raw(key, list(rules.iter().map(header_rule).collect()));
        }
    }
    if !http.rewrites.is_empty() {
        let rewrites = http.rewrites.iter().map(|rewrite| {
            let mut entries = path_match(&rewrite.path);
            entries.text("replace", &rewrite.replace);
            entries
        });
        entries.raw("rewrite", list(rewrites.collect()));
    }
    if !http.redirects.is_empty() {
        let redirects = http.redirects.iter().map(|redirect| {
            let mut entries = path_match(&redirect.path);
            match &redirect.to {
                RedirectTarget::Https { port } => {
                    entries.raw("to_https", true);
                    if let Some(port) = port {
                        entries.raw("https_port", port);
                    }
                }
                RedirectTarget::Location(location) => entries.text("location", location),
            }
            entries.raw_unless("status", redirect.status, 301);
            entries
        });
        entries.raw("redirect", list(redirects.collect()));
    }
    entries
}

fn tls(tls: &TlsSettings, mode: Mode) -> Entries {
    let mut entries = Entries::default();
    let certificates = tls.certificates.iter().map(|paths| {
        let mut entries = Entries::default();
        entries.text("cert", &paths.cert.to_string_lossy());
        entries.text("key", &paths.key.to_string_lossy());
        entries.inline()
    });
    entries.raw("certificates", array(certificates));
    if tls.alpn != TlsSettings::default_alpn(mode) {
        entries.raw("alpn", array(tls.alpn.iter().map(|p| p.to_toml_value())));
    }
    entries
}

fn server_tls(tls: &ServerTls, mode: Mode) -> Entries {
    let mut entries = Entries::default();
    if let Some(ca) = &tls.ca {
        entries.text("ca", &ca.to_string_lossy());
    }
    if let Some(name) = &tls.server_name {
        entries.text("server_name", name);
    }
    if !tls.verify {
        entries.raw("verify", false);
    }
    if let Some(paths) = &tls.client_certificate {
        entries.text("cert", &paths.cert.to_string_lossy());
        entries.text("key", &paths.key.to_string_lossy());
    }
    if tls.alpn != ServerTls::default_alpn(mode) {
        entries.raw("alpn", array(tls.alpn.iter().map(|p| p.to_toml_value())));
    }
    entries
}

/// `[a, b, ...]` of values already TOML-encoded.
fn array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

fn header_rule(rule: &HeaderRule) -> Entries {
    let mut entries = Entries::default();
    entries.text(rule.action(), rule.name());
    if let HeaderRule::Add { value, .. } | HeaderRule::Set { value, .. } = rule {
        entries.text("value", value);
    }
    entries
}

fn path_match(path: &PathMatch) -> Entries {
    let mut entries = Entries::default();
    match path {
        PathMatch::Exact(path) => entries.text("exact", path),
        PathMatch::Prefix(path) => entries.text("prefix", path),
        PathMatch::Regex(regex) => entries.text("regex", regex.as_str()),
    }
    entries
}

fn server(server: &Server) -> Entries {
    let mut entries = Entries::default();
    entries.text("name", &server.name);
    entries.text("address", &server.address.to_string());
    if server.weight != Server::DEFAULT_WEIGHT {
        entries.raw("weight", server.weight);
    }
    if server.backup {
        entries.raw("backup", true);
    }
    if server.admin != Default::default() {
        entries.text("state", server.admin.as_str());
    }
    entries
}

fn persistence(persistence: &Persistence) -> Entries {
    let mut entries = Entries::default();
    entries.text("kind", persistence.kind_name());
    match persistence {
        Persistence::None => {}
        Persistence::SourceIp {
            timeout,
            size,
            netmask_v4,
            netmask_v6,
        } => {
            entries.duration("timeout", *timeout);
            entries.raw("size", size);
            entries.raw("netmask", netmask_v4);
            entries.raw("netmask_v6", netmask_v6);
        }
        Persistence::Cookie {
            name,
            indirect,
            nocache,
            max_idle,
            max_life,
        } => {
            entries.text("name", name);
            entries.raw("indirect", indirect);
            entries.raw("nocache", nocache);
            for (key, value) in [("max_idle", max_idle), ("max_life", max_life)] {
                if let Some(value) = value {
                    entries.duration(key, *value);
                }
            }
        }
        Persistence::LastSuccessful { clear_on_drain } => {
            entries.raw("clear_on_drain", clear_on_drain);
        }
    }
    entries
}

fn check(check: &Check) -> Entries {
    let defaults = Check::default();
    let mut entries = Entries::default();
    if check.kind != CheckKind::Tcp {
        entries.text("kind", check.kind.as_str());
    }
    match &check.kind {
        CheckKind::Tcp | CheckKind::Mysql => {}
        CheckKind::Http(http) => http_keys(&mut entries, http),
        CheckKind::Redis { password } => {
            if let Some(password) = password {
                entries.text("password", password);
            }
        }
        CheckKind::Script(steps) => {
            let steps: Vec<String> = steps.iter().map(script_step).collect();
            entries.raw("steps", format!("[{}]", steps.join(", ")));
        }
    }
    entries.duration_unless("interval", check.interval, defaults.interval);
    entries.duration_unless("fast_interval", check.fast_interval, check.interval);
    entries.duration_unless("down_interval", check.down_interval, check.interval);
    entries.raw_unless("rise", check.rise, defaults.rise);
    entries.raw_unless("fall", check.fall, defaults.fall);
    entries.duration_unless("timeout", check.timeout, defaults.timeout);
    if let Some(port) = check.port {
        entries.raw("port", port);
    }
    if check.initial != defaults.initial {
        entries.text("initial", initial_name(check.initial));
    }
    if let Some(failures) = check.observe_failures {
        entries.raw("observe_failures", failures);
    }
    entries
}

fn http_keys(entries: &mut Entries, http: &HttpCheck) {
    let defaults = HttpCheck::default();
    for (key, value, default) in [
        ("method", &http.method, &defaults.method),
        ("path", &http.path, &defaults.path),
    ] {
        if value != default {
            entries.text(key, value);
        }
    }
    if let Some(host) = &http.host {
        entries.text("host", host);
    }
    if http.expect != defaults.expect {
        let ranges: Vec<String> = http
            .expect
            .iter()
            .map(|range| status_range(*range).to_toml_value())
            .collect();
        entries.raw("expect", format!("[{}]", ranges.join(", ")));
    }
    if let Some(body) = &http.body_contains {
        entries.text("body", body);
    }
}

fn status_range(range: StatusRange) -> String {
    if range.low == range.high {
        range.low.to_string()
    } else {
        format!("{}-{}", range.low, range.high)
    }
}

fn script_step(step: &ScriptStep) -> String {
    let (key, bytes) = match step {
        ScriptStep::Send(bytes) => ("send", bytes),
        ScriptStep::Expect(bytes) => ("expect", bytes),
    };
    let text = String::from_utf8_lossy(bytes);
    format!("{{ {key} = {} }}", text.to_toml_value())
}

/// Keys and their TOML-encoded values, in writing order.
#[derive(Default)]
struct Entries(Vec<(&'static str, String)>);

impl Entries {
    fn raw(&mut self, key: &'static str, value: impl ToString) {
        self.0.push((key, value.to_string()));
    }

    fn raw_unless<T: PartialEq + ToString>(&mut self, key: &'static str, value: T, default: T) {
        if value != default {
            self.raw(key, value);
        }
    }

    fn text(&mut self, key: &'static str, value: &str) {
        self.raw(key, value.to_toml_value());
    }

    fn duration(&mut self, key: &'static str, value: Duration) {
        self.text(key, &format_duration(value));
    }

    fn duration_unless(&mut self, key: &'static str, value: Duration, default: Duration) {
        if value != default {
            self.duration(key, value);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `key = value` lines.
    fn lines(&self) -> String {
        let mut out = String::new();
        for (key, value) in &self.0 {
            let _ = writeln!(out, "{key} = {value}");
        }
        out
    }

    /// `{ key = value, ... }`.
    fn inline(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!("{{ {} }}", pairs.join(", "))
    }
}
