//! The profile against the reference table of `shared/openstack-profile.md`, written here a
//! second time in plain strings so a slip in the service table cannot hide.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::*;
use crate::model::{
    CheckKind, InitialState, KeepAlive, Mode, Persistence, Source, format_duration, validate,
};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn three_controllers() -> OpenstackInput {
    OpenstackInput::new(
        ip(10),
        vec![
            ("controller-0".to_owned(), ip(11)),
            ("controller-1".to_owned(), ip(12)),
            ("controller-2".to_owned(), ip(13)),
        ],
    )
}

fn profile(input: &OpenstackInput) -> Config {
    openstack(input).expect("a valid input makes a profile")
}

/// A check in a few words: `tcp`, `GET /healthcheck 200-399`, `GET / 200 on 9200`, `redis`.
fn describe(check: &Check) -> String {
    let probe = match &check.kind {
        CheckKind::Http(http) => {
            let expect: Vec<String> = http
                .expect
                .iter()
                .map(|range| match range.low == range.high {
                    true => range.low.to_string(),
                    false => format!("{}-{}", range.low, range.high),
                })
                .collect();
            format!("{} {} {}", http.method, http.path, expect.join(","))
        }
        other => other.as_str().to_owned(),
    };
    match check.port {
        Some(port) => format!("{probe} on {port}"),
        None => probe,
    }
}

/// name, port, mode, scheduler, persistence, check, client/server idle timeout.
#[rustfmt::skip]
const REFERENCE: [(&str, u16, &str, &str, &str, &str, &str); 23] = [
    ("aodh",               8042,  "tcp",  "round-robin",       "none",            "GET /healthcheck 200-399", "2m"),
    ("ceilometer",         8777,  "tcp",  "round-robin",       "none",            "tcp",                      "2m"),
    ("cinder",             8776,  "tcp",  "least-connections", "none",            "GET /healthcheck 200-399", "2m"),
    ("glance_api",         9292,  "tcp",  "round-robin",       "none",            "GET /healthcheck 200-399", "2m"),
    ("glance_registry",    9191,  "tcp",  "round-robin",       "none",            "tcp",                      "2m"),
    ("gnocchi",            8041,  "tcp",  "round-robin",       "none",            "GET / 200-499",            "2m"),
    ("heat_api",           8004,  "tcp",  "least-connections", "none",            "GET /healthcheck 200-399", "10m"),
    ("heat_cfn",           8000,  "tcp",  "least-connections", "none",            "GET /healthcheck 200-399", "10m"),
    ("heat_cloudwatch",    8003,  "tcp",  "least-connections", "none",            "GET / 200-399",            "10m"),
    ("horizon",            80,    "http", "round-robin",       "cookie",          "GET / 200-399",            "2m"),
    ("keystone_admin",     35357, "tcp",  "round-robin",       "none",            "GET /healthcheck 200-399", "2m"),
    ("keystone_admin_ssh", 22,    "tcp",  "round-robin",       "none",            "tcp",                      "12h"),
    ("keystone_public",    5000,  "tcp",  "round-robin",       "none",            "GET /healthcheck 200-399", "2m"),
    ("mysql",              3306,  "tcp",  "first",             "last-successful", "GET / 200 on 9200",        "90m"),
    ("neutron",            9696,  "tcp",  "least-connections", "none",            "GET /healthcheck 200-399", "10m"),
    ("nova_ec2",           8773,  "tcp",  "round-robin",       "none",            "tcp",                      "2m"),
    ("nova_metadata",      8775,  "tcp",  "source-hash",       "none",            "GET / 200-399",            "2m"),
    ("nova_novncproxy",    6080,  "tcp",  "source-hash",       "source-ip",       "tcp",                      "1h"),
    ("nova_osapi",         8774,  "tcp",  "round-robin",       "none",            "GET / 200-399",            "2m"),
    ("nova_placement",     8778,  "tcp",  "round-robin",       "none",            "GET / 200-399",            "2m"),
    ("panko",              8779,  "tcp",  "round-robin",       "none",            "tcp",                      "2m"),
    ("redis",              6379,  "tcp",  "first",             "last-successful", "redis",                    "90m"),
    ("swift_proxy_server", 8080,  "tcp",  "least-connections", "none",            "GET /healthcheck 200-399", "2m"),
];

#[test]
fn every_vip_matches_the_reference_table() {
    let config = profile(&three_controllers());
    let actual: Vec<_> = config
        .vips
        .iter()
        .map(|vip| {
            assert_eq!(vip.listen.len(), 1, "{} listens once", vip.name);
            assert_eq!(vip.timeouts.client, vip.timeouts.server, "{}", vip.name);
            (
                vip.name.as_str(),
                vip.listen[0].port(),
                vip.mode.as_str(),
                vip.scheduler.as_str(),
                vip.persistence.kind_name(),
                describe(&vip.check),
                format_duration(vip.timeouts.client),
            )
        })
        .collect();
    let expected: Vec<_> = REFERENCE
        .iter()
        .map(|&(name, port, mode, scheduler, persistence, check, idle)| {
            (
                name,
                port,
                mode,
                scheduler,
                persistence,
                check.to_owned(),
                idle.to_owned(),
            )
        })
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn every_vip_has_one_server_per_controller_on_the_vip_port() {
    let input = three_controllers();
    for vip in profile(&input).vips {
        assert_eq!(
            vip.listen,
            vec![SocketAddr::new(input.vip, vip.listen[0].port())]
        );
        let servers: Vec<_> = vip
            .servers
            .iter()
            .map(|server| {
                (
                    server.id,
                    server.name.as_str(),
                    server.address,
                    server.backup,
                )
            })
            .collect();
        let expected: Vec<_> = input
            .controllers
            .iter()
            .zip(0..)
            .map(|((name, address), id)| {
                let address = SocketAddr::new(*address, vip.listen[0].port());
                (ServerId(id), name.as_str(), address, false)
            })
            .collect();
        assert_eq!(servers, expected, "servers of {}", vip.name);
        assert!(
            vip.servers
                .iter()
                .all(|s| s.weight == Server::DEFAULT_WEIGHT)
        );
    }
}

#[test]
fn the_port_offset_shifts_listen_server_and_check_ports() {
    let base = profile(&three_controllers());
    let shifted = profile(&OpenstackInput {
        port_offset: 10_000,
        ..three_controllers()
    });
    for (before, after) in base.vips.iter().zip(&shifted.vips) {
        assert_eq!(after.listen[0].port(), before.listen[0].port() + 10_000);
        for (server_before, server_after) in before.servers.iter().zip(&after.servers) {
            assert_eq!(
                server_after.address.port(),
                server_before.address.port() + 10_000
            );
        }
        assert_eq!(
            after.check.port,
            before.check.port.map(|port| port + 10_000)
        );
    }
    let mysql = shifted.vips.iter().find(|vip| vip.name == "mysql").unwrap();
    assert_eq!(mysql.listen[0].port(), 13_306);
    assert_eq!(mysql.check.port, Some(19_200));
}

#[test]
fn defaults_behind_every_vip_are_tripleo_s() {
    let config = profile(&three_controllers());
    assert_eq!(config.global.max_connections, 20_480);
    for vip in &config.vips {
        let check = &vip.check;
        let every = if vip.name == "mysql" { 1 } else { 2 };
        let every = Duration::from_secs(every);
        assert_eq!(
            (check.interval, check.fast_interval, check.down_interval),
            (every, every, every)
        );
        assert_eq!((check.rise, check.fall), (2, 5), "{}", vip.name);
        assert_eq!(check.timeout, Duration::from_secs(10));
        assert_eq!(vip.timeouts.connect, Duration::from_secs(10));
        assert_eq!(vip.timeouts.queue, Duration::from_secs(120));
        assert_eq!(vip.timeouts.http_request, Duration::from_secs(10));
        assert_eq!(vip.timeouts.tunnel, Duration::from_secs(3600));
        assert_eq!((vip.retries, vip.max_connections), (3, 4096));
    }
}

#[test]
fn only_the_single_writers_start_down_and_close_sessions_of_a_down_server() {
    for vip in profile(&three_controllers()).vips {
        let writer = vip.name == "mysql" || vip.name == "redis";
        let initial = if writer {
            InitialState::Down
        } else {
            InitialState::Up
        };
        assert_eq!(vip.check.initial, initial, "{}", vip.name);
        assert_eq!(vip.shutdown_sessions_on_down, writer, "{}", vip.name);
        if writer {
            assert_eq!(
                vip.persistence,
                Persistence::LastSuccessful {
                    clear_on_drain: false
                }
            );
        }
    }
}

#[test]
fn horizon_sessions_stick_by_an_inserted_serverid_cookie() {
    let config = profile(&three_controllers());
    let horizon = config
        .vips
        .iter()
        .find(|vip| vip.name == "horizon")
        .unwrap();
    assert_eq!(horizon.mode, Mode::Http);
    let Persistence::Cookie {
        name,
        indirect,
        nocache,
        ..
    } = &horizon.persistence
    else {
        panic!("horizon uses cookie persistence");
    };
    assert_eq!(
        (name.as_str(), *indirect, *nocache),
        ("SERVERID", true, true)
    );
}

#[test]
fn the_redis_check_authenticates_when_a_password_is_given() {
    let redis_kind = |input: &OpenstackInput| {
        let config = profile(input);
        config
            .vips
            .into_iter()
            .find(|vip| vip.name == "redis")
            .unwrap()
            .check
            .kind
    };
    assert_eq!(
        redis_kind(&three_controllers()),
        CheckKind::Redis { password: None }
    );
    let with_password = OpenstackInput {
        redis_password: Some("s3cret".to_owned()),
        ..three_controllers()
    };
    assert_eq!(
        redis_kind(&with_password),
        CheckKind::Redis {
            password: Some("s3cret".to_owned())
        }
    );
}

#[test]
fn a_single_controller_and_ipv6_addresses_make_a_profile() {
    let vip: IpAddr = "2001:db8::10".parse().unwrap();
    let controller: IpAddr = "2001:db8::11".parse().unwrap();
    let config = profile(&OpenstackInput::new(
        vip,
        vec![("c0".to_owned(), controller)],
    ));
    assert_eq!(config.vips.len(), 23);
    assert!(config.vips.iter().all(|vip| vip.servers.len() == 1));
    assert_eq!(config.vips[0].listen[0], SocketAddr::new(vip, 8042));
    assert_eq!(
        config.vips[0].servers[0].address,
        SocketAddr::new(controller, 8042)
    );
}

#[test]
fn bad_inputs_are_refused_with_a_reason() {
    let with_controllers = |controllers: &[(&str, u8)]| OpenstackInput {
        controllers: controllers
            .iter()
            .map(|&(name, last)| (name.to_owned(), ip(last)))
            .collect(),
        ..three_controllers()
    };
    assert_eq!(
        openstack(&with_controllers(&[])),
        Err(ProfileError::NoControllers)
    );
    assert_eq!(
        openstack(&with_controllers(&[("a", 11), ("b", 12), ("a", 13)])),
        Err(ProfileError::DuplicateController("a".to_owned()))
    );
    for bad_name in ["", "controller 1", "c/1"] {
        let Err(ProfileError::Invalid(error)) =
            openstack(&with_controllers(&[("a", 11), (bad_name, 12)]))
        else {
            panic!("`{bad_name}` cannot name a server");
        };
        assert_eq!(error.path, "vip[0].servers[1].name");
    }
    assert_eq!(
        openstack(&with_controllers(&[("a", 11), ("b", 10)])),
        Err(ProfileError::ControllerOnVip("b".to_owned()))
    );
}

#[test]
fn the_largest_port_offset_keeps_every_port_valid() {
    let largest = u16::MAX - 35_357;
    let at = |port_offset| {
        openstack(&OpenstackInput {
            port_offset,
            ..three_controllers()
        })
    };
    let config = at(largest).expect("keystone_admin lands on 65535");
    let top = config.vips.iter().map(|vip| vip.listen[0].port()).max();
    assert_eq!(top, Some(u16::MAX));
    let error = at(largest + 1).unwrap_err();
    assert_eq!(
        error,
        ProfileError::PortOverflow {
            service: "keystone_admin",
            port: 35_357,
            offset: largest + 1
        }
    );
    assert_eq!(
        error.to_string(),
        "port offset 30179 takes keystone_admin port 35357 past 65535 (the largest offset is 30178)"
    );
}

#[test]
fn only_mysql_sessions_are_kept_alive() {
    for vip in profile(&three_controllers()).vips {
        let expected = (vip.name == "mysql").then(KeepAlive::default);
        let actual = (vip.client_keepalive, vip.server_keepalive);
        assert_eq!(actual, (expected, expected), "{}", vip.name);
    }
}

#[test]
fn the_profile_passes_validation_at_every_offset_extreme() {
    for port_offset in [0, 1, 10_000, u16::MAX - 35_357] {
        let input = OpenstackInput {
            port_offset,
            ..three_controllers()
        };
        assert_eq!(validate(&profile(&input)), vec![], "offset {port_offset}");
    }
}

#[test]
fn transparency_is_set_on_the_tcp_vips_but_mysql_and_redis() {
    let plain = profile(&three_controllers());
    assert!(plain.vips.iter().all(|vip| vip.source.is_none()));
    let input = OpenstackInput {
        transparent: true,
        ..three_controllers()
    };
    let transparent = profile(&input);
    let names: Vec<&str> = transparent
        .vips
        .iter()
        .filter(|vip| vip.source == Some(Source::Client))
        .map(|vip| vip.name.as_str())
        .collect();
    let left_alone = ["horizon", "mysql", "redis"];
    let expected: Vec<&str> = REFERENCE
        .iter()
        .map(|row| row.0)
        .filter(|name| !left_alone.contains(name))
        .collect();
    assert_eq!(names, expected);
    assert_eq!(names.len(), 20);
    for (plain, transparent) in plain.vips.iter().zip(&transparent.vips) {
        let mut unset = transparent.clone();
        unset.source = None;
        assert_eq!(&unset, plain, "only `source` differs on {}", plain.name);
    }
    assert_eq!(validate(&transparent), vec![]);
}

#[test]
fn the_profile_round_trips_through_its_toml() {
    let input = OpenstackInput {
        port_offset: 20_000,
        redis_password: Some("s3cret".to_owned()),
        transparent: true,
        ..three_controllers()
    };
    let config = profile(&input);
    let text = crate::config::to_toml(&config);
    assert_eq!(
        crate::config::parse("openstack.toml", &text),
        Ok(config),
        "{text}"
    );
}
