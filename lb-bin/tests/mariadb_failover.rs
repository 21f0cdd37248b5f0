//! MariaDB behind a last-successful VIP with a clustercheck-style HTTP check on another port,
//! against real mariadbd processes: every client lands on one server, another takes over when
//! it dies, and keeps the traffic after the first returns (no failback).

mod support;

use support::lb::Lb;
use support::mariadb::{MariaDb, query};
use support::{free_port, local};

fn server_id_through(vip: std::net::SocketAddr) -> String {
    query(vip, "SELECT @@server_id").unwrap_or_else(|e| panic!("query through the VIP: {e}"))
}

#[test]
fn mysql_vip_keeps_one_writer_and_never_fails_back() {
    let dir = tempfile::tempdir().unwrap();
    // Like controllers, each server has its own address with the same SQL and check ports.
    let (sql_port, check_port) = (free_port(), free_port());
    let at = |host: u8, port: u16| std::net::SocketAddr::from(([127, 0, 0, host], port));
    let mut db0 = MariaDb::start(dir.path(), "db-0", 1, at(21, sql_port), at(21, check_port));
    let db1 = MariaDb::start(dir.path(), "db-1", 2, at(22, sql_port), at(22, check_port));
    let vip = local(free_port());
    let mut lb = Lb::start(
        dir.path(),
        &format!(
            r#"
[[vip]]
name = "mysql"
listen = ["{vip}"]
scheduler = "first"
persistence = {{ kind = "last-successful" }}
check = {{ kind = "http", port = {check_port}, path = "/", expect = "200", interval = "300ms", rise = 2, fall = 2, timeout = "2s", initial = "down" }}
client_timeout = "90m"
server_timeout = "90m"
shutdown_sessions_on_down = true
servers = [
  {{ name = "db-0", address = "{}" }},
  {{ name = "db-1", address = "{}" }},
]
"#,
            db0.address, db1.address
        ),
    );
    lb.wait_health("db-0", "up");
    lb.wait_health("db-1", "up");
    for _ in 0..10 {
        assert_eq!(
            server_id_through(vip),
            "1",
            "every client lands on the first writer"
        );
    }

    lb.mark();
    db0.kill();
    // Until the check marks db-0 down, a connect to it is refused and retried on db-1: every
    // query through the VIP succeeds.
    for _ in 0..5 {
        assert_eq!(server_id_through(vip), "2");
    }
    lb.wait_health("db-0", "down");
    assert_eq!(server_id_through(vip), "2");

    lb.mark();
    db0.resume();
    lb.wait_health("db-0", "up");
    for _ in 0..10 {
        assert_eq!(
            server_id_through(vip),
            "2",
            "no failback to the recovered server"
        );
    }
}
