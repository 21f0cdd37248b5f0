//! Golden files of the output, and each refusal.

use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::cluster::{Cluster, Peer};
use crate::model::{Admin, Server, ServerId, Vip};

fn vip(name: &str, listen: &[&str]) -> Vip {
    let listen: Vec<SocketAddr> = listen.iter().map(|a| a.parse().unwrap()).collect();
    let mut vip = Vip::new(name, listen[0]);
    vip.listen = listen;
    let server = SocketAddr::from(([10, 78, 0, 21], 80));
    vip.servers = vec![Server::new(ServerId(0), "be1", server)];
    vip
}

/// Node `lb1` of a pair with a MariaDB and a web VIP (the web one on IPv4 and IPv6).
fn config() -> Config {
    let peer = Peer {
        name: "lb2".to_owned(),
        address: "10.79.0.2:7440".parse().unwrap(),
    };
    let mut cluster = Cluster::new(
        "lb1",
        "10.79.0.1:7440".parse().unwrap(),
        peer,
        "/etc/lb/cluster.key",
    );
    let mut vrrp = Vrrp::new(
        "eth0",
        51,
        "10.77.0.11".parse().unwrap(),
        "10.77.0.12".parse().unwrap(),
    );
    vrrp.priority = 150;
    vrrp.advert_interval = Duration::from_millis(200);
    cluster.vrrp = Some(vrrp);
    Config {
        admin: Some(Admin::default()),
        vips: vec![
            vip("mysql", &["10.77.0.100:3306"]),
            vip(
                "web",
                &["10.77.0.100:80", "10.77.0.101:80", "[2001:db8::100]:80"],
            ),
            vip("local", &["127.0.0.1:8080", "0.0.0.0:8081"]),
        ],
        cluster: Some(cluster),
        ..Config::default()
    }
}

fn options() -> KeepalivedOptions {
    KeepalivedOptions {
        lb_binary: "/usr/bin/lb".into(),
        config_file: "/etc/lb/lb.toml".into(),
        net_namespace: None,
        script_user: "root".to_owned(),
        version: KeepalivedVersion::DEBIAN_12,
    }
}

#[test]
fn the_output_for_debian_12s_keepalived_is_the_golden_file() {
    assert_eq!(crate::model::validate(&config()), vec![]);
    let rendered = render(&config(), &options()).unwrap();
    assert_eq!(rendered, include_str!("debian12.conf"), "\n{rendered}");
}

#[test]
fn newer_keepalived_and_a_namespace_change_only_their_lines() {
    let mut options = options();
    options.net_namespace = Some("lb1".to_owned());
    options.version = KeepalivedVersion::new(2, 4, 0);
    let rendered = render(&config(), &options).unwrap();
    assert_eq!(
        rendered,
        include_str!("newer_in_namespace.conf"),
        "\n{rendered}"
    );
}

#[test]
fn ipv6_adverts_announce_the_ipv6_vips() {
    let mut config = config();
    let vrrp = config.cluster.as_mut().unwrap().vrrp.as_mut().unwrap();
    vrrp.src_address = "2001:db8::11".parse().unwrap();
    vrrp.peer_address = "2001:db8::12".parse().unwrap();
    let rendered = render(&config, &options()).unwrap();
    let announced = "    virtual_ipaddress {\n        2001:db8::100/128 dev eth0\n    }\n";
    assert!(rendered.contains(announced), "{rendered}");
    let excluded = "    virtual_ipaddress_excluded {\n        10.77.0.100/32 dev eth0\n        \
                    10.77.0.101/32 dev eth0\n    }\n";
    assert!(rendered.contains(excluded), "{rendered}");
}

#[test]
fn a_wildcard_admin_listener_is_asked_on_loopback() {
    let mut config = config();
    config.admin = Some(Admin {
        listen: "[::]:9901".parse().unwrap(),
        token_file: None,
    });
    let rendered = render(&config, &options()).unwrap();
    assert!(rendered.contains("script \"/usr/bin/lb ctl --admin [::1]:9901 health\""));
}

#[test]
fn refusals_say_what_is_missing() {
    let mut no_vrrp = config();
    no_vrrp.cluster.as_mut().unwrap().vrrp = None;
    assert_eq!(render(&no_vrrp, &options()), Err(RenderError::NoVrrp));
    let mut alone = config();
    alone.cluster = None;
    assert_eq!(render(&alone, &options()), Err(RenderError::NoVrrp));
    let mut no_admin = config();
    no_admin.admin = None;
    assert_eq!(render(&no_admin, &options()), Err(RenderError::NoAdmin));
    let mut local = config();
    local.vips.truncate(0);
    local
        .vips
        .push(vip("local", &["127.0.0.1:8080", "[2001:db8::100]:80"]));
    let error = render(&local, &options()).unwrap_err();
    assert_eq!(error, RenderError::NoAddress { family: "IPv4" });
    assert!(
        error
            .to_string()
            .starts_with("no VIP listens on an IPv4 address")
    );
    let mut spaced = options();
    spaced.config_file = "/etc/my lb/lb.toml".into();
    let error = render(&config(), &spaced).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the configuration file `/etc/my lb/lb.toml` cannot be written in keepalived.conf: \
         use letters, digits and `/._-+:@,=~%` only"
    );
}

#[test]
fn versions_read_from_the_banner() {
    let banner = "Keepalived v2.2.7 (01/16,2022)\n\nCopyright(C) 2001-2022 Alexandre Cassen";
    assert_eq!(
        KeepalivedVersion::from_banner(banner),
        Some(KeepalivedVersion::DEBIAN_12)
    );
    assert_eq!(
        KeepalivedVersion::from_banner("Keepalived v2.3"),
        Some(KeepalivedVersion::new(2, 3, 0))
    );
    assert_eq!(
        KeepalivedVersion::from_banner("keepalived: not found"),
        None
    );
    assert!(KeepalivedVersion::new(2, 3, 2) > KeepalivedVersion::DEBIAN_12);
    assert_eq!(KeepalivedVersion::DEBIAN_12.to_string(), "2.2.7");
}

#[test]
fn advert_intervals_are_written_in_seconds() {
    for (ms, text) in [
        (1000, "1"),
        (200, "0.2"),
        (10, "0.01"),
        (40_950, "40.95"),
        (1500, "1.5"),
    ] {
        assert_eq!(seconds(Duration::from_millis(ms)), text);
    }
}
