//! Misbehaving servers under load: a bounded wrk run through an http VIP and a bounded client
//! loop through a tcp VIP, each VIP over two real nginx servers and a third server that
//! answers like them until, mid-run, it starts to refuse connections, reset them, swallow
//! requests without a word (a blackhole), or trickle its response a byte a second.
//!
//! What an operator expects, and these tests check:
//! - a request a retry can save succeeds: a refused connect, a connection reset before lb
//!   has sent anything on it (the connect fails), a reset before any byte of response of a
//!   request that may be sent twice (wrk's GETs): each is retried on another server;
//! - the others fail fast with the documented status: 502 for a reset after a request that
//!   may not be sent twice (a POST, say) went out, 504 once `server_timeout` (1 s) passes
//!   without a response head; on the tcp VIP the
//!   client is closed: at once for a reset; for a blackhole at the idle timeout (2 s) or when
//!   the check marks the server down and lb closes its sessions (`shutdown_sessions_on_down`),
//!   whichever comes first; for a trickle, whose byte a second keeps the session from ever
//!   being idle, only when the check marks the server down;
//! - no request waits longer than that (wrk's latency max, the loop's own clock);
//! - the server's http check marks it down (the detection time is printed), and from then on
//!   no request fails.

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::lb::Lb;
use support::misbehaving::{Behaviour, Misbehaving};
use support::{EVENT_TIMEOUT, free_port, local, nginx, tcp_load, wrk};

/// wrk's connections to the http VIP.
const CONNECTIONS: u32 = 10;
/// The client loop's threads on the tcp VIP.
const TCP_CLIENTS: usize = 4;
/// The http VIP's `server_timeout`.
const HTTP_TIMEOUT: Duration = Duration::from_secs(1);
/// The tcp VIP's idle timeout (`server_timeout`, the smaller of its two).
const TCP_IDLE: Duration = Duration::from_secs(2);
/// What a busy machine may add to a timeout before a wait counts as too long.
const MARGIN: Duration = Duration::from_secs(2);
/// Each case puts both cores under load: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// What one case measured.
struct Run {
    /// From the server turning bad to its check marking it down, per VIP.
    detection: (Duration, Duration),
    /// wrk through the http VIP, and its slowest request.
    http: wrk::Report,
    http_worst: Duration,
    /// The client loop through the tcp VIP.
    tcp: tcp_load::Report,
    /// lb's log lines.
    log: Vec<String>,
}

impl Run {
    /// lb's log lines containing every one of `needles`.
    fn count(&self, needles: &[&str]) -> usize {
        self.log
            .iter()
            .filter(|line| needles.iter().all(|needle| line.contains(needle)))
            .count()
    }

    /// The http VIP's answers that the bad server cost, by status: (502, 504).
    fn http_errors(&self) -> (usize, usize) {
        let failed = |status: &str| self.count(&["vip=web", "server=bad", status]);
        (failed("server failed: 502"), failed("server timeout: 504"))
    }

    /// Sessions of the tcp VIP that lb joined to the bad server and that got no byte back
    /// from it (it reset or closed them).
    fn tcp_cut(&self) -> usize {
        self.count(&[
            "lb::access: tcp",
            r#"vip="tcp" server="bad""#,
            "bytes_out=0 ",
        ])
    }

    /// Connect attempts to the bad server that failed and were retried elsewhere, per VIP.
    fn retried(&self) -> (usize, usize) {
        let failed = |vip: &str| self.count(&[vip, "server=bad", "connect failed"]);
        (failed("vip=web"), failed("vip=tcp"))
    }

    fn print(&self, behaviour: Behaviour) {
        let tcp_failed = self.tcp.failures.len();
        let tcp_worst_failed = self.tcp.failures.iter().map(|f| f.waited).max();
        println!(
            "{behaviour:?}: marked down after {:?} (http check, http VIP) and {:?} (tcp VIP); \
             http: {} requests, {} non-2xx (502: {}, 504: {}), {} socket errors, slowest {:?}; \
             tcp: {} requests, {tcp_failed} failed (slowest failure {tcp_worst_failed:?}), slowest {:?}; \
             connects retried elsewhere: {:?}, tcp sessions the server cut: {}",
            self.detection.0,
            self.detection.1,
            self.http.requests,
            self.http.non_2xx,
            self.http_errors().0,
            self.http_errors().1,
            self.http.socket_errors,
            self.http_worst,
            self.tcp.requests,
            self.tcp.worst,
            self.retried(),
            self.tcp_cut(),
        );
        for failure in self.tcp.failures.iter().take(3) {
            println!(
                "  tcp failure after {:?}: {}",
                failure.waited, failure.error
            );
        }
    }
}

/// Runs the load through both VIPs, turns the third server bad a second in, waits for its
/// checks to mark it down and the load to end; then checks that a second load loses nothing.
fn run(behaviour: Behaviour) -> Run {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (_servers, list) = nginx::servers(dir.path(), 2);
    let bad = Misbehaving::start("bad");
    let list = format!(r#"{list}, {{ name = "bad", address = "{}" }}"#, bad.address);
    let (web, tcp) = (local(free_port()), local(free_port()));
    let mut lb = Lb::start(
        dir.path(),
        &format!(
            r#"
[defaults]
retries = 3
check = {{ interval = "200ms", rise = 2, fall = 2, timeout = "500ms" }}

[[vip]]
name = "web"
listen = ["{web}"]
mode = "http"
check = {{ kind = "http" }}
server_timeout = "{}s"
servers = [ {list} ]

[[vip]]
name = "tcp"
listen = ["{tcp}"]
mode = "tcp"
check = {{ kind = "http" }}
server_timeout = "{}s"
shutdown_sessions_on_down = true
servers = [ {list} ]
"#,
            HTTP_TIMEOUT.as_secs(),
            TCP_IDLE.as_secs(),
        ),
    );
    let mut http = wrk::start(dir.path(), web, CONNECTIONS, 5, true);
    let tcp_load = tcp_load::start(tcp, TCP_CLIENTS, Duration::from_secs(5), EVENT_TIMEOUT);
    http.wait_for("started", EVENT_TIMEOUT);
    // The bad server takes its share of both loads while it is healthy.
    std::thread::sleep(Duration::from_secs(1));
    lb.mark();
    let went_bad = Instant::now();
    bad.misbehave(behaviour);
    let down = |vip: &str| {
        let needle = format!("vip={vip} server=bad health=down");
        lb.process.wait_for(&needle, EVENT_TIMEOUT);
        went_bad.elapsed()
    };
    let detection = (down("web"), down("tcp"));
    assert_eq!(http.wait_exit(EVENT_TIMEOUT), Some(0));
    let output = http.output();
    let run = Run {
        detection,
        http: wrk::report(&output),
        http_worst: wrk::max_latency(&output),
        tcp: tcp_load.finish(),
        log: lb.process.output(),
    };
    run.print(behaviour);
    assert!(run.http.requests > 100, "the http load ran: {output:?}");
    assert!(run.tcp.requests > 100, "the tcp load ran: {:?}", run.tcp);
    assert_eq!(
        run.http.socket_errors, 0,
        "no request waited past wrk's timeout, none was cut: {output:?}"
    );
    assert!(
        run.http_worst < HTTP_TIMEOUT + MARGIN,
        "no request waited past the server timeout: {:?}",
        run.http_worst
    );
    let (bad_gateway, timed_out) = run.http_errors();
    assert_eq!(
        run.http.non_2xx,
        (bad_gateway + timed_out) as u64,
        "every failed request is one lb answered for the bad server"
    );

    // Marked down, the bad server costs nothing any more.
    let mut after = wrk::start(dir.path(), web, CONNECTIONS, 2, true);
    let tcp_after = tcp_load::start(tcp, TCP_CLIENTS, Duration::from_secs(2), EVENT_TIMEOUT);
    assert_eq!(after.wait_exit(EVENT_TIMEOUT), Some(0));
    let (report, tcp_report) = (wrk::report(&after.output()), tcp_after.finish());
    assert!(report.requests > 100 && tcp_report.requests > 100);
    assert_eq!(
        (report.socket_errors, report.non_2xx),
        (0, 0),
        "no http request fails once the server is marked down"
    );
    assert!(
        tcp_report.failures.is_empty(),
        "no tcp request fails once the server is marked down: {:?}",
        tcp_report.failures
    );
    run
}

/// Every refused connect is retried, and so is a request on a kept-alive connection the
/// server closed. What can be lost is what the kernel resets as the listener closes:
/// connections in its listen queue, which lb had connected, then sent a request on (http:
/// 502, as for any reset after the request went out) or joined a client to (tcp). Most runs
/// lose nothing.
#[test]
fn a_server_that_stops_listening_costs_only_its_listen_queue() {
    let run = run(Behaviour::Refuses);
    assert_eq!(run.http_errors().1, 0, "a refusal is no timeout");
    assert!(
        run.tcp.failures.len() <= run.tcp_cut(),
        "every failed tcp request is a session reset from the listen queue: {:?}",
        run.tcp.failures
    );
    let (web, tcp) = run.retried();
    assert!(
        web + tcp > 0,
        "the load reached the server while it refused"
    );
}

#[test]
fn a_server_that_resets_connections_costs_no_get_and_closes_tcp_clients_at_once() {
    let run = run(Behaviour::Resets);
    assert_eq!(
        run.http_errors(),
        (0, 0),
        "every GET it reset before answering went to another server"
    );
    assert_eq!(run.http.non_2xx, 0);
    let slowest = run.tcp.failures.iter().map(|f| f.waited).max();
    assert!(
        slowest.is_none_or(|waited| waited < MARGIN),
        "a reset closes the tcp client at once: {slowest:?}"
    );
    assert!(run.tcp.worst < MARGIN, "{:?}", run.tcp.worst);
    assert!(
        run.tcp.failures.len() <= run.tcp_cut(),
        "every failed tcp request is a session lb joined to the bad server: {:?}",
        run.tcp.failures
    );
}

#[test]
fn a_blackhole_server_costs_504s_after_the_server_timeout() {
    let run = run(Behaviour::Blackhole);
    assert_eq!(run.http_errors().0, 0, "a silent server costs 504s, no 502");
    // Each wrk connection loses at most one request per server timeout to it until it is
    // marked down, and one more in flight.
    let periods = run.detection.0.as_secs() + 2;
    assert!(
        run.http.non_2xx <= periods * u64::from(CONNECTIONS),
        "only requests sent to it before it was marked down fail"
    );
    assert!(
        run.tcp.worst < TCP_IDLE + MARGIN,
        "a tcp client waits at most the idle timeout (or until the server is marked down): {:?}",
        run.tcp.worst
    );
    assert!(
        run.tcp.failures.len() <= run.tcp_cut(),
        "every failed tcp request is a session lb joined to the bad server: {:?}",
        run.tcp.failures
    );
}

#[test]
fn a_trickling_server_costs_504s_after_the_server_timeout() {
    let run = run(Behaviour::Trickles);
    assert_eq!(
        run.http_errors().0,
        0,
        "a trickling server costs 504s, no 502"
    );
    let periods = run.detection.0.as_secs() + 2;
    assert!(
        run.http.non_2xx <= periods * u64::from(CONNECTIONS),
        "only requests sent to it before it was marked down fail"
    );
    // A byte a second keeps a tcp session from ever being idle: it ends when the check marks
    // the server down and lb closes its sessions.
    assert!(
        run.tcp.worst < run.detection.1.max(TCP_IDLE) + MARGIN,
        "a tcp client waits at most until the server is marked down: {:?}",
        run.tcp.worst
    );
}
