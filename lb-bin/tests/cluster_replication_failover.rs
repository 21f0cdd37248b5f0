//! What replication between the two nodes of a pair buys, in network namespaces (root only;
//! skipped otherwise), with keepalived configured by `lb keepalived` moving the VIP:
//!
//! - **The Galera writer**: a `last-successful` VIP (scheduler `first`) over three servers with a
//!   clustercheck. The active node moves the writer off a server whose check fails; the server
//!   comes back (no failback). Then lb on the active node is killed: the other node must send
//!   to the same writer, in every trial, never to the server that failed. The same run with
//!   `tables = []` shows the other node choosing the failed server, so the test can fail.
//! - **Source IP**: 100 client addresses mapped on the active node reach the same servers
//!   through the other node after failover (and fewer do without replication).
//! - **Partition and rejoin**: replication cut, entries changed on both sides (the writer moved
//!   on the holder and deleted on the other node, source-IP entries cleared on the holder, a
//!   server drained on the other node); once healed both nodes hold the same tables within
//!   seconds, the holder's writer stands, and the cleared entries stay cleared.
//!
//! `TRIALS` (default 3) sets the writer trials; `bench/cluster-failover` runs more.

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::cluster::{Balancer, Crash, Pair, REPLICATION_PORT, STICKY_PORT};
use support::netns::{NODES, SERVERS, now, peer_of};

/// One rig at a time (see `cluster_failover.rs`).
static SERIAL: Mutex<()> = Mutex::new(());

/// Every table replicates; `[]`: none does.
const NO_TABLES: &str = "[]";

fn trials() -> usize {
    std::env::var("TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0 && n <= 100)
        .unwrap_or(3)
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where scheduler `first` sends once `server` fails: the first other server in configured
/// order.
fn next_server(server: &str) -> &'static str {
    SERVERS
        .iter()
        .map(|(name, _)| *name)
        .find(|name| *name != server)
        .expect("three rig servers")
}

/// Waits (bounded, polling `lb ctl`) until `test` holds for what `read` gets from `node`.
fn until(
    pair: &Pair,
    node: &str,
    what: &str,
    read: &[&str],
    test: impl Fn(&serde_json::Value) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let value: serde_json::Value = serde_json::from_str(&pair.ctl(node, read)).unwrap();
        if test(&value) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{node}: {what}: {value:#}\n{}",
            pair.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until both nodes' replicas hold the same entries; answers how long it took.
fn until_converged(pair: &Pair) -> Duration {
    let started = Instant::now();
    loop {
        let [a, b] = NODES.map(|node| pair.cluster_status(node));
        if a["digest"] == b["digest"] && a["peer"]["connected"] == true {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the nodes' tables differ:\n{a:#}\n{b:#}\n{}",
            pair.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The server `mysql` sends to now, through `node` (the VIP holder).
fn writer(pair: &Pair, node: &str) -> String {
    let attempt = pair.wait_served_via(node, now(), Duration::from_secs(5));
    attempt.served.expect("served").0
}

/// Fails the writer's clustercheck on the holder's watch, waits until the holder sends to the
/// next server, brings the failed one back and waits until both nodes see it up again (no
/// failback). Answers (the failed server, the new writer).
fn move_writer(pair: &Pair, holder: &str) -> (String, &'static str) {
    let old = writer(pair, holder);
    let new = next_server(&old);
    pair.set_check_down(&old, true);
    pair.wait_attempt(
        now(),
        Duration::from_secs(5),
        &format!("served by {new}"),
        |a| {
            a.served
                .as_ref()
                .is_some_and(|(server, node)| server == new && *node == Some(holder))
        },
    );
    pair.set_check_down(&old, false);
    for node in NODES {
        let started = Instant::now();
        while !pair.server_up(node, &old) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{old} not up again on {node}\n{}",
                pair.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    (old, new)
}

/// Runs `trials` writer trials, printing each under `label`; answers, per trial, (failed server, expected writer, writer the
/// other node chose, attempts through it that went elsewhere in the first second).
fn writer_trials(
    pair: &mut Pair,
    label: &str,
    trials: usize,
) -> Vec<(String, String, String, usize)> {
    let mut results = Vec::new();
    for number in 1..=trials {
        let holder = pair
            .rig
            .wait_single_vip_holder(Duration::from_millis(500), Duration::from_secs(20));
        let (failed, expected) = move_writer(pair, holder);
        if pair.balancer == Balancer::Lb {
            until_converged(pair);
        }
        let trial = pair.crash_trial(Crash::Balancer);
        let after: Vec<String> = pair
            .attempts()
            .into_iter()
            .filter(|a| a.node() == Some(trial.to) && a.start < now() && a.start > now() - 1.0)
            .filter_map(|a| a.served.map(|(server, _)| server))
            .collect();
        let elsewhere = after.iter().filter(|server| *server != expected).count();
        println!(
            "cluster-writer: balancer={label} trial={number} from={} to={} failed={failed} expected={expected} chose={} first_served_ms={:.1} elsewhere={elsewhere}",
            trial.from,
            trial.to,
            trial.first_server,
            trial.first_served * 1000.0
        );
        results.push((failed, expected.to_owned(), trial.first_server, elsewhere));
    }
    results
}

#[test]
fn the_writer_chosen_on_the_active_node_is_kept_by_the_other_after_failover() {
    let _serial = serial();
    let Some(mut pair) = Pair::start(Balancer::Lb) else {
        return;
    };
    for (failed, expected, chose, elsewhere) in writer_trials(&mut pair, "lb", trials()) {
        assert_eq!(
            chose, expected,
            "the other node sent writes to {chose}, not {expected} (failed: {failed})"
        );
        assert_eq!(
            elsewhere, 0,
            "writes split: some went elsewhere than {expected}"
        );
    }
}

#[test]
#[ignore = "measures HAProxy, not lb: run by bench/cluster-failover"]
fn haproxy_with_peers_keeps_the_writer_for_comparison() {
    let _serial = serial();
    let Some(mut pair) = Pair::start(Balancer::Haproxy) else {
        return;
    };
    let results = writer_trials(&mut pair, "haproxy-peers", trials());
    let kept = results
        .iter()
        .filter(|(_, expected, chose, _)| chose == expected)
        .count();
    println!(
        "cluster-writer-summary: balancer=haproxy kept={kept}/{}",
        results.len()
    );
}

#[test]
fn without_replication_the_other_node_chooses_the_failed_server() {
    let _serial = serial();
    let Some(mut pair) = Pair::start_with(Balancer::Lb, NO_TABLES) else {
        return;
    };
    let results = writer_trials(&mut pair, "lb-no-replication", 1);
    let (failed, expected, chose, _) = &results[0];
    assert_eq!(
        chose, failed,
        "without replication the other node starts over (expected would be {expected})"
    );
}

/// Maps 100 clients on the holder, kills it, and answers how many reach the same server
/// through the other node when they come back (in the reverse order: round robin starting
/// over on the other node would give the same servers to clients arriving in the same order).
fn clients_kept(pair: &mut Pair) -> usize {
    let before = pair.clients(STICKY_PORT, 100, false);
    assert_eq!(before.len(), 100, "{before:?}");
    assert!(
        before.iter().all(|(_, server)| server.starts_with('s')),
        "{before:?}"
    );
    until_converged(pair);
    pair.crash_trial(Crash::Balancer);
    let after = pair.clients(STICKY_PORT, 100, true);
    before.iter().zip(&after).filter(|(b, a)| b == a).count()
}

#[test]
fn source_ip_clients_stay_on_their_servers_after_failover() {
    let _serial = serial();
    let Some(mut pair) = Pair::start(Balancer::Lb) else {
        return;
    };
    let kept = clients_kept(&mut pair);
    println!("cluster-source-ip: replication=on kept={kept}/100");
    assert_eq!(
        kept, 100,
        "every client reaches the same server through the other node"
    );
}

#[test]
fn without_replication_source_ip_clients_move() {
    let _serial = serial();
    let Some(mut pair) = Pair::start_with(Balancer::Lb, NO_TABLES) else {
        return;
    };
    let kept = clients_kept(&mut pair);
    println!("cluster-source-ip: replication=off kept={kept}/100");
    assert!(
        kept < 100,
        "round robin from scratch on the other node moves some clients"
    );
}

#[test]
fn after_a_partition_the_tables_converge_the_holder_s_writer_stands_and_deletes_hold() {
    let _serial = serial();
    let Some(pair) = Pair::start(Balancer::Lb) else {
        return;
    };
    let holder = pair
        .rig
        .wait_single_vip_holder(Duration::from_millis(500), Duration::from_secs(20));
    let other = peer_of(holder);
    assert_eq!(pair.clients(STICKY_PORT, 20, false).len(), 20);
    until_converged(&pair);

    pair.rig.cut("lb1", REPLICATION_PORT);
    for node in NODES {
        until(&pair, node, "the link is down", &["cluster"], |s| {
            s["peer"]["connected"] == false
        });
    }
    // The holder moves the writer and clears its source-IP table...
    let (_, writer_on_holder) = move_writer(&pair, holder);
    pair.ctl(holder, &["clear-persistence", "sticky"]);
    // ...then the other node, later (newer versions), forgets its writer and drains s3.
    pair.ctl(other, &["clear-persistence", "mysql"]);
    pair.ctl(other, &["state", "mysql", "s3", "drain"]);

    pair.rig.heal("lb1");
    let converged = until_converged(&pair);
    println!("cluster-partition: converged_ms={}", converged.as_millis());
    assert!(
        converged < Duration::from_secs(5),
        "converged only after {converged:?}"
    );
    // The holder's writer stands: the holder still sends there, and both replicas agree.
    assert_eq!(writer(&pair, holder), writer_on_holder);
    // The cleared source-IP entries stayed cleared; the drain reached the holder.
    for node in NODES {
        let status = pair.cluster_status(node);
        assert_eq!(
            status["entries"], 2,
            "the writer and the drained s3 only, on {node}: {status:#}"
        );
    }
    until(
        &pair,
        holder,
        "s3 drained on the holder",
        &["vip", "mysql"],
        |vip| {
            vip["servers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["name"] == "s3" && s["state"] == "drain")
        },
    );
}
