//! A rig of network namespaces for the clustered-pair tests (root only): a client, two
//! balancer nodes, a server host and a switch, joined by veth pairs and two bridges. Every
//! namespace is created by [`Rig::new`] under a name unique to this run, and removed, with every
//! process running in it, when the rig is dropped (on a panic too). Namespaces that an earlier,
//! killed run left behind are removed by the next rig.
//!
//! ```text
//!   cli 10.77.0.2/16 (+ 10.77.1.1-100)        be 10.78.0.21-.23/24 (one interface)
//!        │ eth0                                     │ eth0
//!   ┌────┴──── sw: bridge `front` ────┐     ┌──────┴──── sw: bridge `back` ─────┐
//!   │ front                    front  │     │ back                         back │
//!  lb1 10.77.0.11/16     lb2 10.77.0.12   lb1 10.78.0.11/24        lb2 10.78.0.12
//!  lb1 `repl` 10.79.0.1/30 ─────── direct veth ─────── lb2 `repl` 10.79.0.2/30
//! ```
//! The VIP 10.77.0.100/16 is the keepalived-held address on `front`. Namespaces are named by
//! their short role (`cli`, `lb1`, `lb2`, `be`, `sw`) in this API; [`Rig::ns`] gives the
//! system name. IPv6 is off in every namespace (no DAD or router solicitations in the logs).
//!
//! The generic parts are free functions other rigs build on (`support::transparent`):
//! [`in_namespace`], [`remove_namespace`], [`namespace_pids`], [`remove_leftovers`], [`ip`],
//! [`run`] and [`run_with_input`].

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::process::Process;

/// The roles, in creation order.
pub const NAMESPACES: [&str; 5] = ["sw", "cli", "lb1", "lb2", "be"];
/// The balancer nodes.
pub const NODES: [&str; 2] = ["lb1", "lb2"];
/// The floating address keepalived moves between the nodes.
pub const VIP: &str = "10.77.0.100";
/// The VIP's prefix length on `front`.
pub const VIP_PREFIX: u8 = 16;
/// The client's main address.
pub const CLIENT: &str = "10.77.0.2";
/// How many extra client addresses `cli` holds: 10.77.1.1 to 10.77.1.`CLIENTS`.
pub const CLIENTS: u8 = 100;
/// The three server addresses in `be`, and the names the rig's servers answer with.
pub const SERVERS: [(&str, &str); 3] = [
    ("s1", "10.78.0.21"),
    ("s2", "10.78.0.22"),
    ("s3", "10.78.0.23"),
];
/// The name of the bridge-facing interface in `lb1`/`lb2` (and of the bridge in `sw`).
pub const FRONT: &str = "front";
/// The server-facing interface in `lb1`/`lb2`.
pub const BACK: &str = "back";
/// The direct replication link between `lb1` and `lb2`.
pub const REPL: &str = "repl";

/// Where every namespace name of this module starts: `lbrig<pid>n<count>-<role>`.
const PREFIX: &str = "lbrig";

/// The longest a single `ip`/`nft` command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// `lb1` → its front address, etc.
pub fn front_address(node: &str) -> &'static str {
    match node {
        "lb1" => "10.77.0.11",
        "lb2" => "10.77.0.12",
        other => panic!("{other} is not a balancer node"),
    }
}

/// `lb1` → its back address (the source address servers see), etc.
pub fn back_address(node: &str) -> &'static str {
    match node {
        "lb1" => "10.78.0.11",
        "lb2" => "10.78.0.12",
        other => panic!("{other} is not a balancer node"),
    }
}

/// `lb1` → its replication-link address, etc.
pub fn repl_address(node: &str) -> &'static str {
    match node {
        "lb1" => "10.79.0.1",
        "lb2" => "10.79.0.2",
        other => panic!("{other} is not a balancer node"),
    }
}

/// The node whose back address is `address` (what a server saw as its client).
pub fn node_of_back_address(address: &str) -> Option<&'static str> {
    NODES.into_iter().find(|node| back_address(node) == address)
}

/// The other balancer node.
pub fn peer_of(node: &str) -> &'static str {
    match node {
        "lb1" => "lb2",
        "lb2" => "lb1",
        other => panic!("{other} is not a balancer node"),
    }
}

/// Seconds since the Unix epoch (CLOCK_REALTIME), the clock the rig's helper scripts print:
/// an event measured in the test and one printed by a script compare directly.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs_f64()
}

/// Whether this process runs as root (effective uid 0, read from `/proc/self/status`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("Uid:"))?;
            // Uid: real effective saved filesystem
            Some(line.split_whitespace().nth(2)? == "0")
        })
        .unwrap_or(false)
}

/// The namespaces of one test run; dropping it kills their processes and deletes them.
pub struct Rig {
    /// `lbrig<pid>n<count>`: every namespace of this rig is `<prefix>-<role>`.
    pub prefix: String,
    /// A scratch directory for configs, scripts and pid files, removed on drop.
    pub dir: tempfile::TempDir,
    created: Vec<String>,
}

impl Rig {
    /// Builds the topology, or prints "skipped: needs root (network namespaces)" and returns
    /// `None` when not root. Panics (after removing what it created) when a step fails as root.
    pub fn new() -> Option<Rig> {
        if !is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return None;
        }
        remove_leftovers(PREFIX);
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let prefix = format!(
            "{PREFIX}{}n{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let mut rig = Rig {
            prefix: prefix.clone(),
            dir: tempfile::Builder::new()
                .prefix(&format!("{prefix}-"))
                .tempdir()
                .expect("a scratch directory"),
            created: Vec::new(),
        };
        rig.build();
        Some(rig)
    }

    fn build(&mut self) {
        for role in NAMESPACES {
            let name = self.ns(role);
            ip(&["netns", "add", &name]);
            self.created.push(name);
            self.exec(
                role,
                &[
                    "sysctl",
                    "-q",
                    "-w",
                    "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1",
                ],
            );
            self.ip(role, &["link", "set", "lo", "up"]);
        }
        for bridge in [FRONT, BACK] {
            self.ip("sw", &["link", "add", bridge, "type", "bridge"]);
            // No STP, no forwarding delay: a port forwards as soon as it is up.
            self.ip(
                "sw",
                &[
                    "link",
                    "set",
                    bridge,
                    "type",
                    "bridge",
                    "forward_delay",
                    "0",
                ],
            );
            self.ip("sw", &["link", "set", bridge, "up"]);
        }
        self.plug("cli", "eth0", FRONT);
        self.plug("lb1", FRONT, FRONT);
        self.plug("lb2", FRONT, FRONT);
        self.plug("lb1", BACK, BACK);
        self.plug("lb2", BACK, BACK);
        self.plug("be", "eth0", BACK);
        // The replication link: one veth pair made in lb1, its other end moved to lb2.
        self.ip(
            "lb1",
            &[
                "link",
                "add",
                REPL,
                "type",
                "veth",
                "peer",
                "name",
                REPL,
                "netns",
                &self.ns("lb2"),
            ],
        );
        let batch = |role: &str, lines: Vec<String>| self.ip_batch(role, &lines.join("\n"));
        batch(
            "cli",
            std::iter::once(format!("addr add {CLIENT}/16 dev eth0"))
                .chain((1..=CLIENTS).map(|n| format!("addr add 10.77.1.{n}/16 dev eth0")))
                .collect(),
        );
        for node in NODES {
            batch(
                node,
                vec![
                    format!("addr add {}/16 dev {FRONT}", front_address(node)),
                    format!("addr add {}/24 dev {BACK}", back_address(node)),
                    format!("addr add {}/30 dev {REPL}", repl_address(node)),
                    format!("link set {REPL} up"),
                ],
            );
        }
        batch(
            "be",
            SERVERS
                .iter()
                .map(|(_, address)| format!("addr add {address}/24 dev eth0"))
                .collect(),
        );
    }

    /// A veth pair: `inside` in `role`, `<role>-<bridge>` in `sw` on `bridge`; both up.
    fn plug(&self, role: &str, inside: &str, bridge: &str) {
        let port = format!("{role}-{bridge}");
        self.ip(
            "sw",
            &[
                "link",
                "add",
                &port,
                "type",
                "veth",
                "peer",
                "name",
                inside,
                "netns",
                &self.ns(role),
            ],
        );
        self.ip("sw", &["link", "set", &port, "master", bridge, "up"]);
        self.ip(role, &["link", "set", inside, "up"]);
    }

    /// The system name of the namespace of `role` (`cli`, `lb1`, `lb2`, `be`, `sw`).
    pub fn ns(&self, role: &str) -> String {
        assert!(NAMESPACES.contains(&role), "no namespace {role}");
        format!("{}-{role}", self.prefix)
    }

    /// `ip -n <ns> <args>`, asserting success; its stdout.
    pub fn ip(&self, role: &str, args: &[&str]) -> String {
        let ns = self.ns(role);
        let mut all = vec!["-n", ns.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// `ip -n <ns> -batch -` on `lines`, asserting success.
    fn ip_batch(&self, role: &str, lines: &str) {
        let mut command = Command::new("ip");
        command.args(["-n", &self.ns(role), "-batch", "-"]);
        let output = run_with_input(command, lines);
        assert!(
            output.status.success(),
            "ip batch in {role} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `command` made to run inside `role`'s namespace: `ip netns exec <ns> <program> <args>`,
    /// with the same environment additions and working directory. `ip netns exec` replaces
    /// itself with the program, so a spawned child's pid is the program's.
    pub fn in_ns(&self, role: &str, command: &Command) -> Command {
        in_namespace(&self.ns(role), command)
    }

    /// Runs `args` (program first) inside `role` and waits for it (bounded); its output,
    /// whatever the exit status.
    pub fn try_exec(&self, role: &str, args: &[&str]) -> Output {
        let mut command = Command::new(args[0]);
        command.args(&args[1..]);
        run(self.in_ns(role, &command))
    }

    /// Runs `args` inside `role`, asserting success; its stdout.
    pub fn exec(&self, role: &str, args: &[&str]) -> String {
        let output = self.try_exec(role, args);
        assert!(
            output.status.success(),
            "{args:?} in {role} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Starts `command` inside `role` as a [`Process`] (output lines awaitable, killed on
    /// drop; the rig kills it too when dropped first).
    pub fn spawn(&self, role: &str, name: &str, command: Command) -> Process {
        Process::spawn(name, self.in_ns(role, &command))
    }

    /// The pids of the processes running in `role`'s namespace (`ip netns pids`).
    pub fn pids(&self, role: &str) -> Vec<u32> {
        namespace_pids(&self.ns(role))
    }

    /// The IPv4 addresses configured in `role` (`ip -o -4 addr show`), without prefix lengths.
    pub fn addresses(&self, role: &str) -> Vec<String> {
        self.ip(role, &["-o", "-4", "addr", "show"])
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                words.find(|word| *word == "inet")?;
                Some(words.next()?.split('/').next()?.to_owned())
            })
            .collect()
    }

    /// The nodes that hold `address` now.
    pub fn holders(&self, address: &str) -> Vec<&'static str> {
        NODES
            .into_iter()
            .filter(|node| self.addresses(node).iter().any(|held| held == address))
            .collect()
    }

    /// The node that holds the VIP, when exactly one does.
    pub fn vip_holder(&self) -> Option<&'static str> {
        match self.holders(VIP)[..] {
            [node] => Some(node),
            _ => None,
        }
    }

    /// Waits (bounded by `timeout`) until exactly one node has held the VIP for `stable`,
    /// and returns it; panics naming the holders otherwise.
    pub fn wait_single_vip_holder(&self, stable: Duration, timeout: Duration) -> &'static str {
        let deadline = Instant::now() + timeout;
        let mut since: Option<(&str, Instant)> = None;
        loop {
            let holder = self.vip_holder();
            match (holder, since) {
                (Some(node), Some((held, from))) if held == node => {
                    if from.elapsed() >= stable {
                        return node;
                    }
                }
                (Some(node), _) => since = Some((node, Instant::now())),
                (None, _) => since = None,
            }
            assert!(
                Instant::now() < deadline,
                "no single stable VIP holder within {timeout:?}: held by {:?}",
                self.holders(VIP)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Drops TCP to and from `port` in `role` (nftables table `inet rig`), e.g. the
    /// replication port on `lb1`, leaving VRRP alone.
    pub fn cut(&self, role: &str, port: u16) {
        self.nft_drop(role, &format!("tcp dport {port}"));
        self.nft_drop(role, &format!("tcp sport {port}"));
    }

    /// Drops VRRP (IP protocol 112) in and out of `role`: both nodes become master.
    pub fn cut_vrrp(&self, role: &str) {
        self.nft_drop(role, "ip protocol vrrp");
    }

    /// Removes every rule [`Rig::cut`] and [`Rig::cut_vrrp`] added in `role`.
    pub fn heal(&self, role: &str) {
        let output = self.try_exec(role, &["nft", "delete", "table", "inet", "rig"]);
        let _ = output; // no table: nothing was cut
    }

    fn nft_drop(&self, role: &str, matcher: &str) {
        let script = format!(
            "table inet rig {{\n\
             chain input {{ type filter hook input priority 0; }}\n\
             chain output {{ type filter hook output priority 0; }}\n\
             }}\n\
             add rule inet rig input {matcher} drop\n\
             add rule inet rig output {matcher} drop\n"
        );
        let mut command = Command::new("nft");
        command.args(["-f", "-"]);
        let output = run_with_input(self.in_ns(role, &command), &script);
        assert!(
            output.status.success(),
            "nft in {role} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Writes `text` to `name` in the scratch directory and returns the absolute path.
    pub fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// The scratch directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        for name in self.created.iter().rev() {
            remove_namespace(name);
        }
    }
}

/// `command` made to run inside namespace `ns` (its system name): `ip netns exec <ns>
/// <program> <args>`, with the same environment additions and working directory. `ip netns
/// exec` replaces itself with the program, so a spawned child's pid is the program's.
pub fn in_namespace(ns: &str, command: &Command) -> Command {
    let mut wrapped = Command::new("ip");
    wrapped
        .args(["netns", "exec", ns])
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

/// Kills every process in namespace `name` (SIGKILL, up to 3 rounds for forks that raced the
/// first) and deletes it.
pub fn remove_namespace(name: &str) {
    for _ in 0..3 {
        let pids = namespace_pids(name);
        if pids.is_empty() {
            break;
        }
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(pids.iter().map(u32::to_string))
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stderr(Stdio::null())
        .status();
}

/// The pids of the processes in namespace `name`.
pub fn namespace_pids(name: &str) -> Vec<u32> {
    Command::new("ip")
        .args(["netns", "pids", name])
        .output()
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Removes the namespaces and scratch directories named `<prefix><pid>n...` of earlier runs
/// whose process is gone (a run killed before its rig's drop), with every process left in
/// those namespaces; leaves those of live processes (tests running beside this one) alone.
pub fn remove_leftovers(prefix: &str) {
    // `<prefix><pid>n<count>...` of a process that no longer runs.
    let dead = |name: &str| {
        let Some(rest) = name.strip_prefix(prefix) else {
            return false;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        !pid.is_empty()
            && rest[pid.len()..].starts_with('n')
            && !Path::new(&format!("/proc/{pid}")).exists()
    };
    if let Ok(output) = Command::new("ip").args(["netns", "list"]).output() {
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            if let Some(name) = line.split_whitespace().next().filter(|name| dead(name)) {
                remove_namespace(name);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            if entry.file_name().to_str().is_some_and(dead) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// `ip <args>` in the root namespace, asserting success; its stdout.
pub fn ip(args: &[&str]) -> String {
    let mut command = Command::new("ip");
    command.args(args);
    let output = run(command);
    assert!(
        output.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `command` to completion, killing it after [`COMMAND_TIMEOUT`].
pub fn run(command: Command) -> Output {
    run_with_input(command, "")
}

/// Runs `command` with `input` on its stdin, killing it after [`COMMAND_TIMEOUT`].
pub fn run_with_input(mut command: Command, input: &str) -> Output {
    use std::io::{Read, Write};
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let drain = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the command") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still running after {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}
