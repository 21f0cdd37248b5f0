//! Twenty reloads of the real `lb` binary under a bounded wrk load through a TCP VIP to real
//! nginx servers, some reloads adding servers, some removing them, some changing settings:
//! not one request may fail and not one connection may be reset or cut.

mod support;

use std::time::{Duration, Instant};

use support::lb::Lb;
use support::nginx::Nginx;
use support::wrk;
use support::{EVENT_TIMEOUT, free_port, local};

const RELOADS: usize = 20;

/// Which of the four servers each reload keeps (every one adds or removes some).
const POOLS: [&[usize]; 5] = [&[0, 1], &[0, 1, 2, 3], &[2, 3], &[1, 2], &[0, 3]];

#[test]
fn twenty_reloads_under_load_fail_no_request_and_reset_no_connection() {
    let dir = tempfile::tempdir().unwrap();
    let servers: Vec<Nginx> = (0..4)
        .map(|i| Nginx::start(dir.path(), &format!("nginx-{i}")))
        .collect();
    let vip = local(free_port());
    let config = |reload: usize| {
        let pool = POOLS[reload % POOLS.len()];
        let list: Vec<String> = pool
            .iter()
            .map(|&i| {
                format!(
                    r#"{{ name = "nginx-{i}", address = "{}" }}"#,
                    servers[i].address
                )
            })
            .collect();
        // Every third reload changes settings too, so the VIP is reconfigured in place.
        let client_timeout = if reload % 3 == 0 { "60s" } else { "90s" };
        format!(
            r#"
[[vip]]
name = "web"
listen = ["{vip}"]
client_timeout = "{client_timeout}"
check = {{ kind = "tcp", interval = "200ms" }}
servers = [ {} ]
"#,
            list.join(", ")
        )
    };
    let mut lb = Lb::start(dir.path(), &config(0));

    let load_dir = dir.path().join("keep-alive");
    std::fs::create_dir_all(&load_dir).unwrap();
    let mut kept_alive = wrk::start(&load_dir, vip, 10, 10, true);
    let mut one_per_request = wrk::start(dir.path(), vip, 10, 10, false);
    kept_alive.wait_for("started", EVENT_TIMEOUT);
    one_per_request.wait_for("started", EVENT_TIMEOUT);

    let mut slowest = Duration::ZERO;
    for reload in 1..=RELOADS {
        std::fs::write(dir.path().join("lb.toml"), config(reload)).unwrap();
        lb.mark();
        let sent = Instant::now();
        lb.process.signal("HUP");
        let line = lb.process.wait_for("reloaded", EVENT_TIMEOUT);
        slowest = slowest.max(sent.elapsed());
        assert!(line.contains("changed=1"), "reload {reload}: {line}");
        // The next reload comes once traffic has passed through this one: an access line
        // after the `reloaded` line (which flushed the earlier ones, keeping their order)
        // comes from a batch written since, at the latest 100 ms later.
        lb.mark();
        lb.process.wait_for("lb::access", EVENT_TIMEOUT);
    }
    // The access lines written while the load still runs, up to a batch written after the
    // last reload: wrk resets its own connections when it stops, which says nothing about the
    // balancer.
    let during_load = lb.process.output();

    assert_eq!(kept_alive.wait_exit(EVENT_TIMEOUT), Some(0));
    assert_eq!(one_per_request.wait_exit(EVENT_TIMEOUT), Some(0));
    let kept = wrk::report(&kept_alive.output());
    let fresh = wrk::report(&one_per_request.output());
    let cut = during_load
        .iter()
        .filter(|l| l.contains("termination=failed") || l.contains("termination=closed"))
        .count();
    let refused = during_load
        .iter()
        .filter(|l| l.contains("termination=no-server"))
        .count();
    println!(
        "{RELOADS} reloads under load (slowest {slowest:?} from SIGHUP to applied): \
         keep-alive {kept:?}, connection-per-request {fresh:?}, {cut} connections cut or failed while it ran"
    );
    assert!(
        kept.requests > 1000 && fresh.requests > 1000,
        "the load ran: {kept:?} {fresh:?}"
    );
    for report in [kept, fresh] {
        assert_eq!(
            report.socket_errors, 0,
            "no connection error or reset: {report:?}"
        );
        assert_eq!(report.non_2xx, 0, "no failed request: {report:?}");
    }
    assert_eq!(cut, 0, "no connection cut or reset through the balancer");
    assert_eq!(refused, 0, "no connection refused for want of a server");
}
