//! `lb import` against the real thing: Debian's HAProxy runs a TripleO-style haproxy.cfg, lb
//! runs what `lb import` made of the same file, both in front of the same loopback servers,
//! and a client sees the same behaviour through both: the same round-robin counts (keystone),
//! the same cookie stickiness and spread of new clients (Horizon), and the same Galera writer,
//! before and after that writer fails (`stick on dst` with every server `backup` becoming
//! last-successful with `first`). The two configurations differ only in their listen ports.
//! Skipped with a message when `haproxy` is not installed (`.ci/install-deps` installs it).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::lb::Lb;
use support::misbehaving::{Behaviour, Misbehaving};
use support::process::Process;
use support::{EVENT_TIMEOUT, free_port, local};

/// The listen ports of one balancer: keystone_public, horizon, mysql.
#[derive(Clone, Copy)]
struct Ports {
    keystone: u16,
    horizon: u16,
    mysql: u16,
}

impl Ports {
    fn free() -> Ports {
        Ports {
            keystone: free_port(),
            horizon: free_port(),
            mysql: free_port(),
        }
    }
}

/// The servers behind every VIP: three controllers per service, each answering its name.
struct Controllers {
    keystone: Vec<Misbehaving>,
    horizon: Vec<Misbehaving>,
    mysql: Vec<Misbehaving>,
}

impl Controllers {
    fn start() -> Controllers {
        let three = |service: &str| {
            (0..3)
                .map(|n| Misbehaving::start(&format!("{service}-controller-{n}")))
                .collect()
        };
        Controllers {
            keystone: three("keystone"),
            horizon: three("horizon"),
            mysql: three("mysql"),
        }
    }

    fn members(servers: &[Misbehaving], options: &str) -> String {
        servers
            .iter()
            .enumerate()
            .map(|(n, server)| {
                let cookie = if options.contains("cookie") {
                    format!(" controller-{n}")
                } else {
                    String::new()
                };
                format!(
                    "  server controller-{n} {} {options}{cookie}\n",
                    server.address
                )
            })
            .collect()
    }

    /// The haproxy.cfg, in puppet-tripleo's layout, listening on `ports`.
    fn haproxy_cfg(&self, ports: Ports) -> String {
        let member = "check fall 2 inter 500 rise 2";
        format!(
            "# This file is managed by Puppet\n\
             global\n  maxconn  4000\n  log  /dev/log local0\n\n\
             defaults\n  log  global\n  maxconn  4096\n  mode  tcp\n  option  redispatch\n  \
             retries  3\n  timeout  http-request 10s\n  timeout  queue 2m\n  \
             timeout  connect 10s\n  timeout  client 2m\n  timeout  server 2m\n  \
             timeout  check 10s\n\n\
             listen keystone_public\n  bind 127.0.0.1:{keystone}\n  \
             option httpchk GET /healthcheck\n{keystone_servers}\n\
             listen horizon\n  bind 127.0.0.1:{horizon}\n  mode http\n  \
             cookie SERVERID insert indirect nocache\n  option forwardfor\n  option httpchk\n\
             {horizon_servers}\n\
             listen mysql\n  bind 127.0.0.1:{mysql}\n  option tcpka\n  \
             option httpchk\n  stick on dst\n  stick-table type ip size 1000\n  \
             timeout client 90m\n  timeout server 90m\n{mysql_servers}",
            keystone = ports.keystone,
            horizon = ports.horizon,
            mysql = ports.mysql,
            keystone_servers = Self::members(&self.keystone, member),
            horizon_servers = Self::members(&self.horizon, &format!("{member} cookie")),
            mysql_servers = Self::members(
                &self.mysql,
                "backup check inter 500 fall 2 rise 2 on-marked-down shutdown-sessions"
            ),
        )
    }
}

/// `haproxy -db -f FILE`, stopped when dropped; waits until it accepts on `port`.
fn start_haproxy(dir: &Path, cfg: &str, port: u16) -> Process {
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let mut command = Command::new("haproxy");
    command.arg("-db").arg("-f").arg(&path);
    let process = Process::spawn("haproxy", command);
    let deadline = Instant::now() + EVENT_TIMEOUT;
    while TcpStream::connect(local(port)).is_err() {
        assert!(Instant::now() < deadline, "haproxy does not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    process
}

/// `lb import` of `cfg`: the TOML, checked with `--check` against the file.
fn import(dir: &Path, cfg: &str) -> String {
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lb"))
        .args(["import", path.to_str().unwrap(), "--check"])
        .output()
        .unwrap();
    let report = String::from_utf8(output.stderr).unwrap();
    assert!(
        report.contains("lb import: check: every VIP has"),
        "{report}"
    );
    String::from_utf8(output.stdout).unwrap()
}

/// One HTTP/1.1 request on a new connection: the server's name (the body) and the
/// persistence cookie's value, if one is set.
fn get(vip: SocketAddr, cookie: Option<&str>) -> (String, Option<String>) {
    try_get(vip, cookie).unwrap_or_else(|| panic!("{vip}: no response"))
}

/// [`get`], or `None` when no whole `200` response comes (a connection closed while a
/// balancer fails over).
fn try_get(vip: SocketAddr, cookie: Option<&str>) -> Option<(String, Option<String>)> {
    let mut stream = TcpStream::connect(vip).ok()?;
    stream.set_read_timeout(Some(EVENT_TIMEOUT)).unwrap();
    let cookie = cookie.map_or(String::new(), |value| {
        format!("Cookie: SERVERID={value}\r\n")
    });
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: dashboard\r\n{cookie}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    let set = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let value = value.trim().strip_prefix("SERVERID=")?;
        name.eq_ignore_ascii_case("set-cookie")
            .then(|| value.split(';').next().unwrap_or("").to_owned())
    });
    Some((body.trim().to_owned(), set))
}

/// How many of `n` new clients each server gets.
fn spread(vip: SocketAddr, n: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        *counts.entry(get(vip, None).0).or_default() += 1;
    }
    counts
}

/// The server every new client gets (`,`-separated when they differ), once five new clients
/// in a row get `wanted` or the event timeout passes; attempts without an answer (while a
/// balancer fails over) are retried.
fn writer(vip: SocketAddr, wanted: &str) -> String {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let servers: BTreeSet<String> = (0..5)
            .map(|_| try_get(vip, None).map_or_else(|| "no answer".to_owned(), |(name, _)| name))
            .collect();
        if servers.len() == 1 && servers.contains(wanted) || Instant::now() > deadline {
            return servers.into_iter().collect::<Vec<_>>().join(",");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn haproxy_and_lb_on_the_imported_file_treat_clients_alike() {
    if Command::new("haproxy").arg("-v").output().is_err() {
        eprintln!("skipped: haproxy is not installed (.ci/install-deps installs it)");
        return;
    }
    let controllers = Controllers::start();
    let (haproxy_dir, lb_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (haproxy_ports, lb_ports) = (Ports::free(), Ports::free());
    let _haproxy = start_haproxy(
        haproxy_dir.path(),
        &controllers.haproxy_cfg(haproxy_ports),
        haproxy_ports.mysql,
    );
    let toml = import(lb_dir.path(), &controllers.haproxy_cfg(lb_ports));
    let _lb = Lb::start(lb_dir.path(), &toml);
    let both = |pick: fn(Ports) -> u16| [local(pick(haproxy_ports)), local(pick(lb_ports))];

    // keystone: round-robin over three controllers, tcp mode.
    let [haproxy, lb] = both(|ports| ports.keystone);
    let (through_haproxy, through_lb) = (spread(haproxy, 30), spread(lb, 30));
    println!("keystone_public, 30 clients: haproxy {through_haproxy:?}, lb {through_lb:?}");
    assert_eq!(
        through_haproxy.values().collect::<Vec<_>>(),
        [&10, &10, &10]
    );
    assert_eq!(through_lb, through_haproxy);

    // horizon: new clients spread round-robin; each stays with the server its cookie names.
    let [haproxy, lb] = both(|ports| ports.horizon);
    for vip in [haproxy, lb] {
        let mut first_servers = BTreeSet::new();
        for _ in 0..3 {
            let (server, cookie) = get(vip, None);
            let cookie = cookie.unwrap_or_else(|| panic!("{vip}: no SERVERID cookie"));
            for _ in 0..10 {
                assert_eq!(get(vip, Some(&cookie)).0, server, "{vip}: sticky");
            }
            first_servers.insert(server);
        }
        assert_eq!(
            first_servers.len(),
            3,
            "{vip}: three new clients, three servers"
        );
    }

    // mysql: one writer for every client, the first controller; when it fails, both move
    // every client to the next one.
    let [haproxy, lb] = both(|ports| ports.mysql);
    let first = "mysql-controller-0";
    assert_eq!(
        (writer(haproxy, first), writer(lb, first)),
        (first.into(), first.into())
    );
    controllers.mysql[0].misbehave(Behaviour::Refuses);
    let next = "mysql-controller-1";
    assert_eq!(
        (writer(haproxy, next), writer(lb, next)),
        (next.into(), next.into())
    );
}
