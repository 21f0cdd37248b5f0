//! Bounded wrk runs and their reports.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

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

/// The longest a request took, from the `Max` column of wrk's `Latency` line (requests that
/// hit wrk's own timeout are counted as timeouts in the report, not here).
pub fn max_latency(output: &[String]) -> Duration {
    let max = output
        .iter()
        .find(|l| l.trim_start().starts_with("Latency"))
        .and_then(|l| l.split_whitespace().nth(3))
        .expect("wrk printed its latency");
    let split = max
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(max.len());
    let (number, unit) = max.split_at(split);
    let number: f64 = number.parse().expect("a latency figure");
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => panic!("unknown unit in wrk's latency {max:?}"),
    };
    Duration::from_secs_f64(seconds)
}
