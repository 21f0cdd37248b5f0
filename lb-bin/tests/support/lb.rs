//! `lb run` as a user runs it: a config file in a temporary directory, the real binary, and
//! its log lines awaited as events.

use std::path::Path;
use std::process::Command;

use super::EVENT_TIMEOUT;
use super::process::Process;

/// A running `lb run -c <file>`.
pub struct Lb {
    /// The process; its output lines are the log.
    pub process: Process,
}

impl Lb {
    /// Writes `config` to `dir/lb.toml`, starts `lb run` on it and waits for `ready`.
    pub fn start(dir: &Path, config: &str) -> Lb {
        Lb::start_as(dir, config, Command::new(env!("CARGO_BIN_EXE_lb")))
    }

    /// Like [`Lb::start`], with at most `files` open file descriptors (`prlimit --nofile`).
    pub fn start_with_file_limit(dir: &Path, config: &str, files: u32) -> Lb {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={files}:{files}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_lb"));
        Lb::start_as(dir, config, command)
    }

    /// Starts `command` (the `lb` binary, perhaps behind a wrapper such as `ip netns exec NS`)
    /// as `lb run` on `config` (written to `dir/lb.toml`) and waits for `ready`.
    pub fn start_as(dir: &Path, config: &str, mut command: Command) -> Lb {
        let path = dir.join("lb.toml");
        std::fs::write(&path, config).unwrap();
        command
            .arg("run")
            .arg("-c")
            .arg(&path)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1");
        let process = Process::spawn("lb", command);
        wait_ready(&process);
        Lb { process }
    }

    /// Later waits only look at lines printed from now on.
    pub fn mark(&mut self) {
        self.process.mark();
    }

    /// Waits for a health transition line of `server` to `state` (`up` or `down`).
    pub fn wait_health(&self, server: &str, state: &str) -> String {
        let needle = format!("server={server} health={state}");
        self.process.wait_for(&needle, EVENT_TIMEOUT)
    }
}

/// What `lb run` prints once every VIP listens, in the text and the JSON log formats. A bare
/// "ready" would also match a start that failed with "Address already in use".
const READY_LINES: [&str; 2] = ["lb::run: ready", r#""message":"ready""#];

/// Waits until `process` (an `lb run`) is ready; panics with its log if it exits first.
pub fn wait_ready(process: &Process) {
    process.wait_for_any(&READY_LINES, EVENT_TIMEOUT);
}
