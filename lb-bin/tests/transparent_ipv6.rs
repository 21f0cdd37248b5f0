//! Transparent proxying over IPv6 (`source = "client"`, IPV6_TRANSPARENT, `ip -6 rule` and
//! ip6tables), in network namespaces (root only; skipped with a message otherwise): the
//! server sees each client's own IPv6 address, and the balancer's without it.

mod support;

use support::transparent::{
    CLIENTS_V6, Conn, LB_BACK_V6, SERVERS_V6, TransparentRig, VIP_V6, connections, vip,
};

#[test]
fn servers_see_the_client_s_ipv6_address() {
    let Some(rig) = TransparentRig::new() else {
        return;
    };
    rig.route_replies_to_lb();
    let _server = rig.server("tcp-server", SERVERS_V6[0], 9000);
    let transparent = vip(
        "tp6",
        &format!("[{VIP_V6}]:80"),
        "tcp",
        &[&format!("live=[{}]:9000", SERVERS_V6[0])],
        "source = \"client\"",
    );
    let plain = vip(
        "plain6",
        &format!("[{VIP_V6}]:81"),
        "tcp",
        &[&format!("live=[{}]:9000", SERVERS_V6[0])],
        "",
    );
    let _lb = rig.lb(&format!("{transparent}\n{plain}"));
    let run = |port: &str, bytes: &str, count: &str| {
        let mut args = vec!["tcp-clients", VIP_V6, port, bytes, count];
        args.extend_from_slice(&CLIENTS_V6);
        connections(&rig.clients(&args))
    };
    let sessions = run("80", "0", "20");
    assert_eq!(sessions.len(), 20);
    for Conn { source, served } in sessions {
        assert_eq!(
            served,
            Some((source, "got 0 bytes".to_owned())),
            "the server saw the client's own address"
        );
    }
    for Conn { source, served } in run("80", "100000", "3") {
        assert_eq!(served, Some((source, "got 100000 bytes".to_owned())));
    }
    for Conn { served, .. } in run("81", "0", "3") {
        let (seen, _) = served.expect("served");
        assert_eq!(seen, LB_BACK_V6, "a plain VIP connects from the balancer");
    }
}
