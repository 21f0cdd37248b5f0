//! A bounded client loop through a TCP VIP, wrk's counterpart for tcp VIPs: a few threads,
//! each opening one connection per request for a fixed time, sending an HTTP/1.0 `GET /`
//! and reading the answer to its end, every request timed on the client's own clock.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A request that failed: when it started, how long the client waited, and why.
#[derive(Debug, Clone)]
pub struct Failure {
    /// When it started.
    pub at: Instant,
    /// How long the client waited for its end.
    pub waited: Duration,
    /// What went wrong (an error, or the first bytes of an answer that was not `200`).
    pub error: String,
}

/// What a finished loop saw.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Requests made.
    pub requests: u64,
    /// The requests that failed.
    pub failures: Vec<Failure>,
    /// The longest any request took, failed or not.
    pub worst: Duration,
}

/// A running loop.
pub struct TcpLoad {
    clients: Vec<JoinHandle<Report>>,
}

/// Starts `clients` threads that send requests through `vip` for `duration`, each giving up
/// on a request after `timeout` (connect, each read and each write).
pub fn start(vip: SocketAddr, clients: usize, duration: Duration, timeout: Duration) -> TcpLoad {
    let end = Instant::now() + duration;
    let clients = (0..clients)
        .map(|_| {
            thread::spawn(move || {
                let mut report = Report::default();
                while Instant::now() < end {
                    let at = Instant::now();
                    let outcome = request(vip, timeout);
                    let waited = at.elapsed();
                    report.requests += 1;
                    report.worst = report.worst.max(waited);
                    if let Err(error) = outcome {
                        report.failures.push(Failure { at, waited, error });
                    }
                }
                report
            })
        })
        .collect();
    TcpLoad { clients }
}

impl TcpLoad {
    /// Waits for every client to finish and sums up what they saw.
    pub fn finish(self) -> Report {
        let mut total = Report::default();
        for client in self.clients {
            let report = client.join().expect("a client thread panicked");
            total.requests += report.requests;
            total.failures.extend(report.failures);
            total.worst = total.worst.max(report.worst);
        }
        total.failures.sort_by_key(|failure| failure.at);
        total
    }
}

/// One request on a new connection: `Ok` when the answer is a whole `200` (its body as long
/// as its `Content-Length` says, the server having closed after it).
fn request(vip: SocketAddr, timeout: Duration) -> Result<(), String> {
    let mut stream = TcpStream::connect_timeout(&vip, timeout).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(timeout)).unwrap();
    stream.set_write_timeout(Some(timeout)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: load\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("read after {} bytes: {e}", answer.len()))?;
    let text = String::from_utf8_lossy(&answer);
    match text.split_once("\r\n\r\n") {
        Some((head, body))
            if head.starts_with("HTTP/1.1 200") && length(head) == Some(body.len()) =>
        {
            Ok(())
        }
        _ => Err(format!("answer {:?}", &text[..text.len().min(40)])),
    }
}

/// The `Content-Length` of a response head.
fn length(head: &str) -> Option<usize> {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
}
