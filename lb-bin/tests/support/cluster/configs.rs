//! The configuration files of the cluster rig's nodes: lb's (`[cluster]`, `[cluster.vrrp]`
//! and two VIPs), what `lb keepalived` makes of it, and for the comparison HAProxy's with
//! `peers` and the rig's own keepalived.conf for it.

use std::process::Command;

use super::{ADVERT_INTERVAL, ADVERT_INTERVAL_MS, CHECK_PORT, PEERS_PORT, PORT, STICKY_PORT};
use crate::support::netns::{
    FRONT, SERVERS, VIP, VIP_PREFIX, front_address, peer_of, repl_address,
};

/// The keepalived.conf of `node` whose balancer runs `tracked` (program and arguments):
/// unicast VRRPv3 on `front`, both nodes BACKUP with `nopreempt` (priority 150 on lb1, 100 on
/// lb2), the VIP on `front`, and `vrrp_track_process` on the balancer's command line with
/// weight 0 (the instance goes to FAULT, sending a priority-0 advert, when it exits). HAProxy
/// nodes get this one; lb nodes get what `lb keepalived` prints ([`lb_keepalived_conf`]).
pub fn keepalived_conf(namespace: &str, node: &str, tracked: &[String]) -> String {
    let peer = peer_of(node);
    let priority = if node == "lb1" { 150 } else { 100 };
    let process = tracked.join(" ");
    format!(
        "# keepalived.conf for {node}, written by the cluster test rig\n\
         net_namespace {namespace}\n\
         global_defs {{\n\
         \x20 router_id {node}\n\
         \x20 vrrp_version 3\n\
         \x20 max_auto_priority\n\
         \x20 vrrp_garp_master_delay 1\n\
         \x20 vrrp_garp_master_repeat 3\n\
         \x20 vrrp_garp_lower_prio_repeat 3\n\
         \x20 vrrp_higher_prio_send_advert true\n\
         }}\n\
         vrrp_track_process balancer {{\n\
         \x20 process {process}\n\
         \x20 param_match partial\n\
         \x20 weight 0\n\
         }}\n\
         vrrp_instance lb_v4 {{\n\
         \x20 state BACKUP\n\
         \x20 nopreempt\n\
         \x20 interface {FRONT}\n\
         \x20 virtual_router_id 77\n\
         \x20 priority {priority}\n\
         \x20 advert_int {ADVERT_INTERVAL}\n\
         \x20 unicast_src_ip {}\n\
         \x20 unicast_peer {{\n\
         \x20   {}\n\
         \x20 }}\n\
         \x20 virtual_ipaddress {{\n\
         \x20   {VIP}/{VIP_PREFIX} dev {FRONT}\n\
         \x20 }}\n\
         \x20 track_process {{\n\
         \x20   balancer\n\
         \x20 }}\n\
         }}\n",
        front_address(node),
        front_address(peer),
    )
}

/// The replication port of lb's `[cluster]` on the `repl` link.
pub const REPLICATION_PORT: u16 = 7440;

/// What `lb keepalived -c <config> --net-namespace <namespace>` prints: the keepalived.conf
/// an operator would install, from the node's own `[cluster.vrrp]`.
pub fn lb_keepalived_conf(namespace: &str, config: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_lb"))
        .args(["keepalived", "-c", config, "--net-namespace", namespace])
        .output()
        .expect("lb keepalived runs");
    assert!(
        output.status.success(),
        "lb keepalived failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("keepalived.conf is text")
}

/// The `lb run` config of `node`: a tcp VIP `mysql` on the VIP address (bound whether or not
/// the node holds it), scheduler `first`, last-successful persistence, a fast clustercheck
/// (HTTP on [`CHECK_PORT`], as TripleO checks Galera); a second tcp
/// VIP `sticky` on the VIP address's port [`STICKY_PORT`] with source-ip persistence (round
/// robin); an admin listener on 127.0.0.1:9900 (each namespace has its own loopback); and
/// `[cluster]` with the peer on the `repl` link, replicating `tables` (a TOML array, `[]`
/// for none), with the `[cluster.vrrp]` that `lb keepalived` turns into keepalived.conf.
pub fn lb_config(
    node: &str,
    secret: &std::path::Path,
    token: &std::path::Path,
    tables: &str,
) -> String {
    let servers = |port: u16| -> String {
        SERVERS
            .iter()
            .map(|(name, address)| {
                format!("  {{ name = \"{name}\", address = \"{address}:{port}\" }},")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let peer = peer_of(node);
    let priority = if node == "lb1" { 150 } else { 100 };
    format!(
        "[admin]\n\
         listen = \"127.0.0.1:9900\"\n\
         token_file = \"{}\"\n\
         \n\
         [cluster]\n\
         node = \"{node}\"\n\
         listen = \"{}:{REPLICATION_PORT}\"\n\
         peer = {{ name = \"{peer}\", address = \"{}:{REPLICATION_PORT}\" }}\n\
         secret_file = \"{}\"\n\
         tables = {tables}\n\
         \n\
         [cluster.vrrp]\n\
         interface = \"{FRONT}\"\n\
         router_id = 77\n\
         priority = {priority}\n\
         advert_interval = \"{ADVERT_INTERVAL_MS}ms\"\n\
         src_address = \"{}\"\n\
         peer_address = \"{}\"\n\
         \n\
         [[vip]]\n\
         name = \"mysql\"\n\
         listen = [\"{VIP}:{PORT}\"]\n\
         mode = \"tcp\"\n\
         scheduler = \"first\"\n\
         persistence = {{ kind = \"last-successful\" }}\n\
         check = {{ kind = \"http\", port = {CHECK_PORT}, path = \"/\", expect = \"200\", interval = \"200ms\", rise = 1, fall = 1, timeout = \"200ms\" }}\n\
         connect_timeout = \"1s\"\n\
         servers = [\n{}\n]\n\
         \n\
         [[vip]]\n\
         name = \"sticky\"\n\
         listen = [\"{VIP}:{STICKY_PORT}\"]\n\
         mode = \"tcp\"\n\
         scheduler = \"round-robin\"\n\
         persistence = {{ kind = \"source-ip\" }}\n\
         check = {{ interval = \"200ms\", rise = 1, fall = 1, timeout = \"200ms\" }}\n\
         connect_timeout = \"1s\"\n\
         servers = [\n{}\n]\n",
        token.display(),
        repl_address(node),
        repl_address(peer),
        secret.display(),
        front_address(node),
        front_address(peer),
        servers(PORT),
        servers(PORT),
    )
}

/// The HAProxy 2.6 config of a node, the TripleO/Octavia way: the VIP bound `transparent`
/// (IP_TRANSPARENT / IP_FREEBIND), `balance first` with a one-entry stick table
/// (`stick on int(1)`: one writer for every client) replicated by `peers` on the `repl` link,
/// and the clustercheck on [`CHECK_PORT`] (`option httpchk`, as TripleO checks Galera).
pub fn haproxy_config(stats_socket: &std::path::Path) -> String {
    let servers: Vec<String> = SERVERS
        .iter()
        .map(|(name, address)| format!("    server {name} {address}:{PORT} check"))
        .collect();
    format!(
        "global\n\
         \x20   maxconn 4096\n\
         \x20   stats socket {}\n\
         defaults\n\
         \x20   mode tcp\n\
         \x20   timeout connect 1s\n\
         \x20   timeout client 10m\n\
         \x20   timeout server 10m\n\
         \x20   retries 3\n\
         \x20   option redispatch\n\
         peers lbpair\n\
         \x20   peer lb1 {}:{PEERS_PORT}\n\
         \x20   peer lb2 {}:{PEERS_PORT}\n\
         listen mysql\n\
         \x20   bind {VIP}:{PORT} transparent\n\
         \x20   balance first\n\
         \x20   stick-table type integer size 1 peers lbpair\n\
         \x20   stick on int(1)\n\
         \x20   option httpchk GET /\n\
         \x20   http-check expect status 200\n\
         \x20   default-server port {CHECK_PORT} inter 200ms rise 1 fall 1\n\
         {}\n",
        stats_socket.display(),
        repl_address("lb1"),
        repl_address("lb2"),
        servers.join("\n")
    )
}
