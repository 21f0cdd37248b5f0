//! `[cluster]` and `[cluster.vrrp]` read into the model with their defaults, and their
//! mistakes are reported at the line and field that made them, like every other table's.

use std::net::SocketAddr;
use std::time::Duration;

use lb_core::cluster::{Table, Vrrp};
use lb_core::config::parse;

const ADMIN_AND_VIP: &str = r#"
[admin]
listen = "127.0.0.1:9900"
[[vip]]
name = "web"
listen = "10.77.0.100:80"
servers = [{ name = "a", address = "10.78.0.21:80" }]
"#;

/// `(line, path, message)` of each error of `text` (with an admin listener and a VIP after it).
fn errors(text: &str) -> Vec<(usize, String, String)> {
    let text = format!("{text}{ADMIN_AND_VIP}");
    parse("lb.toml", &text)
        .expect_err("the file has mistakes")
        .errors
        .into_iter()
        .map(|error| (error.line, error.path, error.message))
        .collect()
}

#[test]
fn a_pair_reads_with_its_defaults() {
    let text = r#"[cluster]
node = "lb1"
listen = "10.79.0.1:7440"
peer = { name = "lb2", address = "10.79.0.2:7440" }
secret_file = "/etc/lb/cluster.key"
[cluster.vrrp]
interface = "eth0"
router_id = 51
src_address = "10.77.0.11"
peer_address = "10.77.0.12"
"#;
    let config = parse("lb.toml", &format!("{text}{ADMIN_AND_VIP}")).unwrap();
    let cluster = config.cluster.expect("a cluster");
    assert_eq!(cluster.node, "lb1");
    assert_eq!(cluster.listen, SocketAddr::from(([10, 79, 0, 1], 7440)));
    assert_eq!(cluster.peer.name, "lb2");
    assert_eq!(cluster.tables, Table::ALL);
    assert_eq!(cluster.sync_timeout, Duration::from_secs(2));
    assert!(cluster.close_sessions_on_vip_loss);
    let vrrp = cluster.vrrp.expect("vrrp settings");
    assert_eq!(
        vrrp,
        Vrrp::new(
            "eth0",
            51,
            "10.77.0.11".parse().unwrap(),
            "10.77.0.12".parse().unwrap()
        )
    );
    assert_eq!(
        (vrrp.priority, vrrp.advert_interval),
        (100, Duration::from_secs(1))
    );
    assert_eq!(parse("lb.toml", ADMIN_AND_VIP).unwrap().cluster, None);
}

#[test]
fn tables_can_be_chosen_or_switched_off() {
    let text = r#"[cluster]
node = "lb1"
listen = "10.79.0.1:7440"
peer = { name = "lb2", address = "10.79.0.2:7440" }
secret_file = "k"
tables = ["source-ip", "last-successful"]
sync_timeout = "500ms"
close_sessions_on_vip_loss = false
"#;
    let cluster = parse("lb.toml", text).unwrap().cluster.unwrap();
    assert_eq!(cluster.tables, [Table::SourceIp, Table::LastSuccessful]);
    assert_eq!(cluster.sync_timeout, Duration::from_millis(500));
    assert!(!cluster.close_sessions_on_vip_loss);
    let off = text.replace(r#"["source-ip", "last-successful"]"#, "[]");
    assert_eq!(parse("lb.toml", &off).unwrap().cluster.unwrap().tables, []);
}

#[test]
fn missing_keys_bad_values_and_unknown_keys_name_their_line_and_field() {
    let text = r#"[cluster]
listen = "10.79.0.1:7440"
peer = { name = "lb2", adress = "10.79.0.2:7440" }
secret_file = "k"
tables = ["source-ip", "sticky"]
sync_timeout = 2
[cluster.vrrp]
interface = "eth0"
router_id = 0
priority = 255
advert_interval = "15ms"
src_address = "10.77.0.11"
peer_address = "10.77.0.11"
"#;
    let found = errors(text);
    let place = |line: usize, path: &str, message: &str| {
        assert!(
            found
                .iter()
                .any(|(l, p, m)| *l == line && p == path && m.contains(message)),
            "no `{path}: {message}` on line {line} in {found:#?}"
        );
    };
    place(1, "cluster.node", "missing required key `node`");
    place(
        3,
        "cluster.peer.adress",
        "unknown key `adress` (did you mean `address`?)",
    );
    place(3, "cluster.peer.address", "missing required key `address`");
    place(5, "cluster.tables[1]", "sticky");
    place(6, "cluster.sync_timeout", "expected a string");
    place(9, "cluster.vrrp.router_id", "0 is out of range (1-255)");
    place(10, "cluster.vrrp.priority", "255 is out of range (1-254)");
    place(11, "cluster.vrrp.advert_interval", "in steps of 10ms");
    place(
        13,
        "cluster.vrrp.peer_address",
        "must differ from `src_address`",
    );
    assert_eq!(found.len(), 9, "{found:#?}");
}

#[test]
fn unknown_keys_of_the_cluster_and_vrrp_tables_are_refused() {
    let text = r#"[cluster]
node = "lb1"
listen = "10.79.0.1:7440"
peer = { name = "lb2", address = "10.79.0.2:7440" }
secret_file = "k"
transport = "tls"
[cluster.vrrp]
interface = "eth0"
router_id = 51
src_address = "10.77.0.11"
peer_address = "10.77.0.12"
preempt = true
"#;
    let found = errors(text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!((found[0].0, found[0].1.as_str()), (6, "cluster.transport"));
    assert!(found[0].2.starts_with("unknown key `transport`"));
    assert_eq!(
        (found[1].0, found[1].1.as_str()),
        (12, "cluster.vrrp.preempt")
    );
}

#[test]
fn the_pair_is_checked_against_the_rest_of_the_file() {
    let text = r#"[cluster]
node = "lb1"
listen = "0.0.0.0:80"
peer = { name = "lb1", address = "10.79.0.2:7440" }
secret_file = "k"
[cluster.vrrp]
interface = "eth0"
router_id = 51
src_address = "10.77.0.11"
peer_address = "2001:db8::12"
"#;
    let found = errors(text);
    let paths: Vec<(usize, &str)> = found.iter().map(|(l, p, _)| (*l, p.as_str())).collect();
    assert_eq!(
        paths,
        [
            (3, "cluster.listen"),
            (4, "cluster.peer.name"),
            (10, "cluster.vrrp.peer_address"),
        ]
    );
    assert!(
        found[0]
            .2
            .contains("would collide with vip[0].listen[0] (10.77.0.100:80)")
    );
    assert!(found[1].2.contains("must differ from this node's (`lb1`)"));
    assert!(found[2].2.contains("same family"));
    let without_admin = format!("{text}\n[[vip]]\nname = \"web\"\nlisten = \"10.77.0.100:81\"\n");
    let errors = parse("lb.toml", &without_admin).unwrap_err();
    let vrrp = errors
        .errors
        .iter()
        .find(|e| e.path == "cluster.vrrp")
        .unwrap();
    assert!(
        vrrp.message.contains("needs an [admin] listener"),
        "{errors}"
    );
}
