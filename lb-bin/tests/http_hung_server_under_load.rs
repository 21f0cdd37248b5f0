//! A hung server under load: a bounded wrk run through an http VIP to three real nginx
//! servers, one of which is stopped mid-run (SIGSTOP: its sockets stay open and it answers
//! nothing). Requests sent to it get a 504 once the server timeout passes, none waits longer
//! (wrk counts a request over 5 s as a timeout); its HTTP check marks it down, and from then
//! on no request fails.

mod support;

use std::time::Instant;

use support::lb::Lb;
use support::nginx;
use support::{EVENT_TIMEOUT, free_port, local, wrk};

const CONNECTIONS: u32 = 10;

#[test]
fn a_hung_server_costs_only_504s_until_its_check_marks_it_down() {
    let dir = tempfile::tempdir().unwrap();
    let (mut servers, list) = nginx::servers(dir.path(), 3);
    let vip = local(free_port());
    let lb = Lb::start(
        dir.path(),
        &format!(
            r#"
[[vip]]
name = "web"
listen = ["{vip}"]
mode = "http"
server_timeout = "1s"
check = {{ kind = "http", interval = "200ms", rise = 2, fall = 2, timeout = "500ms" }}
servers = [ {} ]
"#,
            list
        ),
    );
    let mut load = wrk::start(dir.path(), vip, CONNECTIONS, 4, true);
    load.wait_for("started", EVENT_TIMEOUT);
    let stopped_at = Instant::now();
    servers[1].signal_all("STOP");
    lb.wait_health("nginx-1", "down");
    let detection = stopped_at.elapsed();
    assert_eq!(load.wait_exit(EVENT_TIMEOUT), Some(0));
    let report = wrk::report(&load.output());
    println!(
        "hung server under load: {} requests, {} answered 504 or failed, marked down after {detection:?}",
        report.requests, report.non_2xx
    );
    assert!(report.requests > 100, "the load ran: {:?}", load.output());
    assert_eq!(
        report.socket_errors,
        0,
        "no request waited past the server timeout, none was cut: {:?}",
        load.output()
    );
    // Until the server is marked down, each connection loses at most one request per server
    // timeout (1 s) to it, and one more in flight.
    let periods = detection.as_secs() + 2;
    assert!(
        report.non_2xx <= periods * u64::from(CONNECTIONS),
        "only requests sent to the hung server before it was marked down fail: {report:?}"
    );

    let mut after = wrk::start(dir.path(), vip, CONNECTIONS, 2, true);
    assert_eq!(after.wait_exit(EVENT_TIMEOUT), Some(0));
    let report = wrk::report(&after.output());
    assert!(report.requests > 100);
    assert_eq!(
        (report.socket_errors, report.non_2xx),
        (0, 0),
        "no request fails once the server is marked down"
    );
    // A stopped worker would outlive its master's kill on drop.
    servers[1].kill();
}
