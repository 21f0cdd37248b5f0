//! The file shape of the contract reads into the model with the documented defaults, and
//! `[defaults]` is inherited key by key.

use std::net::SocketAddr;
use std::time::Duration;

use lb_core::config::parse;
use lb_core::model::{
    AdminState, CheckKind, Config, InitialState, KeepAlive, Mode, Network, Persistence,
    ProxyVersion, SchedulerKind, ScriptStep, ServerId, ServerTls, Source, StatusRange, Vip,
};

fn read(text: &str) -> Config {
    parse("lb.toml", text).unwrap_or_else(|errors| panic!("{errors}"))
}

fn one_vip(keys: &str) -> Vip {
    let text = format!(
        "[[vip]]\nname = \"web\"\nlisten = \"192.0.2.10:80\"\n{keys}\n\
         servers = [{{ name = \"a\", address = \"192.0.2.11:80\" }}]\n"
    );
    read(&text).vips.remove(0)
}

#[test]
fn the_contract_example_reads_as_documented() {
    let config = read(include_str!("data/contract.toml"));
    let admin = config.admin.expect("an admin listener");
    assert_eq!(admin.listen, SocketAddr::from(([127, 0, 0, 1], 9900)));
    assert_eq!(config.global.max_connections, 20_480);
    let mysql = &config.vips[0];
    assert_eq!(mysql.scheduler, SchedulerKind::First);
    assert_eq!(
        mysql.persistence,
        Persistence::LastSuccessful {
            clear_on_drain: false
        }
    );
    let CheckKind::Http(http) = &mysql.check.kind else {
        panic!("an http check")
    };
    assert_eq!(
        http.expect,
        [StatusRange {
            low: 200,
            high: 200
        }]
    );
    assert_eq!(mysql.check.port, Some(9200));
    assert_eq!(mysql.check.interval, Duration::from_secs(1));
    assert_eq!(
        mysql.check.fast_interval,
        Duration::from_secs(1),
        "follows interval"
    );
    assert_eq!((mysql.check.rise, mysql.check.fall), (2, 5));
    assert_eq!(mysql.timeouts.client, Duration::from_secs(90 * 60));
    assert_eq!(mysql.timeouts.connect, Duration::from_secs(10));
    assert!(mysql.shutdown_sessions_on_down);
    let ids: Vec<ServerId> = mysql.servers.iter().map(|server| server.id).collect();
    assert_eq!(
        ids,
        [ServerId(0), ServerId(1)],
        "ids follow the order in the file"
    );
}

#[test]
fn a_bare_vip_has_the_model_defaults() {
    let vip = one_vip("");
    let mut expected = Vip::new("web", SocketAddr::from(([192, 0, 2, 10], 80)));
    expected.servers = vip.servers.clone();
    assert_eq!(vip, expected);
    assert!(read("").vips.is_empty());
}

#[test]
fn defaults_are_inherited_key_by_key() {
    let text = r#"
[defaults]
connect_timeout = "3s"
retries = 1
check = { interval = "5s", rise = 4, port = 9000 }
[[vip]]
name = "own"
listen = ["192.0.2.10:80"]
retries = 7
check = { kind = "redis", rise = 1 }
servers = [{ name = "a", address = "192.0.2.11:80" }]
[[vip]]
name = "inherits"
listen = ["192.0.2.10:81"]
servers = [{ name = "a", address = "192.0.2.11:81" }]
"#;
    let config = read(text);
    let (own, inherits) = (&config.vips[0], &config.vips[1]);
    assert_eq!(own.retries, 7);
    assert_eq!(inherits.retries, 1);
    assert_eq!(own.timeouts.connect, Duration::from_secs(3));
    assert_eq!(own.check.kind, CheckKind::Redis { password: None });
    assert_eq!(
        (own.check.rise, own.check.interval),
        (1, Duration::from_secs(5))
    );
    assert_eq!(own.check.port, Some(9000));
    assert_eq!(inherits.check.kind, CheckKind::Tcp);
    assert_eq!(inherits.check.rise, 4);
    assert_eq!(inherits.check.down_interval, Duration::from_secs(5));
}

#[test]
fn every_check_kind_reads_its_keys() {
    let http = one_vip(
        r#"check = { kind = "http", method = "HEAD", path = "/healthcheck", host = "api",
                     expect = ["2xx", 404, "500-503"], body = "OK", initial = "down",
                     observe_failures = 3, down_interval = "10s" }"#,
    );
    let CheckKind::Http(check) = &http.check.kind else {
        panic!("an http check")
    };
    assert_eq!(
        (check.method.as_str(), check.path.as_str()),
        ("HEAD", "/healthcheck")
    );
    assert_eq!(check.host.as_deref(), Some("api"));
    assert_eq!(check.body_contains.as_deref(), Some("OK"));
    let ranges: Vec<(u16, u16)> = check.expect.iter().map(|r| (r.low, r.high)).collect();
    assert_eq!(ranges, [(200, 299), (404, 404), (500, 503)]);
    assert_eq!(http.check.initial, InitialState::Down);
    assert_eq!(http.check.observe_failures, Some(3));
    assert_eq!(http.check.down_interval, Duration::from_secs(10));
    assert_eq!(http.check.fast_interval, Duration::from_secs(2));

    let script = one_vip(
        r#"check = { kind = "script", steps = [{ send = "PING\r\n" }, { expect = "+PONG" }] }"#,
    );
    assert_eq!(
        script.check.kind,
        CheckKind::Script(vec![
            ScriptStep::Send(b"PING\r\n".to_vec()),
            ScriptStep::Expect(b"+PONG".to_vec()),
        ])
    );
    let redis = one_vip(r#"check = { kind = "redis", password = "s3cret" }"#);
    assert_eq!(
        redis.check.kind,
        CheckKind::Redis {
            password: Some("s3cret".to_owned())
        }
    );
    assert_eq!(
        one_vip(r#"check = { kind = "mysql" }"#).check.kind,
        CheckKind::Mysql
    );
}

#[test]
fn every_persistence_kind_reads_its_keys() {
    let source = one_vip(
        r#"persistence = { kind = "source-ip", timeout = "10m", size = 100, netmask = 24, netmask_v6 = 64 }"#,
    );
    assert_eq!(
        source.persistence,
        Persistence::SourceIp {
            timeout: Duration::from_secs(600),
            size: 100,
            netmask_v4: 24,
            netmask_v6: 64,
        }
    );
    let cookie = one_vip(
        r#"mode = "http"
persistence = { kind = "cookie", name = "LB", indirect = false, max_idle = "30m", max_life = "12h" }"#,
    );
    assert_eq!(cookie.mode, Mode::Http);
    assert_eq!(
        cookie.persistence,
        Persistence::Cookie {
            name: "LB".to_owned(),
            indirect: false,
            nocache: true,
            max_idle: Some(Duration::from_secs(1800)),
            max_life: Some(Duration::from_secs(12 * 3600)),
        }
    );
    let sticky = one_vip(r#"persistence = { kind = "last-successful", clear_on_drain = true }"#);
    assert_eq!(
        sticky.persistence,
        Persistence::LastSuccessful {
            clear_on_drain: true
        }
    );
    assert_eq!(
        one_vip(r#"persistence = { kind = "none" }"#).persistence,
        Persistence::None
    );
}

#[test]
fn servers_and_transport_keys_read_into_the_model() {
    let text = r#"
[[vip]]
name = "web"
listen = ["192.0.2.10:80", "[2001:db8::10]:80"]
send_proxy = "v2"
accept_proxy_from = ["10.0.0.0/8", "192.0.2.7"]
source = "192.0.2.99"
client_keepalive = true
server_keepalive = { idle = "30s", count = 3 }
servers = [
  { name = "a", address = "192.0.2.11:8080", weight = 0, backup = true, state = "drain" },
  { name = "b", address = "[2001:db8::11]:8080", state = "maintenance" },
]
"#;
    let vip = read(text).vips.remove(0);
    assert_eq!(vip.listen.len(), 2);
    assert_eq!(vip.send_proxy, Some(ProxyVersion::V2));
    assert_eq!(
        vip.accept_proxy_from,
        [
            Network::parse("10.0.0.0/8").unwrap(),
            Network::parse("192.0.2.7").unwrap()
        ]
    );
    assert_eq!(
        vip.source,
        Some(Source::Address("192.0.2.99".parse().unwrap()))
    );
    assert_eq!(vip.client_keepalive, Some(KeepAlive::default()));
    assert_eq!(
        vip.server_keepalive,
        Some(KeepAlive {
            idle: Duration::from_secs(30),
            count: 3,
            ..KeepAlive::default()
        })
    );
    let (a, b) = (&vip.servers[0], &vip.servers[1]);
    assert_eq!((a.weight, a.backup, a.admin), (0, true, AdminState::Drain));
    assert_eq!(a.address.port(), 8080, "port translation");
    assert_eq!((b.id, b.admin), (ServerId(1), AdminState::Maintenance));
}

#[test]
fn source_client_reads_on_tcp_and_http_vips() {
    for mode in ["tcp", "http"] {
        let vip = one_vip(&format!("mode = \"{mode}\"\nsource = \"client\""));
        assert_eq!(vip.source, Some(Source::Client), "{mode}");
    }
    assert_eq!(
        one_vip("source = \"2001:db8::5\"").source,
        Some(Source::Address("2001:db8::5".parse().unwrap()))
    );
    assert_eq!(one_vip("").source, None);
}

#[test]
fn server_tls_reads_into_the_model_with_its_defaults() {
    let full = one_vip(
        "mode = \"http\"\nserver_tls = { ca = \"/etc/pki/ca.pem\", server_name = \"controller.internal\", \
         cert = \"client.pem\", key = \"client.key\", alpn = [] }",
    );
    let tls = full.server_tls.expect("server_tls");
    assert_eq!(tls.ca, Some("/etc/pki/ca.pem".into()));
    assert_eq!(tls.server_name.as_deref(), Some("controller.internal"));
    assert!(tls.verify, "verify defaults to true");
    let client = tls.client_certificate.expect("a client certificate");
    assert_eq!(
        (client.cert, client.key),
        ("client.pem".into(), "client.key".into())
    );
    assert!(tls.alpn.is_empty());
    for (mode, alpn) in [("http", vec!["http/1.1"]), ("tcp", vec![])] {
        let vip = one_vip(&format!(
            "mode = \"{mode}\"\nserver_tls = {{ ca = \"ca.pem\" }}"
        ));
        let tls = vip.server_tls.expect("server_tls");
        assert_eq!(tls, ServerTls::verified("ca.pem", vip.mode));
        assert_eq!(tls.alpn, alpn, "{mode}");
    }
    let insecure = one_vip("server_tls = { verify = false }")
        .server_tls
        .unwrap();
    assert_eq!((insecure.verify, insecure.ca), (false, None));
    assert_eq!(one_vip("").server_tls, None);
}
