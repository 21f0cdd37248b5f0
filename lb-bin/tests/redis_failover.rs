//! Redis behind a last-successful VIP with the `role:master` check, against three real
//! redis-server processes: traffic reaches only the master, follows a promoted replica after
//! the master dies, and no write ever lands on a replica.

mod support;

use std::time::Instant;

use support::lb::Lb;
use support::redis::{Redis, RespClient};
use support::{free_port, local};

/// The `tcp_port` that `INFO server` reports, i.e. which server answered.
fn answering_port(client: &mut RespClient) -> String {
    let info = client.command(&["INFO", "server"]);
    info.lines()
        .find_map(|line| line.strip_prefix("tcp_port:"))
        .unwrap_or_else(|| panic!("no tcp_port in {info:?}"))
        .to_owned()
}

#[test]
fn traffic_follows_the_redis_master_and_never_writes_to_a_replica() {
    let dir = tempfile::tempdir().unwrap();
    let master = Redis::start(dir.path(), "redis-0", None);
    let replicas: Vec<Redis> = (1..=2)
        .map(|i| Redis::start(dir.path(), &format!("redis-{i}"), Some(master.address)))
        .collect();
    let vip = local(free_port());
    let servers: Vec<String> = std::iter::once(&master)
        .chain(&replicas)
        .enumerate()
        .map(|(i, r)| format!(r#"{{ name = "redis-{i}", address = "{}" }}"#, r.address))
        .collect();
    let mut lb = Lb::start(
        dir.path(),
        &format!(
            r#"
[[vip]]
name = "redis"
listen = ["{vip}"]
scheduler = "first"
persistence = {{ kind = "last-successful" }}
check = {{ kind = "redis", interval = "200ms", rise = 2, fall = 2, timeout = "1s", initial = "down" }}
shutdown_sessions_on_down = true
servers = [ {} ]
"#,
            servers.join(", ")
        ),
    );
    lb.wait_health("redis-0", "up");

    let master_port = master.address.port().to_string();
    for i in 0..50 {
        let mut client = RespClient::connect(vip).expect("connect through the VIP");
        assert_eq!(client.command(&["SET", &format!("key-{i}"), "v"]), "+OK");
        assert_eq!(
            answering_port(&mut client),
            master_port,
            "only the master gets traffic"
        );
    }

    // The master dies; an operator (or Sentinel) promotes redis-1 and repoints redis-2.
    let mut master = master;
    lb.mark();
    let killed_at = Instant::now();
    master.process.kill();
    lb.wait_health("redis-0", "down");
    assert_eq!(replicas[0].command(&["REPLICAOF", "NO", "ONE"]), "+OK");
    let new_master = replicas[0].address;
    let port = new_master.port().to_string();
    assert_eq!(
        replicas[1].command(&["REPLICAOF", "127.0.0.1", &port]),
        "+OK"
    );

    // Writers keep trying through the VIP during the switch: a write either cannot be
    // delivered (no usable server yet) or lands on the new master, never on a replica.
    let mut writes = 0;
    while writes < 20 {
        assert!(
            killed_at.elapsed() < support::EVENT_TIMEOUT,
            "no failover: {}",
            lb.process.tail()
        );
        let Ok(mut client) = RespClient::connect(vip) else {
            continue;
        };
        let reply = client.command(&["SET", "during-failover", "v"]);
        assert!(
            !reply.starts_with("-READONLY"),
            "a write reached a replica: {reply}"
        );
        if reply == "+OK" {
            assert_eq!(answering_port(&mut client), port);
            writes += 1;
        }
    }
    println!(
        "redis failover: writes land on the new master {:?} after the kill",
        killed_at.elapsed()
    );
    assert!(
        lb.process
            .output()
            .iter()
            .any(|l| l.contains("server=redis-1 health=up"))
    );
}
