//! Two `lb run` nodes of a clustered pair on loopback, as an operator sees them through
//! `lb ctl`: a node alone says `syncing` (so keepalived keeps it backup) until its sync timeout
//! passes, then may hold the VIPs; its peer, started later, syncs at once; `lb ctl cluster`
//! and the metrics name a VIP whose configuration differs between the nodes, and the field, and
//! so does the status page in headless Chromium.
//!
//! Both nodes run on this host and so both hold every VIP: who holds what, and VIPs moving,
//! are the network-namespace tests' part (`cluster_failover.rs`).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::admin::{Listener, ctl};
use support::backend::Backend;
use support::lb::Lb;
use support::webdriver::Browser;
use support::{EVENT_TIMEOUT, free_port, local};

/// A node's configuration: VIPs `mysql` and `redis` over `servers` (the second node may be
/// given other servers for `mysql`), replicating with `peer`.
fn config(
    dir: &Path,
    admin: &Listener,
    node: (&str, u16),
    peer: (&str, u16),
    vips: (u16, u16),
    mysql_servers: &str,
    redis_servers: &str,
) -> String {
    let secret = dir.join("secret");
    std::fs::write(&secret, "correct horse battery staple\n").unwrap();
    format!(
        "{admin}\n[cluster]\nnode = \"{}\"\nlisten = \"{}\"\npeer = {{ name = \"{}\", address = \"{}\" }}\n\
         secret_file = \"{}\"\nsync_timeout = \"3s\"\n\n\
         [[vip]]\nname = \"mysql\"\nlisten = \"{}\"\nmode = \"tcp\"\nscheduler = \"first\"\n\
         persistence = {{ kind = \"last-successful\" }}\ncheck = {{ interval = \"1h\" }}\nservers = [{mysql_servers}]\n\n\
         [[vip]]\nname = \"redis\"\nlisten = \"{}\"\nmode = \"tcp\"\ncheck = {{ interval = \"1h\" }}\nservers = [{redis_servers}]\n",
        node.0,
        local(node.1),
        peer.0,
        local(peer.1),
        secret.display(),
        local(vips.0),
        local(vips.1),
        admin = admin.section(),
    )
}

fn servers(backends: &[&Backend]) -> String {
    backends
        .iter()
        .enumerate()
        .map(|(i, b)| format!("{{ name = \"s{i}\", address = \"{}\" }}", b.address))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn a_lone_node_syncs_then_serves_alone_its_peer_syncs_and_drift_is_named() {
    let (s0, s1, s2) = (
        Backend::start("s0"),
        Backend::start("s1"),
        Backend::start("s2"),
    );
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (admin_a, admin_b) = (
        Listener::new(dir_a.path(), "ta"),
        Listener::new(dir_b.path(), "tb"),
    );
    let (repl_a, repl_b) = (free_port(), free_port());
    // Both nodes listen on the same VIP addresses, as a pair does (lb binds with SO_REUSEPORT,
    // so both can here; no traffic goes through them in this test).
    let vips = (free_port(), free_port());
    let redis = servers(&[&s0, &s1]);
    let a_config = config(
        dir_a.path(),
        &admin_a,
        ("a", repl_a),
        ("b", repl_b),
        vips,
        &servers(&[&s0, &s1]),
        &redis,
    );
    let a = Lb::start(dir_a.path(), &a_config);

    // Alone: syncing, so `lb ctl health` fails (keepalived keeps the node backup)...
    let health = ctl(admin_a.address, None, &["health"]);
    assert_eq!(health.code, Some(1), "{}{}", health.stdout, health.stderr);
    assert!(health.stderr.contains("syncing"), "{}", health.stderr);
    // ...until the sync timeout passes with the peer unreachable.
    a.process.wait_for("peer not synced in time", EVENT_TIMEOUT);
    let health = ctl(admin_a.address, None, &["health"]);
    assert_eq!(health.code, Some(0), "{}", health.stderr);
    assert_eq!(
        ctl(admin_a.address, None, &["cluster"]).json()["sync"],
        "alone"
    );

    // The peer, started now with another server list for `mysql`, syncs with it at once.
    let started = Instant::now();
    let b_config = config(
        dir_b.path(),
        &admin_b,
        ("b", repl_b),
        ("a", repl_a),
        vips,
        &servers(&[&s0, &s2]),
        &redis,
    );
    let b = Lb::start(dir_b.path(), &b_config);
    b.process.wait_for("synced with the peer", EVENT_TIMEOUT);
    let synced = started.elapsed();
    assert!(
        synced < Duration::from_secs(3),
        "synced after {synced:?}, before its timeout"
    );
    assert_eq!(ctl(admin_b.address, None, &["health"]).code, Some(0));
    a.process.wait_for("synced with the peer", EVENT_TIMEOUT);

    // Drift: `mysql` differs in its servers, `redis` does not. Heartbeats carry it (200 ms).
    let deadline = Instant::now() + EVENT_TIMEOUT;
    let cluster = loop {
        let cluster = ctl(admin_a.address, None, &["cluster"]).json();
        if cluster["vips"][0]["drift"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
        {
            break cluster;
        }
        assert!(Instant::now() < deadline, "no drift shown: {cluster:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(cluster["peer"]["connected"], true, "{cluster:#}");
    assert_eq!(cluster["sync"], "synced");
    let mysql = &cluster["vips"][0];
    assert_eq!(mysql["name"], "mysql");
    assert_eq!(
        mysql["drift"],
        serde_json::json!(["servers"]),
        "{cluster:#}"
    );
    let redis = &cluster["vips"][1];
    assert_eq!(redis["drift"], serde_json::json!([]), "{cluster:#}");
    let metrics = ctl(admin_a.address, None, &["metrics"]).stdout;
    for line in [
        "lb_cluster_config_drift{vip=\"mysql\"} 1",
        "lb_cluster_config_drift{vip=\"redis\"} 0",
        "lb_cluster_peer_up 1",
        "lb_cluster_synced 1",
        "lb_vip_local{vip=\"mysql\"} 1",
    ] {
        assert!(metrics.contains(line), "no `{line}` in\n{metrics}");
    }
    // The status page shows the same: the pair, and per VIP who holds it and what differs.
    let browser = Browser::start(dir_a.path());
    browser.open(&format!("http://{}/", admin_a.address));
    browser.wait_text("#cluster-mysql td:nth-child(5)", "servers");
    browser.wait_text("#cluster-redis td:nth-child(5)", "none");
    browser.wait_text("#cluster-mysql td:nth-child(4)", "SPLIT BRAIN");
    let heading = browser.text("#cluster h2").unwrap();
    assert!(
        heading.contains("peer b (") && heading.contains("link up"),
        "{heading}"
    );
    assert!(heading.contains("synced"), "{heading}");
    drop(b);
    drop(a);
}
