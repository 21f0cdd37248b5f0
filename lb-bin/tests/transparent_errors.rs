//! What goes wrong with transparent proxying (`source = "client"`) is said, never papered
//! over with the balancer's own address:
//! - without the routing that brings the servers' replies back to lb (network namespaces,
//!   root only), a client is closed cleanly, lb logs the connect failure with the routing
//!   needed and goes on serving its other VIPs; adding the routing fixes it with no restart;
//! - without CAP_NET_ADMIN (dropped from a root `lb` with setpriv, or an unprivileged user),
//!   `lb run` refuses to start naming the VIP, and a reload that adds such a VIP, or turns
//!   an existing one transparent, is refused while the running configuration serves on.

mod support;

use std::process::Command;

use support::backend::{Backend, Session};
use support::lb::Lb;
use support::netns::is_root;
use support::process::Process;
use support::transparent::{
    CLIENTS, Conn, LB_BACK, SERVERS, TransparentRig, VIP, connections, vip,
};
use support::{EVENT_TIMEOUT, free_port, local};

#[test]
fn without_the_routing_a_client_is_closed_cleanly_with_a_hint_in_the_log() {
    let Some(rig) = TransparentRig::new() else {
        return;
    };
    let _server = rig.server("tcp-server", SERVERS[0], 9000);
    let transparent = vip(
        "tp",
        &format!("{VIP}:80"),
        "tcp",
        &[&format!("live={}:9000", SERVERS[0])],
        "source = \"client\"\nconnect_timeout = \"300ms\"\nretries = 1",
    );
    let plain = vip(
        "plain",
        &format!("{VIP}:81"),
        "tcp",
        &[&format!("live={}:9000", SERVERS[0])],
        "",
    );
    let mut lb = rig.lb(&format!("{transparent}\n{plain}"));
    lb.mark();
    let run =
        |port: &str| connections(&rig.clients(&["tcp-clients", VIP, port, "0", "1", CLIENTS[0]]));

    // The client reads an end of stream, not a reset (peers.py fails on a reset).
    assert_eq!(
        run("80"),
        [Conn {
            source: CLIENTS[0].to_owned(),
            served: None
        }]
    );
    let failed = lb.process.wait_for("connect failed vip=tp", EVENT_TIMEOUT);
    for said in [
        "connect from the client's address 10.81.0.2 timed out after 300ms",
        "hint: no reply reached lb",
        "`ip rule add fwmark 1 lookup 100`",
        "`ip route add local 0.0.0.0/0 dev lo table 100`",
        "-m socket --transparent -j DIVERT",
    ] {
        assert!(failed.contains(said), "{said}: {failed}");
    }
    lb.process
        .wait_for("no server could take the connection vip=tp", EVENT_TIMEOUT);

    // The other VIP serves on.
    let served = run("81");
    assert_eq!(
        served[0].served,
        Some((LB_BACK.to_owned(), "got 0 bytes".to_owned()))
    );
    // The routing added while lb runs: the transparent VIP works at once.
    rig.route_replies_to_lb();
    let served = run("80");
    assert_eq!(
        served[0].served,
        Some((CLIENTS[0].to_owned(), "got 0 bytes".to_owned()))
    );
}

/// `lb` without CAP_NET_ADMIN and CAP_NET_RAW: root's capabilities dropped by setpriv, or
/// the binary itself for an unprivileged user.
fn lb_without_the_capability() -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command
            .arg("--bounding-set=-net_admin,-net_raw")
            .arg(env!("CARGO_BIN_EXE_lb"));
        command
    } else {
        Command::new(env!("CARGO_BIN_EXE_lb"))
    }
}

/// A loopback VIP `name` over `backend`, with `extra` keys.
fn loopback_vip(name: &str, port: u16, backend: &Backend, extra: &str) -> String {
    format!(
        "[[vip]]\nname = \"{name}\"\nlisten = \"{}\"\n{extra}\n\
         servers = [{{ name = \"a\", address = \"{}\" }}]\n",
        local(port),
        backend.address
    )
}

#[test]
fn lb_refuses_to_start_a_transparent_vip_without_the_capability() {
    let backend = Backend::start("a");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lb.toml");
    let config = loopback_vip("tp", free_port(), &backend, "source = \"client\"");
    std::fs::write(&path, config).unwrap();
    let mut command = lb_without_the_capability();
    command.arg("run").arg("-c").arg(&path);
    let mut lb = Process::spawn("lb", command);
    assert_eq!(lb.wait_exit(EVENT_TIMEOUT), Some(1), "{}", lb.tail());
    let said = lb.output().join("\n");
    assert!(
        said.contains("lb: VIP `tp`: cannot set IP_TRANSPARENT")
            && said.contains("needs CAP_NET_ADMIN"),
        "{said}"
    );
}

#[test]
fn a_reload_making_a_vip_transparent_without_the_capability_changes_nothing() {
    let backend = Backend::start("a");
    let dir = tempfile::tempdir().unwrap();
    let (plain_port, new_port) = (free_port(), free_port());
    let plain = loopback_vip("plain", plain_port, &backend, "");
    let mut lb = Lb::start_as(dir.path(), &plain, lb_without_the_capability());
    for reloaded in [
        // A new transparent VIP.
        format!(
            "{plain}\n{}",
            loopback_vip("tp", new_port, &backend, "source = \"client\"")
        ),
        // The running VIP made transparent in place.
        loopback_vip("plain", plain_port, &backend, "source = \"client\""),
    ] {
        std::fs::write(dir.path().join("lb.toml"), reloaded).unwrap();
        lb.mark();
        lb.process.signal("HUP");
        let refused = lb.process.wait_for("reload refused", EVENT_TIMEOUT);
        assert!(
            refused.contains("cannot set IP_TRANSPARENT") && refused.contains("VIP `"),
            "{refused}"
        );
        let mut session = Session::open(local(plain_port));
        assert_eq!(session.echo("still here").as_deref(), Some("still here"));
    }
    assert!(
        std::net::TcpStream::connect(local(new_port)).is_err(),
        "the refused VIP does not listen"
    );
}
