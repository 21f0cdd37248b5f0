//! Transparent proxying on an http VIP (`source = "client"`), in network namespaces (root
//! only; skipped with a message otherwise): the keep-alive pool of server connections keys
//! them by client address, so a pooled connection only ever carries requests of the client
//! whose address it bears; with `accept_proxy_from`, the PROXY header's address is the one
//! connected from.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use support::transparent::{CLIENTS, LB_BACK, SERVERS, TransparentRig, VIP, vip};

#[test]
fn interleaved_keep_alive_clients_each_reach_the_server_from_their_own_address() {
    let Some(rig) = TransparentRig::new() else {
        return;
    };
    rig.route_replies_to_lb();
    let server = rig.server("http-server", SERVERS[0], 8080);
    let web = vip(
        "web",
        &format!("{VIP}:80"),
        "http",
        &[&format!("live={}:8080", SERVERS[0])],
        // Checks every hour: the only connections from the balancer's address are the first.
        "source = \"client\"\ncheck = { interval = \"1h\" }",
    );
    let _lb = rig.lb(&web);
    let (a, b) = (CLIENTS[0], CLIENTS[1]);
    let lines = rig.clients(&["http-clients", VIP, "80", "10", a, b]);
    assert_eq!(lines.len(), 20, "{lines:?}");
    // The server ports each client's requests arrived from.
    let mut ports: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (index, line) in lines.iter().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let ["resp", source, round, "200", seen, port] = words[..] else {
            panic!("not a 200 response: {line}");
        };
        // Interleaved: a, b, a, b, ...
        assert_eq!(source, [a, b][index % 2], "{line}");
        assert_eq!(round, (index / 2).to_string(), "{line}");
        assert_eq!(
            seen, source,
            "request of {source} reached the server from {seen}"
        );
        ports.entry(source).or_default().insert(port.to_owned());
    }
    // Each client's ten requests rode one pooled server connection, its own.
    for (source, ports) in &ports {
        assert_eq!(ports.len(), 1, "{source}: {ports:?}");
    }
    let from_clients = server
        .output()
        .iter()
        .filter(|line| line.starts_with("accepted ") && !line.contains(LB_BACK))
        .count();
    assert_eq!(from_clients, 2, "{:?}", server.output());
}

#[test]
fn the_proxy_header_s_address_is_connected_from() {
    let Some(rig) = TransparentRig::new() else {
        return;
    };
    rig.route_replies_to_lb();
    let _server = rig.server("http-server", SERVERS[0], 8080);
    let web = vip(
        "web",
        &format!("{VIP}:80"),
        "http",
        &[&format!("live={}:8080", SERVERS[0])],
        &format!(
            "source = \"client\"\naccept_proxy_from = [\"{}\"]",
            CLIENTS[0]
        ),
    );
    let _lb = rig.lb(&web);
    // An address no host holds, in a network the servers route through the balancer.
    let claimed = "10.81.0.99";
    let lines = rig.clients(&["proxied-get", VIP, "80", claimed]);
    let words: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(words[..4], ["resp", claimed, "200", claimed], "{lines:?}");
}
