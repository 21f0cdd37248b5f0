//! A child process whose output lines can be awaited, killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A running child process with its merged stdout and stderr lines.
pub struct Process {
    name: String,
    child: Child,
    lines: Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts `command` with piped output.
    pub fn spawn(name: &str, mut command: Command) -> Process {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let (sender, lines) = channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        forward(
            child.stdout.take().unwrap(),
            sender.clone(),
            Arc::clone(&log),
        );
        forward(child.stderr.take().unwrap(), sender, Arc::clone(&log));
        Process {
            name: name.to_owned(),
            child,
            lines,
            log,
        }
    }

    /// Waits for an output line containing `needle`, returning it; panics with the log tail on
    /// timeout or exit.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_any(&[needle], timeout)
    }

    /// Waits for an output line containing any of `needles`.
    pub fn wait_for_any(&self, needles: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if needles.iter().any(|n| line.contains(n)) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{}: no line with {needles:?} within {timeout:?}\n{}",
                        self.name,
                        self.tail()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "{}: exited before printing {needles:?}\n{}",
                        self.name,
                        self.tail()
                    )
                }
            }
        }
    }

    /// Every line printed so far.
    pub fn output(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The last lines printed, for failure messages.
    pub fn tail(&self) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(40)..].join("\n")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. `libc`-free: "TERM", "HUP", "KILL") with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "{}: kill -{signal} failed",
            self.name
        );
    }

    /// Waits for the process to exit (both output pipes closed) and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{}: still running after {timeout:?}\n{}",
                        self.name,
                        self.tail()
                    )
                }
            }
        }
        self.child.wait().expect("wait for the child").code()
    }

    /// Kills the process at once (SIGKILL), like a machine that loses power.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn forward(
    stream: impl Read + Send + 'static,
    sender: Sender<String>,
    log: Arc<Mutex<Vec<String>>>,
) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            log.lock().unwrap().push(line.clone());
            let _ = sender.send(line);
        }
    });
}
