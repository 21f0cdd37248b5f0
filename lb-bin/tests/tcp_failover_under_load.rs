//! Failover under load: a bounded wrk run through a TCP VIP to three real nginx servers, one
//! of which is killed mid-run. Only requests in flight on the killed server may fail; connect
//! failures before the balancer marks it down are retried on another server, and once it is
//! marked down no request fails at all.

mod support;

use std::process::{Command, Stdio};
use std::time::Instant;

use support::lb::Lb;
use support::nginx::Nginx;
use support::process::Process;
use support::{EVENT_TIMEOUT, free_port, local};

const CONNECTIONS: u32 = 10;

/// Starts a bounded wrk run (`Connection: close`, so every request is a new connection
/// through the VIP) that prints `started` once its thread is set up.
fn wrk(dir: &std::path::Path, vip: std::net::SocketAddr, seconds: u32) -> Process {
    let script = dir.join("started.lua");
    std::fs::write(
        &script,
        "function init(args)\n  io.write(\"started\\n\")\n  io.stdout:flush()\nend\n",
    )
    .unwrap();
    let mut command = Command::new("wrk");
    command.args([
        "-t1",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{seconds}s"),
        "--timeout",
        "5s",
    ]);
    command
        .args(["-H", "Connection: close", "-s"])
        .arg(&script)
        .arg(format!("http://{vip}/"));
    command.stdin(Stdio::null());
    Process::spawn("wrk", command)
}

/// Failed requests in a wrk report: socket errors plus non-2xx/3xx responses.
fn failures(report: &[String]) -> (u64, u64) {
    let numbers = |line: &str| -> u64 {
        line.split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse::<u64>().ok())
            .sum()
    };
    let requests = report
        .iter()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .expect("wrk printed its request count");
    let errors = report
        .iter()
        .filter(|l| l.contains("Socket errors") || l.contains("Non-2xx"))
        .map(|l| numbers(l.split_once(':').map_or("", |(_, rest)| rest)))
        .sum();
    (requests, errors)
}

#[test]
fn killing_a_server_under_load_fails_only_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let servers: Vec<Nginx> = (0..3)
        .map(|i| Nginx::start(dir.path(), &format!("nginx-{i}")))
        .collect();
    let vip = local(free_port());
    let list: Vec<String> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| format!(r#"{{ name = "nginx-{i}", address = "{}" }}"#, s.address))
        .collect();
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
            list.join(", ")
        ),
    );

    let mut load = wrk(dir.path(), vip, 4);
    load.wait_for("started", EVENT_TIMEOUT);
    let mut servers = servers;
    let killed_at = Instant::now();
    servers[1].kill();
    lb.wait_health("nginx-1", "down");
    let detection = killed_at.elapsed();
    assert_eq!(load.wait_exit(EVENT_TIMEOUT), Some(0));
    let (requests, failed) = failures(&load.output());
    println!(
        "failover under load: {requests} requests, {failed} failed, marked down after {detection:?}"
    );
    assert!(requests > 100, "the load ran: {:?}", load.output());
    assert!(
        failed <= u64::from(CONNECTIONS),
        "only requests in flight on the killed server may fail: {failed} failed"
    );

    let mut after = wrk(dir.path(), vip, 2);
    assert_eq!(after.wait_exit(EVENT_TIMEOUT), Some(0));
    let (requests, failed) = failures(&after.output());
    assert!(requests > 100);
    assert_eq!(failed, 0, "no request fails once the server is marked down");
}
