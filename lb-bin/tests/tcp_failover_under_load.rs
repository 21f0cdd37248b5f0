//! Failover under load: a bounded wrk run through a TCP VIP to three real nginx servers, one
//! of which is killed mid-run. Only requests in flight on the killed server may fail; connect
//! failures before the balancer marks it down are retried on another server, and once it is
//! marked down no request fails at all.

mod support;

use std::time::Instant;

use support::lb::Lb;
use support::nginx;
use support::{EVENT_TIMEOUT, free_port, local, wrk};

const CONNECTIONS: u32 = 10;

#[test]
fn killing_a_server_under_load_fails_only_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let (servers, list) = nginx::servers(dir.path(), 3);
    let vip = local(free_port());
    let lb = Lb::start(
        dir.path(),
        &format!(
            r#"
[defaults]
retries = 3
[[vip]]
name = "web"
listen = ["{vip}"]
check = {{ kind = "tcp", interval = "200ms", rise = 2, fall = 2, timeout = "1s" }}
servers = [ {} ]
"#,
            list
        ),
    );

    let mut load = wrk::start(dir.path(), vip, CONNECTIONS, 4, false);
    load.wait_for("started", EVENT_TIMEOUT);
    let mut servers = servers;
    let killed_at = Instant::now();
    servers[1].kill();
    lb.wait_health("nginx-1", "down");
    let detection = killed_at.elapsed();
    assert_eq!(load.wait_exit(EVENT_TIMEOUT), Some(0));
    let report = wrk::report(&load.output());
    let (requests, failed) = (report.requests, report.socket_errors + report.non_2xx);
    println!(
        "failover under load: {requests} requests, {failed} failed, marked down after {detection:?}"
    );
    assert!(requests > 100, "the load ran: {:?}", load.output());
    assert!(
        failed <= u64::from(CONNECTIONS),
        "only requests in flight on the killed server may fail: {failed} failed"
    );

    let mut after = wrk::start(dir.path(), vip, CONNECTIONS, 2, false);
    assert_eq!(after.wait_exit(EVENT_TIMEOUT), Some(0));
    let report = wrk::report(&after.output());
    let (requests, failed) = (report.requests, report.socket_errors + report.non_2xx);
    assert!(requests > 100);
    assert_eq!(failed, 0, "no request fails once the server is marked down");
}
