//! `to_toml` writes any valid configuration so that `parse` reads back the same one: what
//! `lb profile` prints is what `lb run` will run.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lb_core::cluster::{Cluster, Peer, Table, Vrrp};
use lb_core::config::{parse, to_toml};
use lb_core::model::{
    Admin, AdminState, CertificatePaths, Check, CheckKind, Config, Global, HeadLimits, HeaderRule,
    HttpCheck, HttpOptions, InitialState, KeepAlive, Mode, Network, PathMatch, PathRegex,
    PathRewrite, Persistence, ProxyVersion, Redirect, RedirectTarget, SchedulerKind, ScriptStep,
    Server, ServerId, ServerTls, Source, StatusRange, Timeouts, TlsSettings, Vip, validate,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        1u64..10_000_000_000,
        (1u64..100).prop_map(|h| h * 3_600_000)
    ]
    .prop_map(Duration::from_millis)
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u16; 8]>().prop_map(IpAddr::from)
    ]
}

fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("not empty", |text| !text.is_empty())
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._-]{1,12}"
}

fn status_range() -> impl Strategy<Value = StatusRange> {
    (100u16..600, 0u16..100).prop_map(|(low, span)| StatusRange {
        low,
        high: (low + span).min(599),
    })
}

fn check_kind() -> impl Strategy<Value = CheckKind> {
    let http = (
        "[A-Z]{1,7}",
        "/[!-~]{0,20}",
        option::of(text()),
        vec(status_range(), 1..4),
        option::of(text()),
    )
        .prop_map(|(method, path, host, expect, body_contains)| {
            CheckKind::Http(HttpCheck {
                method,
                path,
                host,
                expect,
                body_contains,
            })
        });
    let step = prop_oneof![
        text().prop_map(|text| ScriptStep::Send(text.into_bytes())),
        text().prop_map(|text| ScriptStep::Expect(text.into_bytes())),
    ];
    prop_oneof![
        Just(CheckKind::Tcp),
        Just(CheckKind::Http(HttpCheck::default())),
        http,
        Just(CheckKind::Mysql),
        option::of(any::<String>()).prop_map(|password| CheckKind::Redis { password }),
        vec(step, 1..4).prop_map(CheckKind::Script),
    ]
}

fn check() -> impl Strategy<Value = Check> {
    let timing = (
        duration(),
        option::of(duration()),
        option::of(duration()),
        duration(),
    );
    let counts = (
        1u32..10,
        1u32..10,
        option::of(1u16..),
        any::<bool>(),
        option::of(1u32..9),
    );
    (check_kind(), timing, counts).prop_map(
        |(kind, (interval, fast, down, timeout), (rise, fall, port, down_first, observe))| Check {
            kind,
            interval,
            fast_interval: fast.unwrap_or(interval),
            down_interval: down.unwrap_or(interval),
            rise,
            fall,
            timeout,
            port,
            initial: if down_first {
                InitialState::Down
            } else {
                InitialState::Up
            },
            observe_failures: observe,
        },
    )
}

fn persistence() -> impl Strategy<Value = Persistence> {
    prop_oneof![
        Just(Persistence::None),
        (duration(), 1usize..100_000, 0u8..=32, 0u8..=128).prop_map(
            |(timeout, size, netmask_v4, netmask_v6)| Persistence::SourceIp {
                timeout,
                size,
                netmask_v4,
                netmask_v6,
            }
        ),
        (
            name(),
            any::<(bool, bool)>(),
            option::of(duration()),
            option::of(duration())
        )
            .prop_map(|(name, (indirect, nocache), max_idle, max_life)| {
                Persistence::Cookie {
                    name,
                    indirect,
                    nocache,
                    max_idle,
                    max_life,
                }
            }),
        any::<bool>().prop_map(|clear_on_drain| Persistence::LastSuccessful { clear_on_drain }),
    ]
}

fn server() -> impl Strategy<Value = Server> {
    let state = prop_oneof![
        Just(AdminState::Ready),
        Just(AdminState::Drain),
        Just(AdminState::Maintenance)
    ];
    (ip(), 1u16.., 0u16..=256, any::<bool>(), state).prop_map(
        |(ip, port, weight, backup, admin)| Server {
            id: ServerId(0),
            name: String::new(),
            address: SocketAddr::new(ip, port),
            weight,
            backup,
            admin,
        },
    )
}

fn keepalive() -> impl Strategy<Value = Option<KeepAlive>> {
    option::of(prop_oneof![
        Just(KeepAlive::default()),
        (duration(), duration(), 1u32..20).prop_map(|(idle, interval, count)| KeepAlive {
            idle,
            interval,
            count,
        })
    ])
}

fn path_match() -> impl Strategy<Value = PathMatch> {
    prop_oneof![
        text().prop_map(PathMatch::Exact),
        text().prop_map(PathMatch::Prefix),
        "[a-z/^$()*.]{0,12}".prop_filter_map("valid regex", |p| {
            PathRegex::new(&p).ok().map(PathMatch::Regex)
        }),
    ]
}

fn http_options() -> impl Strategy<Value = HttpOptions> {
    let value = "[ -~\t\u{80}-\u{10ffff}]{0,20}";
    let rule = prop_oneof![
        (name(), value).prop_map(|(name, value)| HeaderRule::Add { name, value }),
        (name(), value).prop_map(|(name, value)| HeaderRule::Set { name, value }),
        name().prop_map(|name| HeaderRule::Delete { name }),
    ];
    let rewrite =
        (path_match(), any::<String>()).prop_map(|(path, replace)| PathRewrite { path, replace });
    let target = prop_oneof![
        option::of(1u16..).prop_map(|port| RedirectTarget::Https { port }),
        value.prop_map(RedirectTarget::Location),
    ];
    let redirect = (
        path_match(),
        target,
        proptest::sample::select(Redirect::STATUSES.to_vec()),
    )
        .prop_map(|(path, to, status)| Redirect { path, to, status });
    (
        vec((ip(), 0u8..=32), 0..3),
        option::of(any::<u128>()),
        vec(rule.clone(), 0..3),
        vec(rule, 0..3),
        vec(rewrite, 0..3),
        vec(redirect, 0..3),
        (HeadLimits::BYTES, HeadLimits::FIELDS),
    )
        .prop_map(
            |(
                networks,
                cookie_secret,
                request_headers,
                response_headers,
                rewrites,
                redirects,
                (max_bytes, max_fields),
            )| {
                HttpOptions {
                    trusted_forwarders: networks
                        .into_iter()
                        .filter_map(|(ip, prefix)| Network::new(ip, prefix))
                        .collect(),
                    cookie_secret,
                    request_headers,
                    response_headers,
                    rewrites,
                    redirects,
                    head_limits: HeadLimits {
                        max_bytes,
                        max_fields,
                    },
                }
            },
        )
}

/// Certificates, and ALPN protocols unless the mode's default applies.
fn tls() -> impl Strategy<Value = (Vec<CertificatePaths>, Option<Vec<String>>)> {
    let file = "[a-z0-9/._ -]{1,20}".prop_map(PathBuf::from);
    let certificate = (file.clone(), file).prop_map(|(cert, key)| CertificatePaths { cert, key });
    (vec(certificate, 1..3), option::of(vec("[ -~]{1,12}", 0..3)))
}

/// TLS to servers, ALPN protocols unless the mode's default applies (`http/1.1` alone is
/// kept on http VIPs).
fn server_tls() -> impl Strategy<Value = (ServerTls, Option<Vec<String>>)> {
    let file = "[a-z0-9/._ -]{1,20}".prop_map(PathBuf::from);
    let certificate =
        (file.clone(), file.clone()).prop_map(|(cert, key)| CertificatePaths { cert, key });
    let server_name = prop_oneof![
        "[a-z0-9-]{1,10}(\\.[a-z0-9_-]{1,10}){0,3}",
        ip().prop_map(|ip| ip.to_string()),
    ];
    let protocols = option::of(vec(
        proptest::sample::select(vec!["http/1.1", "x-other"]),
        0..3,
    ));
    (
        (option::of(file), any::<bool>()),
        option::of(server_name),
        option::of(certificate),
        protocols,
    )
        .prop_filter("verify needs a ca", |((ca, verify), ..)| {
            ca.is_some() || !verify
        })
        .prop_map(|((ca, verify), server_name, client_certificate, alpn)| {
            let tls = ServerTls {
                ca,
                server_name,
                verify,
                client_certificate,
                alpn: Vec::new(),
            };
            let alpn = alpn.map(|list| list.into_iter().map(str::to_owned).collect());
            (tls, alpn)
        })
}

fn vip() -> impl Strategy<Value = Vip> {
    let modes = (
        any::<bool>(),
        proptest::sample::select(SchedulerKind::ALL.to_vec()),
        http_options(),
        (option::of(tls()), option::of(server_tls())),
    );
    let timeouts = vec(duration(), 5).prop_flat_map(|d| {
        prop_oneof![Just(Duration::ZERO), duration()].prop_map(move |queue| Timeouts {
            connect: d[0],
            client: d[1],
            server: d[2],
            tunnel: d[3],
            queue,
            http_request: d[4],
        })
    });
    let limits = (any::<u32>(), 1u32.., any::<bool>());
    let transport = (
        option::of(prop_oneof![Just(ProxyVersion::V1), Just(ProxyVersion::V2)]),
        vec((ip(), 0u8..=32), 0..3),
        option::of(prop_oneof![
            ip().prop_map(Source::Address),
            Just(Source::Client)
        ]),
        keepalive(),
        keepalive(),
    );
    (
        modes,
        persistence(),
        check(),
        timeouts,
        limits,
        vec(server(), 1..5),
        transport,
    )
        .prop_map(
            |(
                (http, scheduler, options, (tls, server_tls)),
                persistence,
                check,
                timeouts,
                limits,
                servers,
                transport,
            )| {
                let (retries, max_connections, shutdown_sessions_on_down) = limits;
                let (send_proxy, networks, source, client_keepalive, server_keepalive) = transport;
                let cookie = matches!(persistence, Persistence::Cookie { .. });
                let mut vip = Vip::new("", SocketAddr::from(([192, 0, 2, 10], 1)));
                vip.mode = if http || cookie {
                    Mode::Http
                } else {
                    Mode::Tcp
                };
                vip.scheduler = scheduler;
                vip.persistence = persistence;
                vip.check = check;
                vip.timeouts = timeouts;
                vip.retries = retries;
                vip.max_connections = max_connections;
                vip.shutdown_sessions_on_down = shutdown_sessions_on_down;
                vip.servers = servers;
                if vip.mode == Mode::Tcp {
                    // Sending the PROXY protocol is valid on tcp VIPs only.
                    vip.send_proxy = send_proxy;
                }
                vip.accept_proxy_from = networks
                    .into_iter()
                    .filter_map(|(ip, prefix)| Network::new(ip, prefix))
                    .collect();
                vip.source = source;
                if source == Some(Source::Client) && vip.accept_proxy_from.is_empty() {
                    // The VIPs listen on IPv4: so must the servers a client's address reaches.
                    for server in &mut vip.servers {
                        if server.address.is_ipv6() {
                            server.address.set_ip([192, 0, 2, 11].into());
                        }
                    }
                }
                vip.client_keepalive = client_keepalive;
                vip.server_keepalive = server_keepalive;
                vip.http = options;
                vip.tls = tls.map(|(certificates, alpn)| TlsSettings {
                    certificates,
                    alpn: alpn.unwrap_or_else(|| TlsSettings::default_alpn(vip.mode)),
                });
                vip.server_tls = server_tls.map(|(tls, alpn)| {
                    let mut alpn = alpn.unwrap_or_else(|| ServerTls::default_alpn(vip.mode));
                    if vip.mode == Mode::Http {
                        alpn.retain(|protocol| protocol == "http/1.1");
                    }
                    ServerTls { alpn, ..tls }
                });
                vip
            },
        )
}

/// A valid `[cluster]` on 10.79.0.0/24, away from the VIPs' and the admin's addresses.
fn cluster() -> impl Strategy<Value = Cluster> {
    let tables = prop_oneof![
        Just(Table::ALL.to_vec()),
        proptest::sample::subsequence(Table::ALL.to_vec(), 0..=3).prop_shuffle(),
    ];
    let vrrp = (
        "[a-z][a-z0-9.]{0,14}",
        1u8..,
        1u8..=254,
        1u64..=4095,
        any::<bool>(),
        1u8..=250,
    )
        .prop_map(|(interface, router_id, priority, steps, v6, host)| {
            let (src, peer): (IpAddr, IpAddr) = if v6 {
                (
                    [0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(host)].into(),
                    "2001:db8::ff".parse().unwrap(),
                )
            } else {
                ([10, 77, 0, host].into(), [10, 77, 0, 255].into())
            };
            let mut vrrp = Vrrp::new(interface, router_id, src, peer);
            vrrp.priority = priority;
            vrrp.advert_interval = Duration::from_millis(10 * steps);
            vrrp
        });
    (
        name(),
        1u16..,
        "[a-z./]{1,12}",
        tables,
        duration(),
        any::<bool>(),
        option::of(vrrp),
    )
        .prop_map(|(name, port, secret, tables, sync_timeout, close, vrrp)| {
            let peer = Peer {
                name: format!("{name}-b"),
                address: SocketAddr::from(([10, 79, 0, 2], port)),
            };
            let listen = SocketAddr::from(([10, 79, 0, 1], port));
            let mut cluster = Cluster::new(format!("{name}-a"), listen, peer, secret);
            cluster.tables = tables;
            cluster.sync_timeout = sync_timeout;
            cluster.close_sessions_on_vip_loss = close;
            cluster.vrrp = vrrp;
            cluster
        })
}

/// Valid configurations: names and listen addresses are made unique, ids follow the order.
fn config() -> impl Strategy<Value = Config> {
    let global = (1u32.., duration()).prop_map(|(max_connections, shutdown_timeout)| Global {
        max_connections,
        shutdown_timeout,
    });
    let admin = option::of(
        (1u16..1000, option::of("[a-z./]{1,12}")).prop_map(|(port, file)| Admin {
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            token_file: file.map(PathBuf::from),
        }),
    );
    let parts = (
        global,
        admin,
        vec((name(), vip()), 0..4),
        option::of(cluster()),
    );
    parts.prop_map(|(global, admin, vips, mut cluster)| {
        let vips = vips
            .into_iter()
            .enumerate()
            .map(|(index, (name, mut vip))| {
                vip.name = format!("{name}{index}");
                let port = 1000 + 10 * u16::try_from(index).unwrap();
                vip.listen = vec![SocketAddr::from(([192, 0, 2, 10], port))];
                for (slot, server) in vip.servers.iter_mut().enumerate() {
                    server.id = ServerId(u32::try_from(slot).unwrap());
                    server.name = format!("s{slot}");
                }
                vip
            })
            .collect();
        if let (Some(cluster), None) = (&mut cluster, &admin) {
            // keepalived's check script needs the admin listener.
            cluster.vrrp = None;
        }
        Config {
            global,
            admin,
            vips,
            cluster,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn to_toml_then_parse_gives_the_same_config(config in config()) {
        prop_assert_eq!(validate(&config), vec![]);
        let text = to_toml(&config);
        let read = parse("written.toml", &text);
        prop_assert_eq!(read.as_ref().err().map(ToString::to_string), None, "{}", text);
        prop_assert_eq!(read.unwrap(), config);
    }
}

#[test]
fn the_contract_example_survives_a_round_trip() {
    let config = parse("contract.toml", include_str!("data/contract.toml")).unwrap();
    let text = to_toml(&config);
    assert_eq!(parse("written.toml", &text).unwrap(), config);
    assert!(text.contains("[[vip]]\nname = \"mysql\"\nlisten = [\"192.0.2.10:3306\"]\n"));
    assert!(text.contains("  { name = \"controller-0\", address = \"192.0.2.11:3306\" },\n"));
}

#[test]
fn the_cluster_is_written_before_the_vips_with_only_what_differs_from_the_defaults() {
    let text = r#"[admin]
listen = "127.0.0.1:9900"

[cluster]
node = "lb1"
listen = "10.79.0.1:7440"
peer = { name = "lb2", address = "10.79.0.2:7440" }
secret_file = "/etc/lb/cluster.key"
tables = []
close_sessions_on_vip_loss = false

[cluster.vrrp]
interface = "eth0"
router_id = 51
advert_interval = "200ms"
src_address = "10.77.0.11"
peer_address = "10.77.0.12"

[[vip]]
name = "web"
listen = ["10.77.0.100:80"]
servers = [
  { name = "a", address = "10.78.0.21:80" },
]
"#;
    let config = parse("lb.toml", text).unwrap();
    assert_eq!(to_toml(&config), text);
}
