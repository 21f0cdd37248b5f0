//! A clustered pair on the [`Rig`]: three identity servers in `be`, a balancer (`lb run`, or
//! HAProxy 2.6 with `peers` for comparison) and keepalived on each of `lb1` and `lb2`, and a
//! probe in `cli` that opens a connection to the VIP every 10 ms. Crash trials kill the
//! balancer or keepalived on the node that holds the VIP and measure, on one clock (seconds
//! since the epoch, printed by the helper scripts and read by the test), how long until the
//! other node serves the probe.
//!
//! The helpers are small Python 3 scripts (stdlib only) under `support/cluster/`, written
//! into the rig's scratch directory and run inside the namespaces with `ip netns exec`:
//! `servers.py` (identity servers: each greets with `<name> <client address>`, so a probe
//! line names the server and, by the balancer's back address, the node that served it),
//! `probe.py` (one line per attempt) and `addrwatch.py` (the time an address arrives on a
//! node, from rtnetlink).
//!
//! keepalived (Debian's 2.2.7) is started from the root namespace with `net_namespace` in its
//! config, so that `vrrp_track_process` works (its process-event connector only exists in the
//! initial namespace). In 2.2.7 `net_namespace` is a top-level keyword: inside `global_defs`
//! keepalived says "Unknown keyword" and then fails on the missing interface.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::netns::{
    self, FRONT, NODES, Rig, SERVERS, VIP, VIP_PREFIX, node_of_back_address, now, peer_of,
};
use super::process::Process;

mod configs;
pub use configs::*;

/// The service port: the VIP's and the servers'.
pub const PORT: u16 = 3306;
/// The servers' clustercheck-style HTTP port (503 while `<dir>/<name>.down` exists).
pub const CHECK_PORT: u16 = 9200;
/// The replication (HAProxy `peers`) port on the `repl` link.
pub const PEERS_PORT: u16 = 1025;
/// The VRRP advertisement interval, in seconds.
pub const ADVERT_INTERVAL: &str = "0.2";
/// The same, in milliseconds, for lb's `[cluster.vrrp] advert_interval`.
pub const ADVERT_INTERVAL_MS: u32 = 200;
/// The port of the `sticky` VIP (source-ip persistence) on the VIP address; the servers
/// behind it are the same identity servers on [`PORT`].
pub const STICKY_PORT: u16 = 3307;
/// The probe starts a connection every this many seconds...
pub const PROBE_PERIOD: f64 = 0.01;
/// ...gives each this long for its handshake...
pub const PROBE_CONNECT_TIMEOUT: f64 = 0.05;
/// ...and then this long for the server's greeting.
pub const PROBE_READ_TIMEOUT: f64 = 0.5;
/// The most any helper script lives, in seconds: every one stops by itself.
const HELPER_LIFETIME: &str = "1200";
/// The longest a trial waits for the other node to serve.
const SERVE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest startup steps (a balancer listening, keepalived electing) may take.
const START_TIMEOUT: Duration = Duration::from_secs(20);

const SERVERS_PY: &str = include_str!("cluster/servers.py");
const PROBE_PY: &str = include_str!("cluster/probe.py");
const ADDRWATCH_PY: &str = include_str!("cluster/addrwatch.py");
const CLIENTS_PY: &str = include_str!("cluster/clients.py");

/// Which balancer runs on the nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balancer {
    /// `lb run -c <node>.toml` (this project).
    Lb,
    /// `haproxy -db -f <node>.cfg -L <node>` with a `peers` section on the `repl` link.
    Haproxy,
}

impl Balancer {
    /// The name figures are printed under.
    pub fn name(self) -> &'static str {
        match self {
            Balancer::Lb => "lb",
            Balancer::Haproxy => "haproxy",
        }
    }
}

/// What a crash trial kills on the node holding the VIP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crash {
    /// SIGKILL of the balancer process (keepalived's `vrrp_track_process` sees it exit).
    Balancer,
    /// SIGKILL of keepalived, its VRRP child first, then its parent (the VIP stays on the
    /// killed node until the test removes it; the peer takes over after the master-down
    /// interval and sends gratuitous ARPs).
    Keepalived,
}

impl Crash {
    /// The scenario name figures are printed under.
    pub fn name(self) -> &'static str {
        match self {
            Crash::Balancer => "balancer-kill",
            Crash::Keepalived => "keepalived-kill",
        }
    }
}

/// One probe attempt: `start end ok <server> <client>` or `start end err <reason>`.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// When the attempt began (seconds since the epoch).
    pub start: f64,
    /// When it ended.
    pub end: f64,
    /// The server that greeted, and the node whose back address it saw; `None` on error.
    pub served: Option<(String, Option<&'static str>)>,
    /// The error, e.g. `ECONNREFUSED`, `timeout`, `closed`.
    pub error: Option<String>,
}

impl Attempt {
    fn parse(line: &str) -> Option<Attempt> {
        let mut words = line.split_whitespace();
        let start = words.next()?.parse().ok()?;
        let end = words.next()?.parse().ok()?;
        match words.next()? {
            "ok" => {
                let server = words.next()?.to_owned();
                let node = words.next().and_then(node_of_back_address);
                Some(Attempt {
                    start,
                    end,
                    served: Some((server, node)),
                    error: None,
                })
            }
            "err" => Some(Attempt {
                start,
                end,
                served: None,
                error: Some(words.next().unwrap_or("?").to_owned()),
            }),
            _ => None,
        }
    }

    /// The node that served this attempt, if one did.
    pub fn node(&self) -> Option<&'static str> {
        self.served.as_ref().and_then(|(_, node)| *node)
    }
}

/// The figures of one crash trial, in seconds from the kill.
#[derive(Clone, Debug)]
pub struct Trial {
    /// What was killed.
    pub crash: Crash,
    /// The node that held the VIP and was crashed.
    pub from: &'static str,
    /// The node that took over.
    pub to: &'static str,
    /// The server of the first probe attempt served through `to` (the writer it chose).
    pub first_server: String,
    /// From the kill to the end of the first probe attempt served through `to` (attempts
    /// begin every 10 ms whatever the earlier ones do, so a hanging one does not delay this).
    pub first_served: f64,
    /// From the kill to the VIP's arrival on `to` (rtnetlink event there).
    pub vip_added: Option<f64>,
    /// From the VIP's arrival on `to` to the start of the first attempt `to` served: the
    /// balancer's own share (plus ARP), bounded below by the probe period.
    pub served_after_vip: Option<f64>,
    /// Probe attempts begun after the kill and before the first one `to` served that failed.
    pub failed: usize,
    /// Of those, the ones that connected and then got no greeting and no FIN or RST
    /// (`read-timeout`): connections the crashed node accepted and left hanging.
    pub hung: usize,
    /// Probe attempts after the kill still served by `from` (keepalived crash: stale VIP).
    pub served_by_old: usize,
    /// The first errors seen (up to 3 distinct), for the printed line.
    pub errors: Vec<String>,
}

impl Trial {
    /// One line for logs and for `bench/cluster-failover` to parse.
    pub fn line(&self, balancer: Balancer, number: usize) -> String {
        let ms = |s: Option<f64>| s.map_or("-".to_owned(), |s| format!("{:.1}", s * 1000.0));
        format!(
            "cluster-failover: balancer={} scenario={} trial={number} from={} to={} \
             first_served_ms={} vip_added_ms={} served_after_vip_ms={} failed={} hung={} \
             served_by_old={} errors={}",
            balancer.name(),
            self.crash.name(),
            self.from,
            self.to,
            ms(Some(self.first_served)),
            ms(self.vip_added),
            ms(self.served_after_vip),
            self.failed,
            self.hung,
            self.served_by_old,
            if self.errors.is_empty() {
                "-".to_owned()
            } else {
                self.errors.join(",")
            },
        )
    }
}

/// A balancer node: the exact command line it runs (what `vrrp_track_process` matches) and
/// its process while it runs.
pub struct Node {
    /// `lb1` or `lb2`.
    pub name: &'static str,
    /// Program (absolute path) and arguments.
    pub command: Vec<String>,
    /// The running balancer.
    pub process: Option<Process>,
    /// The running keepalived (in the root namespace, moved into the node's by itself).
    pub keepalived: Option<Keepalived>,
    /// The node's rtnetlink address watcher.
    pub watch: Process,
}

/// A running keepalived for one node.
pub struct Keepalived {
    /// The parent process.
    pub process: Process,
    /// The config file.
    pub config: PathBuf,
    /// Where keepalived writes its VRRP child's pid (`-r`).
    pub vrrp_pid_file: PathBuf,
}

impl Keepalived {
    /// Stops keepalived the way an operator would (SIGTERM: it releases the VIP and reaps
    /// its VRRP child), waiting up to 3 s for the parent to exit, then SIGKILL.
    pub fn stop(&mut self) {
        let pid = self.process.pid();
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && process_state(pid).is_some_and(|state| state != 'Z') {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.process.kill();
    }

    /// The VRRP child's pid: from its pid file, else the parent's only child.
    pub fn vrrp_pid(&self) -> Option<u32> {
        let parent = self.process.pid();
        std::fs::read_to_string(&self.vrrp_pid_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .or_else(|| {
                std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
                    .ok()?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
    }
}

/// The whole pair, torn down on drop (processes first, then the namespaces).
pub struct Pair {
    /// Which balancer the nodes run.
    pub balancer: Balancer,
    /// The identity servers in `be`.
    pub servers: Process,
    /// lb1 and lb2.
    pub nodes: Vec<Node>,
    /// The probe in `cli`.
    pub probe: Process,
    /// The namespaces; declared last, so dropped after every process above.
    pub rig: Rig,
    keepalived_starts: u32,
}

impl Drop for Pair {
    /// Stops the processes from the client inwards (probe, keepalived, balancers, servers),
    /// so that a failing test's printed logs end with the failure, not with the teardown.
    fn drop(&mut self) {
        self.probe.kill();
        for node in &mut self.nodes {
            if let Some(keepalived) = node.keepalived.as_mut() {
                keepalived.stop();
            }
        }
        for node in &mut self.nodes {
            if let Some(process) = node.process.as_mut() {
                process.kill();
            }
            node.watch.kill();
        }
        self.servers.kill();
    }
}

impl Pair {
    /// Builds the rig and starts everything, lb nodes replicating every table; `None` when
    /// not root (the rig prints why).
    pub fn start(balancer: Balancer) -> Option<Pair> {
        Pair::start_with(
            balancer,
            "[\"last-successful\", \"source-ip\", \"server-state\"]",
        )
    }

    /// Like [`Pair::start`], lb nodes replicating `tables` (a TOML array; `[]` for none).
    pub fn start_with(balancer: Balancer, tables: &str) -> Option<Pair> {
        let rig = Rig::new()?;
        let dir = rig.path().to_path_buf();
        let secret = rig.write("cluster.secret", "a secret the two nodes share\n");
        let token = rig.write("admin.token", "rig-token\n");
        let servers_py = rig.write("servers.py", SERVERS_PY);
        let probe_py = rig.write("probe.py", PROBE_PY);
        let addrwatch_py = rig.write("addrwatch.py", ADDRWATCH_PY);

        let mut command = Command::new("python3");
        command
            .arg("-u")
            .arg(&servers_py)
            .arg(&dir)
            .arg(PORT.to_string())
            .arg(CHECK_PORT.to_string())
            .arg(HELPER_LIFETIME)
            .args(
                SERVERS
                    .iter()
                    .map(|(name, address)| format!("{name}={address}")),
            );
        let servers = rig.spawn("be", "servers", command);
        servers.wait_for("ready", START_TIMEOUT);

        let mut nodes = Vec::new();
        for name in NODES {
            let mut command = Command::new("python3");
            command.arg("-u").arg(&addrwatch_py).arg(HELPER_LIFETIME);
            let watch = rig.spawn(name, &format!("addrwatch-{name}"), command);
            watch.wait_for("watching", START_TIMEOUT);
            let command = match balancer {
                Balancer::Lb => {
                    let config = rig.write(
                        &format!("{name}.toml"),
                        &lb_config(name, &secret, &token, tables),
                    );
                    vec![
                        env!("CARGO_BIN_EXE_lb").to_owned(),
                        "run".to_owned(),
                        "-c".to_owned(),
                        config.display().to_string(),
                    ]
                }
                Balancer::Haproxy => {
                    let socket = dir.join(format!("{name}.sock"));
                    let config = rig.write(&format!("{name}.cfg"), &haproxy_config(&socket));
                    vec![
                        which("haproxy"),
                        "-db".to_owned(),
                        "-f".to_owned(),
                        config.display().to_string(),
                        "-L".to_owned(),
                        name.to_owned(),
                    ]
                }
            };
            nodes.push(Node {
                name,
                command,
                process: None,
                keepalived: None,
                watch,
            });
        }
        let probe = {
            let mut command = Command::new("python3");
            command.arg("-u").arg(&probe_py).args([
                VIP,
                &PORT.to_string(),
                &PROBE_PERIOD.to_string(),
                &PROBE_CONNECT_TIMEOUT.to_string(),
                &PROBE_READ_TIMEOUT.to_string(),
                HELPER_LIFETIME,
                "-",
            ]);
            rig.spawn("cli", "probe", command)
        };
        let mut pair = Pair {
            balancer,
            servers,
            nodes,
            probe,
            rig,
            keepalived_starts: 0,
        };
        pair.probe.wait_for("probing", START_TIMEOUT);
        // Both balancers listen on the VIP before either node holds it.
        for node in NODES {
            pair.start_balancer(node);
        }
        for node in NODES {
            pair.start_keepalived(node);
        }
        let holder = pair
            .rig
            .wait_single_vip_holder(Duration::from_millis(500), START_TIMEOUT);
        pair.wait_served_via(holder, now(), START_TIMEOUT);
        Some(pair)
    }

    /// The node called `name`.
    pub fn node(&mut self, name: &str) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|node| node.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    /// Starts the balancer of `node` in its namespace and waits until it listens on the VIP.
    pub fn start_balancer(&mut self, name: &str) {
        let balancer = self.balancer;
        let node_command = self.node(name).command.clone();
        let mut command = Command::new(&node_command[0]);
        command.args(&node_command[1..]);
        if balancer == Balancer::Lb {
            command.env("RUST_LOG", "info").env("NO_COLOR", "1");
        }
        let process = self
            .rig
            .spawn(name, &format!("{}-{name}", balancer.name()), command);
        match balancer {
            Balancer::Lb => super::lb::wait_ready(&process),
            Balancer::Haproxy => self.wait_listening(name, &process),
        }
        self.node(name).process = Some(process);
    }

    /// Waits until a socket listens on the VIP port in `node` (`ss`), bounded.
    fn wait_listening(&self, node: &str, process: &Process) {
        let deadline = Instant::now() + START_TIMEOUT;
        let filter = format!("sport = :{PORT}");
        loop {
            let listening = self.rig.exec(node, &["ss", "-Hltn", &filter]);
            if listening.contains(&format!("{VIP}:{PORT}")) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{node}: nothing listens on {VIP}:{PORT} after {START_TIMEOUT:?}\n{}",
                process.tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Writes `node`'s keepalived.conf, starts keepalived from the root namespace and waits
    /// for its instance to enter a state (BACKUP at start, as configured).
    pub fn start_keepalived(&mut self, name: &str) {
        let namespace = self.rig.ns(name);
        let tracked = self.node(name).command.clone();
        let config = self.rig.write(
            &format!("keepalived-{name}.conf"),
            &match self.balancer {
                Balancer::Lb => lb_keepalived_conf(&namespace, &tracked[3]),
                Balancer::Haproxy => keepalived_conf(&namespace, name, &tracked),
            },
        );
        // Fresh pid files for every start: a SIGKILLed keepalived leaves its own behind, and
        // its VRRP child may still be a zombie, which keepalived takes for a running daemon.
        self.keepalived_starts += 1;
        let start = self.keepalived_starts;
        let pid = |kind: &str| {
            self.rig
                .path()
                .join(format!("keepalived-{name}-{start}{kind}.pid"))
        };
        let vrrp_pid_file = pid("-vrrp");
        let mut command = Command::new("keepalived");
        command
            .args(["--dont-fork", "--log-console", "--log-detail", "--vrrp"])
            .arg("--use-file")
            .arg(&config)
            .arg("--pid")
            .arg(pid(""))
            .arg("--vrrp_pid")
            .arg(&vrrp_pid_file)
            .arg("--checkers_pid")
            .arg(pid("-checkers"));
        let process = Process::spawn(&format!("keepalived-{name}"), command);
        process.wait_for("Entering BACKUP STATE", START_TIMEOUT);
        self.node(name).keepalived = Some(Keepalived {
            process,
            config,
            vrrp_pid_file,
        });
    }

    /// Makes server `name`'s clustercheck port answer 503 (`down`) or 200, as a Galera node
    /// leaving or rejoining the primary component would.
    pub fn set_check_down(&self, name: &str, down: bool) {
        let flag = self.rig.path().join(format!("{name}.down"));
        if down {
            std::fs::write(&flag, "down\n").expect("write the down flag");
        } else {
            let _ = std::fs::remove_file(&flag);
        }
    }

    /// Connections server `name` accepted from `node`'s back address since the start (health
    /// checks included: a tcp check is a connection).
    pub fn connections(&self, name: &str, node: &str) -> usize {
        let needle = format!(" conn {name} {}", netns::back_address(node));
        self.servers
            .output()
            .iter()
            .filter(|line| line.ends_with(&needle))
            .count()
    }

    /// One connection from each of the first `count` extra client addresses to the VIP's
    /// `port`, in turn (the last address first when `reverse`): the server each reached, by
    /// client address in address order (`err ...` when none).
    pub fn clients(&self, port: u16, count: u8, reverse: bool) -> Vec<(String, String)> {
        let script = self.rig.write("clients.py", CLIENTS_PY);
        let output = self.rig.exec(
            "cli",
            &[
                "python3",
                &script.display().to_string(),
                VIP,
                &port.to_string(),
                &count.to_string(),
                "1",
                if reverse { "reverse" } else { "forward" },
            ],
        );
        let mut clients: Vec<(String, String)> = output
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(client, server)| (client.to_owned(), server.to_owned()))
            .collect();
        clients.sort_by_key(|(client, _)| client.parse::<std::net::Ipv4Addr>().ok());
        clients
    }

    /// Runs `lb ctl ARGS` on `node` (with the admin token) and answers its stdout, asserting
    /// it succeeded.
    pub fn ctl(&self, node: &str, args: &[&str]) -> String {
        let token = self.rig.path().join("admin.token").display().to_string();
        let mut command = vec![env!("CARGO_BIN_EXE_lb"), "ctl", "--token-file", &token];
        command.extend_from_slice(args);
        self.rig.exec(node, &command)
    }

    /// Whether `node`'s balancer sees server `name` of `mysql` up: `lb ctl vip mysql`, or
    /// HAProxy's `show stat` on its stats socket.
    pub fn server_up(&self, node: &str, name: &str) -> bool {
        match self.balancer {
            Balancer::Lb => {
                let vip: serde_json::Value =
                    serde_json::from_str(&self.ctl(node, &["vip", "mysql"])).unwrap();
                vip["servers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|server| server["name"] == name && server["state"] == "up")
            }
            Balancer::Haproxy => {
                let socket = self.rig.path().join(format!("{node}.sock"));
                let script = "import socket, sys\n\
                    s = socket.socket(socket.AF_UNIX)\n\
                    s.connect(sys.argv[1])\n\
                    s.sendall(b'show stat\\n')\n\
                    out = b''\n\
                    while True:\n    chunk = s.recv(65536)\n    if not chunk: break\n    out += chunk\n\
                    print(out.decode())\n";
                let stat = self.rig.exec(
                    node,
                    &["python3", "-c", script, &socket.display().to_string()],
                );
                stat.lines().any(|line| {
                    let fields: Vec<&str> = line.split(',').collect();
                    fields.len() > 17
                        && fields[0] == "mysql"
                        && fields[1] == name
                        && fields[17] == "UP"
                })
            }
        }
    }

    /// `lb ctl cluster` on `node`: the pair as that node's lb sees it.
    pub fn cluster_status(&self, node: &str) -> serde_json::Value {
        let output = self.ctl(node, &["cluster"]);
        serde_json::from_str(&output).unwrap_or_else(|error| panic!("{error}: {output}"))
    }

    /// The recent log lines of every balancer and keepalived, for a failure's message.
    pub fn logs(&self) -> String {
        let mut logs = String::new();
        for node in &self.nodes {
            if let Some(process) = &node.process {
                logs.push_str(&format!(
                    "--- {} balancer ---\n{}\n",
                    node.name,
                    process.tail()
                ));
            }
            if let Some(keepalived) = &node.keepalived {
                logs.push_str(&format!(
                    "--- {} keepalived ---\n{}\n",
                    node.name,
                    keepalived.process.tail()
                ));
            }
        }
        logs
    }

    /// Every probe attempt so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.probe
            .output()
            .iter()
            .filter_map(|line| Attempt::parse(line))
            .collect()
    }

    /// Waits (bounded) for the first probe attempt begun after `after` and served through
    /// `node`; panics with the recent probe lines on timeout.
    pub fn wait_served_via(&self, node: &str, after: f64, timeout: Duration) -> Attempt {
        self.wait_attempt(after, timeout, &format!("served through {node}"), |a| {
            a.node() == Some(node)
        })
    }

    /// Waits (bounded) for the first probe attempt begun after `after` that `test` accepts;
    /// panics naming `what`, with the recent probe and balancer lines, on timeout.
    pub fn wait_attempt(
        &self,
        after: f64,
        timeout: Duration,
        what: &str,
        test: impl Fn(&Attempt) -> bool,
    ) -> Attempt {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(attempt) = self
                .attempts()
                .into_iter()
                .find(|a| a.start >= after && test(a))
            {
                return attempt;
            }
            assert!(
                Instant::now() < deadline,
                "no probe attempt {what} within {timeout:?}; VIP held by {:?}\n{}\n{}",
                self.rig.holders(VIP),
                self.probe.tail(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// When the VIP last arrived on `node` after `after` (its address watcher's event).
    pub fn vip_added(&self, node: &str, after: f64) -> Option<f64> {
        let needle = format!(" add {VIP}");
        let node = self.nodes.iter().find(|n| n.name == node)?;
        node.watch
            .output()
            .iter()
            .filter(|line| line.ends_with(&needle))
            .filter_map(|line| line.split_whitespace().next()?.parse::<f64>().ok())
            .find(|&at| at >= after)
    }

    /// Kills what `crash` names on the VIP holder, measures until the peer serves the probe,
    /// then restores the crashed node (balancer restarted; or the stale VIP removed and
    /// keepalived restarted) and waits until it is BACKUP again.
    pub fn crash_trial(&mut self, crash: Crash) -> Trial {
        let from = self
            .rig
            .wait_single_vip_holder(Duration::from_millis(500), START_TIMEOUT);
        let to = peer_of(from);
        // The probe goes through the holder before the kill.
        self.wait_served_via(from, now(), SERVE_TIMEOUT);
        let killed_at = match crash {
            Crash::Balancer => self.kill_balancer(from),
            Crash::Keepalived => self.kill_keepalived(from),
        };
        let served = self.wait_served_via(to, killed_at, SERVE_TIMEOUT);
        let vip_added = self.vip_added(to, killed_at);
        // Attempts run side by side: let those begun before the first served one end.
        let settled = served.start + PROBE_CONNECT_TIMEOUT + PROBE_READ_TIMEOUT + 0.2;
        while now() < settled {
            std::thread::sleep(Duration::from_millis(20));
        }
        let window: Vec<Attempt> = self
            .attempts()
            .into_iter()
            .filter(|a| a.start >= killed_at && a.start < served.start)
            .collect();
        let mut errors: Vec<String> = Vec::new();
        for error in window.iter().filter_map(|a| a.error.clone()) {
            if errors.len() < 3 && !errors.contains(&error) {
                errors.push(error);
            }
        }
        if std::env::var_os("CLUSTER_RIG_VERBOSE").is_some() {
            let lines = self.probe.output();
            let shown: Vec<&String> = lines
                .iter()
                .filter(|line| {
                    Attempt::parse(line)
                        .is_some_and(|a| a.end >= killed_at - 0.05 && a.start <= served.end + 0.05)
                })
                .collect();
            eprintln!("probe around the {} kill at {killed_at:.6}:", crash.name());
            for line in shown {
                eprintln!("  {line}");
            }
            if let Some(at) = vip_added {
                eprintln!("  VIP added on {to} at {at:.6}");
            }
        }
        let trial = Trial {
            crash,
            from,
            to,
            first_server: served
                .served
                .clone()
                .map(|(server, _)| server)
                .unwrap_or_default(),
            first_served: served.end - killed_at,
            vip_added: vip_added.map(|at| at - killed_at),
            served_after_vip: vip_added.map(|at| served.start - at),
            failed: window.iter().filter(|a| a.error.is_some()).count(),
            hung: window
                .iter()
                .filter(|a| a.error.as_deref() == Some("read-timeout"))
                .count(),
            served_by_old: window.iter().filter(|a| a.node() == Some(from)).count(),
            errors,
        };
        match crash {
            Crash::Balancer => {
                let keepalived = &mut self
                    .node(from)
                    .keepalived
                    .as_mut()
                    .expect("keepalived runs")
                    .process;
                keepalived.mark();
                self.start_balancer(from);
                let keepalived = &self
                    .node(from)
                    .keepalived
                    .as_ref()
                    .expect("keepalived runs")
                    .process;
                keepalived.wait_for("Entering BACKUP STATE", START_TIMEOUT);
            }
            Crash::Keepalived => {
                // The killed keepalived left the VIP on `from`: remove it, as a restarting
                // keepalived would, before starting a new one.
                self.remove_vip(from);
                self.start_keepalived(from);
            }
        }
        trial
    }

    /// Removes the VIP from `node`, as keepalived does when it gives it up (lb nodes hold it
    /// as a /32, `lb keepalived`'s way; HAProxy nodes as a /16, the rig's own config's).
    pub fn remove_vip(&self, node: &str) {
        let prefix = match self.balancer {
            Balancer::Lb => 32,
            Balancer::Haproxy => VIP_PREFIX,
        };
        let address = format!("{VIP}/{prefix}");
        self.rig
            .exec(node, &["ip", "addr", "del", &address, "dev", FRONT]);
    }

    /// SIGKILL of the balancer on `node`; the time just before the kill.
    pub fn kill_balancer(&mut self, node: &str) -> f64 {
        let mut process = self
            .node(node)
            .process
            .take()
            .unwrap_or_else(|| panic!("no balancer runs on {node}"));
        let at = now();
        process.kill();
        at
    }

    /// SIGKILL of keepalived on `node`, its VRRP child then its parent, in one kill(1); the
    /// time just before. Panics if a keepalived process of the node survives.
    pub fn kill_keepalived(&mut self, node: &str) -> f64 {
        let mut keepalived = self
            .node(node)
            .keepalived
            .take()
            .unwrap_or_else(|| panic!("no keepalived runs on {node}"));
        let parent = keepalived.process.pid();
        let child = keepalived
            .vrrp_pid()
            .unwrap_or_else(|| panic!("no VRRP child of keepalived on {node}"));
        let at = now();
        let status = Command::new("kill")
            .args(["-KILL", &child.to_string(), &parent.to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -KILL {child} {parent} failed");
        keepalived.process.kill(); // reaps the parent
        for pid in self.rig.pids(node) {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            // A zombie (Z) is dead, only not reaped yet (by init: its parent is gone).
            assert!(
                comm.trim() != "keepalived" || process_state(pid).is_none_or(|s| s == 'Z'),
                "a keepalived process ({pid}) of {node} survived SIGKILL"
            );
        }
        at
    }
}

/// The state letter of process `pid` (`R`, `S`, `Z`...) from `/proc/<pid>/stat`; `None` when
/// it is gone.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ...": comm may hold spaces and parentheses, the state follows the last ')'.
    stat.rsplit_once(") ")?.1.chars().next()
}

/// The absolute path of `program` on `PATH` (what keepalived's track_process matches
/// against the process's first argument).
fn which(program: &str) -> String {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
        .display()
        .to_string()
}

/// p50, p95 and max of `values` (nearest rank), `None` when empty.
pub fn percentiles(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index]
    };
    Some((rank(0.50), rank(0.95), *sorted.last()?))
}
