//! A clustered pair in network namespaces (root only; skipped otherwise): keepalived moves
//! the VIP 10.77.0.100 between lb1 and lb2, a client in its own namespace connects to it every
//! 10 ms, and the node holding the VIP crashes. Each trial measures the time from the SIGKILL
//! to the first connection served through the other node; trials alternate between the nodes
//! (the crashed node comes back as BACKUP, and the next trial crashes the new holder).
//!
//! A third test cuts the replication link (nftables in one node's namespace): both nodes say
//! the link is down while VRRP goes on; then cuts VRRP: both nodes hold the VIP and both say
//! split brain (`lb ctl cluster`, `lb_cluster_split_brain`), until VRRP is back.
//!
//! `TRIALS` (default 3) sets the number of trials per scenario; every trial prints a
//! `cluster-failover:` line (run with `--nocapture` to see them), which
//! `bench/cluster-failover` collects into p50/p95/max. The HAProxy 2.6 comparison in the same
//! rig is ignored by default (it measures HAProxy, not lb): the bench runs it.

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::cluster::{Balancer, Crash, PORT, Pair, REPLICATION_PORT, Trial, percentiles};
use support::netns::VIP;

/// The bound every trial must meet (the target is a p95 under 1 s over 10 trials;
/// this generous bound catches a failover that does not happen, not a slow one).
const BOUND_SECONDS: f64 = 5.0;

/// One rig at a time: two pairs exchanging 0.2 s VRRP adverts on two cores at once would
/// measure each other.
static SERIAL: Mutex<()> = Mutex::new(());

fn trials() -> usize {
    std::env::var("TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0 && n <= 100)
        .unwrap_or(3)
}

/// Runs `trials()` crash trials of `crash` on a fresh pair of `balancer`s, prints each and a
/// summary, and returns them; `None` when not root.
fn run(balancer: Balancer, crash: Crash) -> Option<Vec<Trial>> {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut pair = Pair::start(balancer)?;
    let mut results = Vec::new();
    for number in 1..=trials() {
        let trial = pair.crash_trial(crash);
        println!("{}", trial.line(balancer, number));
        results.push(trial);
    }
    let served: Vec<f64> = results.iter().map(|t| t.first_served).collect();
    if let Some((p50, p95, max)) = percentiles(&served) {
        println!(
            "cluster-failover-summary: balancer={} scenario={} trials={} first_served_ms p50={:.1} p95={:.1} max={:.1}",
            balancer.name(),
            crash.name(),
            served.len(),
            p50 * 1000.0,
            p95 * 1000.0,
            max * 1000.0
        );
    }
    Some(results)
}

fn assert_within_bound(results: &[Trial]) {
    for trial in results {
        assert!(
            trial.first_served < BOUND_SECONDS,
            "{:?} on {}: the other node served only after {:.3} s",
            trial.crash,
            trial.from,
            trial.first_served
        );
    }
    // Trials alternate: each one crashes the node the previous one moved the VIP to.
    for pair in results.windows(2) {
        assert_eq!(pair[1].from, pair[0].to, "the VIP stayed where it moved to");
    }
}

#[test]
fn lb_crash_on_the_active_node_moves_service_to_the_peer() {
    let Some(results) = run(Balancer::Lb, Crash::Balancer) else {
        return;
    };
    assert_within_bound(&results);
}

#[test]
fn keepalived_crash_on_the_active_node_moves_service_to_the_peer() {
    let Some(results) = run(Balancer::Lb, Crash::Keepalived) else {
        return;
    };
    assert_within_bound(&results);
    for trial in &results {
        // lb on the crashed node keeps serving through the stale VIP until the peer's
        // gratuitous ARPs move the client: no attempt needs to fail.
        assert!(
            trial.failed <= 5,
            "{} probe attempts failed during a keepalived crash on {}",
            trial.failed,
            trial.from
        );
    }
}

#[test]
#[ignore = "measures HAProxy, not lb: run by bench/cluster-failover"]
fn haproxy_crash_on_the_active_node_for_comparison() {
    let Some(results) = run(Balancer::Haproxy, Crash::Balancer) else {
        return;
    };
    assert_within_bound(&results);
}

#[test]
#[ignore = "measures HAProxy, not lb: run by bench/cluster-failover"]
fn haproxy_keepalived_crash_for_comparison() {
    let Some(results) = run(Balancer::Haproxy, Crash::Keepalived) else {
        return;
    };
    assert_within_bound(&results);
}

/// Waits (bounded, polling `lb ctl cluster` every 50 ms) until `test` holds for `node`'s view
/// of the pair; panics naming `what` with the last view otherwise.
fn until_status(pair: &Pair, node: &str, what: &str, test: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = pair.cluster_status(node);
        if test(&status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{node}: {what}: {status:#}\n{}",
            pair.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn split_brain(status: &serde_json::Value) -> bool {
    status["vips"]
        .as_array()
        .unwrap()
        .iter()
        .all(|vip| vip["split_brain"] == true)
}

#[test]
fn a_cut_link_and_a_split_brain_show_on_both_nodes_and_heal() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(pair) = Pair::start(Balancer::Lb) else {
        return;
    };
    for node in ["lb1", "lb2"] {
        until_status(&pair, node, "the link is up", |s| {
            s["peer"]["connected"] == true && s["sync"] == "synced"
        });
    }
    // Replication cut: the link goes down on both sides (1 s of silence); VRRP is untouched.
    pair.rig.cut("lb1", REPLICATION_PORT);
    for node in ["lb1", "lb2"] {
        until_status(&pair, node, "the link is down", |s| {
            s["peer"]["connected"] == false
        });
    }
    assert!(
        pair.rig.vip_holder().is_some(),
        "cutting replication leaves VRRP alone: one node holds the VIP"
    );
    pair.rig.heal("lb1");
    for node in ["lb1", "lb2"] {
        until_status(&pair, node, "the link is back", |s| {
            s["peer"]["connected"] == true
        });
    }

    // VRRP cut, replication up: each node becomes master, and each says so.
    pair.rig.cut_vrrp("lb2");
    for node in ["lb1", "lb2"] {
        until_status(&pair, node, "split brain shown", split_brain);
    }
    assert_eq!(pair.rig.holders(VIP).len(), 2, "both nodes hold the VIP");
    let metrics = pair
        .rig
        .exec("lb1", &[env!("CARGO_BIN_EXE_lb"), "ctl", "metrics"]);
    assert!(
        metrics.contains("lb_cluster_split_brain{vip=\"mysql\"} 1"),
        "{metrics}"
    );
    pair.rig.heal("lb2");
    pair.rig
        .wait_single_vip_holder(Duration::from_millis(500), Duration::from_secs(5));
    for node in ["lb1", "lb2"] {
        until_status(&pair, node, "split brain over", |s| !split_brain(s));
    }
}

/// A client session through the VIP that prints when it is greeted and when it ends.
const SESSION_PY: &str = "import socket, sys, time
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
reader = sock.makefile('rb')
print('greeted', reader.readline().decode().split()[0], flush=True)
sock.settimeout(10)
try:
    rest = reader.readline()
    print('ended %.6f' % time.time(), 'eof' if not rest else 'data', flush=True)
except OSError as error:
    print('ended %.6f' % time.time(), type(error).__name__, flush=True)
";

#[test]
fn when_the_vip_leaves_a_node_its_sessions_end_at_once() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(pair) = Pair::start(Balancer::Lb) else {
        return;
    };
    let holder = pair
        .rig
        .wait_single_vip_holder(Duration::from_millis(500), Duration::from_secs(20));
    let mut command = std::process::Command::new("python3");
    command.args(["-u", "-c", SESSION_PY, VIP, &PORT.to_string()]);
    let session = pair.rig.spawn("cli", "session", command);
    session.wait_for("greeted", Duration::from_secs(10));
    // The address leaves the node (what keepalived does when it gives the VIP up).
    let removed_at = support::netns::now();
    pair.remove_vip(holder);
    let ended = session.wait_for("ended", Duration::from_secs(10));
    let at: f64 = ended.split_whitespace().nth(1).unwrap().parse().unwrap();
    println!(
        "cluster-vip-loss: session_ended_ms={:.1} ({ended})",
        (at - removed_at) * 1000.0
    );
    assert!(
        ended.ends_with("eof"),
        "lb closed the session cleanly: {ended}"
    );
    assert!(
        at - removed_at < 1.0,
        "the session ended {:.3} s after the VIP left",
        at - removed_at
    );
}
