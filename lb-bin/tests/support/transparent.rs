//! A two-arm rig for transparent proxying (root only): a client, a balancer with one leg on
//! the client network and one on the server network, and a server host whose default route
//! is the balancer, each in a network namespace created here and removed, with every process
//! in it, when the rig is dropped (on a panic too). Namespace commands, removal and the
//! cleanup of killed runs come from [`super::netns`].
//!
//! ```text
//!  cli  eth0 10.81.0.2-4/24, fd81::2-4/64, default via lb
//!        │ veth
//!  lb   c    10.81.0.1/24, fd81::1/64   (the VIPs; no forwarding)
//!       s    10.82.0.1/24, fd82::1/64   (what servers see without transparency)
//!        │ veth
//!  srv  eth0 10.82.0.2-3/24, fd82::2-3/64, default via lb
//! ```
//! The balancer does not forward (`ip_forward` stays 0): the client and the servers reach
//! each other only through lb's sockets. [`TransparentRig::route_replies_to_lb`] adds the
//! README's policy routing and `socket` match (IPv4 and IPv6); without it, a server's reply
//! to a client address is dropped at the balancer. IPv6 addresses are added with `nodad`, so
//! they are usable at once.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::EVENT_TIMEOUT;
use super::lb::Lb;
use super::netns::{self, in_namespace, is_root, remove_leftovers, remove_namespace};
use super::process::Process;

/// The client's addresses (IPv4).
pub const CLIENTS: [&str; 3] = ["10.81.0.2", "10.81.0.3", "10.81.0.4"];
/// The client's addresses (IPv6).
pub const CLIENTS_V6: [&str; 3] = ["fd81::2", "fd81::3", "fd81::4"];
/// The balancer's address on the client network, where the VIPs listen.
pub const VIP: &str = "10.81.0.1";
/// The balancer's IPv6 address on the client network.
pub const VIP_V6: &str = "fd81::1";
/// The balancer's own address on the server network: what servers see without transparency.
pub const LB_BACK: &str = "10.82.0.1";
/// The balancer's own IPv6 address on the server network.
pub const LB_BACK_V6: &str = "fd82::1";
/// The server host's addresses (IPv4).
pub const SERVERS: [&str; 2] = ["10.82.0.2", "10.82.0.3"];
/// The server host's addresses (IPv6).
pub const SERVERS_V6: [&str; 2] = ["fd82::2", "fd82::3"];

/// The README's commands that deliver replies to client addresses to lb (IPv4, then IPv6).
pub const ROUTING: [&str; 12] = [
    "iptables -t mangle -N DIVERT",
    "iptables -t mangle -A PREROUTING -p tcp -m socket --transparent -j DIVERT",
    "iptables -t mangle -A DIVERT -j MARK --set-mark 1",
    "iptables -t mangle -A DIVERT -j ACCEPT",
    "ip rule add fwmark 1 lookup 100",
    "ip route add local 0.0.0.0/0 dev lo table 100",
    "ip6tables -t mangle -N DIVERT",
    "ip6tables -t mangle -A PREROUTING -p tcp -m socket --transparent -j DIVERT",
    "ip6tables -t mangle -A DIVERT -j MARK --set-mark 1",
    "ip6tables -t mangle -A DIVERT -j ACCEPT",
    "ip -6 rule add fwmark 1 lookup 100",
    "ip -6 route add local ::/0 dev lo table 100",
];

/// The roles, in creation order.
const ROLES: [&str; 3] = ["cli", "lb", "srv"];

/// Where every namespace name of this rig starts: `lbtp<pid>n<count>-<role>`.
const PREFIX: &str = "lbtp";

/// The servers' and clients' script.
const PEERS_PY: &str = include_str!("transparent/peers.py");

/// The namespaces of one test; dropping it kills their processes and deletes them.
pub struct TransparentRig {
    prefix: String,
    /// A scratch directory for lb's file and the script, removed on drop.
    pub dir: tempfile::TempDir,
    created: Vec<String>,
}

impl TransparentRig {
    /// Builds the rig, or prints why not and returns `None` when not root. Panics (after
    /// removing what it made) when a step fails as root.
    pub fn new() -> Option<TransparentRig> {
        if !is_root() {
            eprintln!("skipped: needs root (network namespaces, iptables, IP_TRANSPARENT)");
            return None;
        }
        remove_leftovers(PREFIX);
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let prefix = format!(
            "{PREFIX}{}n{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = tempfile::Builder::new()
            .prefix(&format!("{prefix}-"))
            .tempdir()
            .expect("a scratch directory");
        std::fs::write(dir.path().join("peers.py"), PEERS_PY).expect("write peers.py");
        let mut rig = TransparentRig {
            prefix,
            dir,
            created: Vec::new(),
        };
        rig.build();
        Some(rig)
    }

    fn build(&mut self) {
        for role in ROLES {
            let name = self.ns(role);
            netns::ip(&["netns", "add", &name]);
            self.created.push(name);
        }
        self.veth(("cli", "eth0"), ("lb", "c"));
        self.veth(("lb", "s"), ("srv", "eth0"));
        let mut cli = Vec::new();
        for (v4, v6) in CLIENTS.iter().zip(CLIENTS_V6) {
            cli.push(format!("addr add {v4}/24 dev eth0"));
            cli.push(format!("addr add {v6}/64 dev eth0 nodad"));
        }
        let mut srv = Vec::new();
        for (v4, v6) in SERVERS.iter().zip(SERVERS_V6) {
            srv.push(format!("addr add {v4}/24 dev eth0"));
            srv.push(format!("addr add {v6}/64 dev eth0 nodad"));
        }
        for (role, mut lines, gateway, gateway_v6) in
            [("cli", cli, VIP, VIP_V6), ("srv", srv, LB_BACK, LB_BACK_V6)]
        {
            lines.push("link set lo up".to_owned());
            lines.push("link set eth0 up".to_owned());
            lines.push(format!("route add default via {gateway}"));
            lines.push(format!("route add default via {gateway_v6}"));
            self.ip_batch(role, &lines);
        }
        self.ip_batch(
            "lb",
            &[
                "link set lo up".to_owned(),
                format!("addr add {VIP}/24 dev c"),
                format!("addr add {VIP_V6}/64 dev c nodad"),
                format!("addr add {LB_BACK}/24 dev s"),
                format!("addr add {LB_BACK_V6}/64 dev s nodad"),
                "link set c up".to_owned(),
                "link set s up".to_owned(),
            ],
        );
    }

    /// A veth pair from `a`'s interface to `b`'s, made in `a`'s namespace.
    fn veth(&self, (a, a_if): (&str, &str), (b, b_if): (&str, &str)) {
        netns::ip(&[
            "-n",
            &self.ns(a),
            "link",
            "add",
            a_if,
            "type",
            "veth",
            "peer",
            "name",
            b_if,
            "netns",
            &self.ns(b),
        ]);
    }

    /// `ip -n <ns> -batch -` on `lines`, asserting success. Routes need their interface up
    /// first: `lines` run in order.
    fn ip_batch(&self, role: &str, lines: &[String]) {
        let mut command = Command::new("ip");
        command.args(["-n", &self.ns(role), "-batch", "-"]);
        let output = netns::run_with_input(command, &lines.join("\n"));
        assert!(
            output.status.success(),
            "ip batch in {role} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The system name of `role`'s namespace (`cli`, `lb`, `srv`).
    pub fn ns(&self, role: &str) -> String {
        assert!(ROLES.contains(&role), "no namespace {role}");
        format!("{}-{role}", self.prefix)
    }

    /// Runs `args` (program first) inside `role`, asserting success; its stdout.
    pub fn exec(&self, role: &str, args: &[&str]) -> String {
        let mut command = Command::new(args[0]);
        command.args(&args[1..]);
        let output = netns::run(in_namespace(&self.ns(role), &command));
        assert!(
            output.status.success(),
            "{args:?} in {role} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Adds the README's policy routing and `socket` match in the balancer ([`ROUTING`]).
    pub fn route_replies_to_lb(&self) {
        for command in ROUTING {
            let args: Vec<&str> = command.split_whitespace().collect();
            self.exec("lb", &args);
        }
    }

    /// `lb run` in the balancer's namespace on `config`, ready.
    pub fn lb(&self, config: &str) -> Lb {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.ns("lb"), env!("CARGO_BIN_EXE_lb")]);
        Lb::start_as(self.dir.path(), config, command)
    }

    /// A `peers.py` server (`tcp-server` or `http-server`) on `host:port` in the server
    /// namespace, listening.
    pub fn server(&self, mode: &str, host: &str, port: u16) -> Process {
        let mut command = Command::new("python3");
        command
            .arg(self.dir.path().join("peers.py"))
            .args([mode, host, &port.to_string()]);
        let process = Process::spawn(
            &format!("{mode} {host}"),
            in_namespace(&self.ns("srv"), &command),
        );
        process.wait_for("listening", EVENT_TIMEOUT);
        process
    }

    /// Runs `peers.py` with `args` (`tcp-clients ...`, `http-clients ...`) in the client
    /// namespace to its end; its output lines.
    pub fn clients(&self, args: &[&str]) -> Vec<String> {
        let script = self.dir.path().join("peers.py");
        let mut all = vec!["python3", script.to_str().expect("a UTF-8 path")];
        all.extend_from_slice(args);
        self.exec("cli", &all).lines().map(str::to_owned).collect()
    }
}

impl Drop for TransparentRig {
    fn drop(&mut self) {
        for name in self.created.iter().rev() {
            remove_namespace(name);
        }
    }
}

/// One `[[vip]]` table: `name` on `listen` with `mode`, over `servers` (`name=address:port`),
/// with `extra` keys.
pub fn vip(name: &str, listen: &str, mode: &str, servers: &[&str], extra: &str) -> String {
    let servers: Vec<String> = servers
        .iter()
        .map(|server| {
            let (name, address) = server.split_once('=').expect("name=address");
            format!(r#"{{ name = "{name}", address = "{address}" }}"#)
        })
        .collect();
    format!(
        "[[vip]]\nname = \"{name}\"\nlisten = \"{listen}\"\nmode = \"{mode}\"\n{extra}\n\
         servers = [{}]\n",
        servers.join(", ")
    )
}

/// A connection's result as `tcp-clients` prints it: the source it was made from, the peer
/// address the server greeted it with and what the server answered at the end (`None` when
/// the connection closed before a greeting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conn {
    /// The client address the connection came from.
    pub source: String,
    /// The address the server saw, and its last line.
    pub served: Option<(String, String)>,
}

/// The connections `tcp-clients` printed, in order.
pub fn connections(lines: &[String]) -> Vec<Conn> {
    lines
        .iter()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[..] {
                ["conn", source, "closed"] => Conn {
                    source: source.to_owned(),
                    served: None,
                },
                ["conn", source, seen, rest] => Conn {
                    source: source.to_owned(),
                    served: Some((seen.to_owned(), rest.replace('_', " "))),
                },
                _ => panic!("not a tcp-clients line: {line}"),
            }
        })
        .collect()
}
