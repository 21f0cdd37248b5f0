//! A child process whose output lines can be awaited, killed when dropped.
//!
//! Waiting is event-driven: reader threads append each line to a shared log and notify a
//! condition variable. [`Process::wait_for`] looks at lines printed since the last
//! [`Process::mark`] (the start, by default), so a test marks the log before an action and
//! then awaits that action's consequences, in any order.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Log {
    lines: Vec<String>,
    open_pipes: usize,
}

type SharedLog = Arc<(Mutex<Log>, Condvar)>;

/// A running child process with its merged stdout and stderr lines.
pub struct Process {
    name: String,
    child: Child,
    log: SharedLog,
    mark: usize,
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
        let log: SharedLog = Arc::new((
            Mutex::new(Log {
                lines: Vec::new(),
                open_pipes: 2,
            }),
            Condvar::new(),
        ));
        forward(child.stdout.take().unwrap(), Arc::clone(&log));
        forward(child.stderr.take().unwrap(), Arc::clone(&log));
        Process {
            name: name.to_owned(),
            child,
            log,
            mark: 0,
        }
    }

    /// From now on, [`Process::wait_for`] only looks at lines printed after this call.
    pub fn mark(&mut self) {
        self.mark = self.log.0.lock().unwrap().lines.len();
    }

    /// Waits for a line containing `needle` printed since the mark, and returns it; panics
    /// with the log tail on timeout or exit.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_any(&[needle], timeout)
    }

    /// Waits for a line containing any of `needles` printed since the mark, and returns it;
    /// panics with the log tail on timeout or exit.
    pub fn wait_for_any(&self, needles: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (lock, changed) = &*self.log;
        let mut log = lock.lock().unwrap();
        let mut seen = self.mark;
        loop {
            let found = log.lines[seen..]
                .iter()
                .find(|line| needles.iter().any(|needle| line.contains(needle)));
            if let Some(line) = found {
                return line.clone();
            }
            seen = log.lines.len();
            if log.open_pipes == 0 {
                drop(log);
                panic!(
                    "{}: exited before printing {needles:?}\n{}",
                    self.name,
                    self.tail()
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(log);
                panic!(
                    "{}: no line with {needles:?} within {timeout:?}\n{}",
                    self.name,
                    self.tail()
                );
            }
            log = changed.wait_timeout(log, left).unwrap().0;
        }
    }

    /// Every line printed so far.
    pub fn output(&self) -> Vec<String> {
        self.log.0.lock().unwrap().lines.clone()
    }

    /// The last lines printed, for failure messages.
    pub fn tail(&self) -> String {
        let log = self.log.0.lock().unwrap();
        log.lines[log.lines.len().saturating_sub(40)..].join("\n")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` ("TERM", "HUP", "KILL", ...) with kill(1).
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
        let (lock, changed) = &*self.log;
        let mut log = lock.lock().unwrap();
        while log.open_pipes > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(log);
                panic!(
                    "{}: still running after {timeout:?}\n{}",
                    self.name,
                    self.tail()
                );
            }
            log = changed.wait_timeout(log, left).unwrap().0;
        }
        drop(log);
        self.child.wait().expect("wait for the child").code()
    }

    /// Kills the process at once (SIGKILL), like a machine that loses power.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    /// Kills the process; when the test is failing, prints its output first, so that the
    /// failure shows what the process saw.
    fn drop(&mut self) {
        self.kill();
        if thread::panicking() {
            eprintln!("--- {} output ---\n{}", self.name, self.tail());
        }
    }
}

fn forward(stream: impl Read + Send + 'static, log: SharedLog) {
    thread::spawn(move || {
        let (lock, changed) = &*log;
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            lock.lock().unwrap().lines.push(line);
            changed.notify_all();
        }
        lock.lock().unwrap().open_pipes -= 1;
        changed.notify_all();
    });
}
