//! A haproxy.cfg for an OpenStack controller the way puppet-tripleo writes it (through the
//! puppetlabs-haproxy module: `keyword  value` lines, one `listen` per service, `transparent`
//! binds on the internal and public VIPs, member options `check fall 5 inter 2000 rise 2`),
//! for the `lb import` tests.
//!
//! The 23 services of `../shared/openstack-profile.md`, with TripleO's settings: Galera
//! (`mysql`) behind clustercheck (`option httpchk` on port 9200, every server `backup`,
//! `stick-table type ip size 1000` and `stick on dst`, `on-marked-down shutdown-sessions`,
//! `option tcpka`, 90m timeouts), Horizon with `cookie SERVERID insert indirect nocache`,
//! Redis with `balance first` and the tcp-check sequence down to `role:master`, noVNC with
//! `balance source` and `timeout tunnel 1h`, and the stats listener.

use std::net::IpAddr;

/// Where the controller's services are.
pub struct Layout {
    /// The internal API VIP (every service binds it).
    pub internal: IpAddr,
    /// The public VIP (the public services bind it too), if any.
    pub public: Option<IpAddr>,
    /// The controllers, by name.
    pub controllers: Vec<(String, IpAddr)>,
    /// Added to every port (listen, server and check ports), to run without root.
    pub port_offset: u16,
    /// Redis's `requirepass`, sent by the tcp-check (`AUTH`).
    pub redis_password: Option<String>,
}

/// How a service is checked.
#[derive(Clone, Copy)]
enum Probe {
    /// TCP connect.
    Connect,
    /// `option httpchk GET PATH`, with `http-check expect status RANGES` when given.
    Http(&'static str, Option<&'static str>),
    /// Galera clustercheck on 9200.
    Clustercheck,
    /// Redis `role:master` tcp-check.
    Redis,
}

/// One service: name, port, mode, `balance`, probe, public, extra listen options.
type Service = (
    &'static str,
    u16,
    &'static str,
    Option<&'static str>,
    Probe,
    bool,
    &'static [&'static str],
);

const HEALTHCHECK: Probe = Probe::Http("/healthcheck", None);
const ROOT: Probe = Probe::Http("/", None);

#[rustfmt::skip]
const SERVICES: [Service; 23] = [
    ("aodh",               8042,  "tcp",  None,              HEALTHCHECK, true,  &[]),
    ("ceilometer",         8777,  "tcp",  None,              Probe::Connect, true, &[]),
    ("cinder",             8776,  "tcp",  Some("leastconn"), HEALTHCHECK, true,  &[]),
    ("glance_api",         9292,  "tcp",  None,              HEALTHCHECK, true,  &[]),
    ("glance_registry",    9191,  "tcp",  None,              Probe::Connect, false, &[]),
    ("gnocchi",            8041,  "tcp",  None,              Probe::Http("/", Some("200-499")), true, &[]),
    ("heat_api",           8004,  "tcp",  Some("leastconn"), HEALTHCHECK, true,  &["timeout client 10m", "timeout server 10m"]),
    ("heat_cfn",           8000,  "tcp",  Some("leastconn"), HEALTHCHECK, true,  &["timeout client 10m", "timeout server 10m"]),
    ("heat_cloudwatch",    8003,  "tcp",  Some("leastconn"), ROOT,        true,  &["timeout client 10m", "timeout server 10m"]),
    ("horizon",            80,    "http", None,              ROOT,        true,  &["cookie SERVERID insert indirect nocache", "option forwardfor"]),
    ("keystone_admin",     35357, "tcp",  None,              HEALTHCHECK, false, &[]),
    ("keystone_admin_ssh", 22,    "tcp",  None,              Probe::Connect, false, &["timeout client 12h", "timeout server 12h"]),
    ("keystone_public",    5000,  "tcp",  None,              HEALTHCHECK, true,  &[]),
    ("mysql",              3306,  "tcp",  None,              Probe::Clustercheck, false, &["option tcpka", "timeout client 90m", "timeout server 90m", "stick-table type ip size 1000", "stick on dst"]),
    ("neutron",            9696,  "tcp",  Some("leastconn"), HEALTHCHECK, true,  &["timeout client 10m", "timeout server 10m"]),
    ("nova_ec2",           8773,  "tcp",  None,              Probe::Connect, true, &[]),
    ("nova_metadata",      8775,  "tcp",  Some("source"),    ROOT,        false, &["hash-type consistent"]),
    ("nova_novncproxy",    6080,  "tcp",  Some("source"),    Probe::Connect, true, &["timeout tunnel 1h", "stick-table type ip size 10240 expire 30m", "stick on src"]),
    ("nova_osapi",         8774,  "tcp",  None,              ROOT,        true,  &[]),
    ("nova_placement",     8778,  "tcp",  None,              ROOT,        true,  &[]),
    ("panko",              8779,  "tcp",  None,              Probe::Connect, true, &[]),
    ("redis",              6379,  "tcp",  Some("first"),     Probe::Redis, false, &["timeout client 90m", "timeout server 90m"]),
    ("swift_proxy_server", 8080,  "tcp",  Some("leastconn"), HEALTHCHECK, true,  &[]),
];

/// The names of the 23 services, in the file's order.
pub fn service_names() -> Vec<&'static str> {
    SERVICES.iter().map(|service| service.0).collect()
}

/// The haproxy.cfg of a controller laid out as `layout` says.
pub fn haproxy_cfg(layout: &Layout) -> String {
    let port = |port: u16| port + layout.port_offset;
    let mut out = String::from(
        "# This file is managed by Puppet\n\
         global\n\
         \x20 daemon\n\
         \x20 group  haproxy\n\
         \x20 log  /dev/log local0\n\
         \x20 maxconn  20480\n\
         \x20 pidfile  /var/run/haproxy.pid\n\
         \x20 ssl-default-bind-ciphers  !SSLv2:kEECDH:kRSA:kEDH:kPSK:+3DES:!aNULL:!eNULL:!MD5:!EXP:!RC4:!SEED:!IDEA:!DES\n\
         \x20 ssl-default-bind-options  no-sslv3 no-tlsv10\n\
         \x20 stats  timeout 2m\n\
         \x20 user  haproxy\n\
         \n\
         defaults\n\
         \x20 log  global\n\
         \x20 maxconn  4096\n\
         \x20 mode  tcp\n\
         \x20 option  redispatch\n\
         \x20 retries  3\n\
         \x20 timeout  http-request 10s\n\
         \x20 timeout  queue 2m\n\
         \x20 timeout  connect 10s\n\
         \x20 timeout  client 2m\n\
         \x20 timeout  server 2m\n\
         \x20 timeout  check 10s\n\
         \n",
    );
    out.push_str(&format!(
        "listen haproxy.stats\n  bind {}:{} transparent\n  mode http\n  stats enable\n  stats uri /\n\n",
        layout.internal,
        port(1993)
    ));
    for &(name, service_port, mode, balance, probe, public, extras) in &SERVICES {
        out.push_str(&format!("listen {name}\n"));
        out.push_str(&format!(
            "  bind {}:{} transparent\n",
            layout.internal,
            port(service_port)
        ));
        if let Some(public) = layout.public.filter(|_| public) {
            out.push_str(&format!(
                "  bind {public}:{} transparent\n",
                port(service_port)
            ));
        }
        if mode == "http" {
            out.push_str("  mode http\n");
        }
        if let Some(balance) = balance {
            out.push_str(&format!("  balance {balance}\n"));
        }
        for extra in extras {
            out.push_str(&format!("  {extra}\n"));
        }
        let mut member = "check fall 5 inter 2000 rise 2".to_owned();
        match probe {
            Probe::Connect => {}
            Probe::Http(path, expect) => {
                out.push_str(&format!("  option httpchk GET {path}\n"));
                if let Some(expect) = expect {
                    out.push_str(&format!("  http-check expect status {expect}\n"));
                }
            }
            Probe::Clustercheck => {
                out.push_str("  option httpchk\n");
                member = format!(
                    "backup check inter 1s on-marked-down shutdown-sessions port {}",
                    port(9200)
                );
            }
            Probe::Redis => {
                out.push_str("  option tcp-check\n");
                if let Some(password) = &layout.redis_password {
                    out.push_str(&format!("  tcp-check send AUTH\\ {password}\\r\\n\n"));
                    out.push_str("  tcp-check expect string +OK\n");
                }
                for rule in [
                    "send PING\\r\\n",
                    "expect string +PONG",
                    "send info\\ replication\\r\\n",
                    "expect string role:master",
                    "send QUIT\\r\\n",
                    "expect string +OK",
                ] {
                    out.push_str(&format!("  tcp-check {rule}\n"));
                }
            }
        }
        for (controller, address) in &layout.controllers {
            let cookie = if name == "horizon" {
                format!(" cookie {controller}")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  server {controller} {address}:{} {member}{cookie}\n",
                port(service_port)
            ));
        }
        out.push('\n');
    }
    out
}
