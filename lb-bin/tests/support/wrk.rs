//! Bounded wrk runs and their reports.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use super::process::Process;

/// Starts `wrk -t1 -c<connections> -d<seconds>s` against `http://<vip>/`, printing `started`
/// once its thread is set up. With `keep_alive` false every request is a new connection.
pub fn start(
    dir: &Path,
    vip: SocketAddr,
    connections: u32,
    seconds: u32,
    keep_alive: bool,
) -> Process {
    let script = dir.join("wrk-started.lua");
    std::fs::write(
        &script,
        "function init(args)\n  io.write(\"started\\n\")\n  io.stdout:flush()\nend\n",
    )
    .unwrap();
    let mut command = Command::new("wrk");
    command.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--timeout",
        "5s",
    ]);
    if !keep_alive {
        command.args(["-H", "Connection: close"]);
    }
    command.arg("-s").arg(&script).arg(format!("http://{vip}/"));
    command.stdin(Stdio::null());
    Process::spawn("wrk", command)
}

/// What a finished wrk run reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Requests completed.
    pub requests: u64,
    /// Socket errors of every kind (connect, read, write, timeout).
    pub socket_errors: u64,
    /// Responses other than 2xx or 3xx.
    pub non_2xx: u64,
}

/// Reads the report out of wrk's output lines.
pub fn report(output: &[String]) -> Report {
    let numbers = |line: &str| -> u64 {
        line.split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse::<u64>().ok())
            .sum()
    };
    let after_colon = |needle: &str| -> u64 {
        output
            .iter()
            .filter(|l| l.contains(needle))
            .map(|l| numbers(l.split_once(':').map_or("", |(_, rest)| rest)))
            .sum()
    };
    let requests = output
        .iter()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .expect("wrk printed its request count");
    Report {
        requests,
        socket_errors: after_colon("Socket errors"),
        non_2xx: after_colon("Non-2xx"),
    }
}
