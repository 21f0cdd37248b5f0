//! Transparent proxying on a TCP VIP (`source = "client"`), in network namespaces (root only;
//! skipped with a message otherwise): the server sees each client's own address where a plain
//! VIP shows it the balancer's; a half-closed session still gets its answer; a server that
//! refuses is failed over to with retries; health checks keep the balancer's own address.

mod support;

use std::collections::BTreeMap;

use support::EVENT_TIMEOUT;
use support::transparent::{
    CLIENTS, Conn, LB_BACK, SERVERS, TransparentRig, VIP, connections, vip,
};

#[test]
fn servers_see_the_client_s_address_with_half_close_and_failover() {
    let Some(rig) = TransparentRig::new() else {
        return;
    };
    rig.route_replies_to_lb();
    let server = rig.server("tcp-server", SERVERS[0], 9000);
    let plain_server = rig.server("tcp-server", SERVERS[0], 9001);
    // `refuses` has an address but nothing listening: every connect to it is refused, and
    // its health check (fall 1000) never takes it out, so round-robin keeps sending every
    // other connection to it first and each of those is retried on `live`.
    let transparent = vip(
        "tp",
        &format!("{VIP}:80"),
        "tcp",
        &[
            &format!("refuses={}:9000", SERVERS[1]),
            &format!("live={}:9000", SERVERS[0]),
        ],
        "source = \"client\"\nretries = 3\ncheck = { interval = \"200ms\", fall = 1000 }",
    );
    let plain = vip(
        "plain",
        &format!("{VIP}:81"),
        "tcp",
        &[&format!("live={}:9001", SERVERS[0])],
        "",
    );
    let mut lb = rig.lb(&format!("{transparent}\n{plain}"));
    lb.mark();

    // 20 connections from 3 addresses: each reaches the server from its own address.
    let vip_port = (VIP, "80");
    let run = |port: &str, bytes: &str, count: &str| {
        let mut args = vec!["tcp-clients", vip_port.0, port, bytes, count];
        args.extend_from_slice(&CLIENTS);
        connections(&rig.clients(&args))
    };
    let sessions = run(vip_port.1, "0", "20");
    assert_eq!(sessions.len(), 20);
    let mut per_source = BTreeMap::new();
    for Conn { source, served } in &sessions {
        let (seen, last) = served.as_ref().expect("every connection is served");
        assert_eq!(seen, source, "the server saw the client's own address");
        assert_eq!(last, "got 0 bytes");
        *per_source.entry(source.as_str()).or_insert(0) += 1;
    }
    assert_eq!(per_source.values().copied().collect::<Vec<_>>(), [7, 7, 6]);

    // Half-close: the client shuts its side after 100 kB, the server reads to the end and
    // only then answers, through the other direction still open.
    for Conn { source, served } in run(vip_port.1, "100000", "3") {
        assert_eq!(
            served,
            Some((source, "got 100000 bytes".to_owned())),
            "half-closed session"
        );
    }

    // Failover: the connections that went to `refuses` first were retried on `live`.
    let failed = lb
        .process
        .wait_for("connect failed vip=tp server=refuses", EVENT_TIMEOUT);
    assert!(failed.contains("Connection refused"), "{failed}");

    // Without `source`, the server sees the balancer.
    for Conn { served, .. } in run("81", "0", "3") {
        let (seen, _) = served.expect("served");
        assert_eq!(seen, LB_BACK, "a plain VIP connects from the balancer");
    }
    plain_server.wait_for(&format!("accepted {LB_BACK} "), EVENT_TIMEOUT);

    // Health checks of the transparent VIP come from the balancer's own address, and every
    // other connection the server accepted came from a client's.
    server.wait_for(&format!("accepted {LB_BACK} "), EVENT_TIMEOUT);
    for line in server.output() {
        let Some(peer) = line.strip_prefix("accepted ") else {
            continue;
        };
        let ip = peer.split_whitespace().next().unwrap_or_default();
        assert!(
            ip == LB_BACK || CLIENTS.contains(&ip),
            "an unexpected peer: {line}"
        );
    }
}
