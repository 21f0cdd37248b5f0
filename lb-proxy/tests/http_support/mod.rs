//! Servers and clients for the HTTP-mode tests: real nginx servers, a tripwire listener that
//! records whatever reaches it, and raw HTTP/1.1 exchanges. Every wait is bounded.

#![allow(dead_code, unreachable_pub)]

// The cleartext tests' support: its VIP builder and step bound serve here too.
#[path = "../common/mod.rs"]
mod common;
pub mod counting;
pub mod nginx;

use std::net::SocketAddr;
use std::sync::Arc;

use lb_core::model::{Mode, SchedulerKind, Vip};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[allow(unused_imports)] // not every test binary awaits with it
pub use common::{STEP, within};

/// An `http` VIP named `web`, otherwise [`common::vip`] with round robin.
pub fn http_vip(servers: &[SocketAddr]) -> Vip {
    let mut vip = common::vip(SchedulerKind::RoundRobin, servers);
    vip.name = "web".to_owned();
    vip.mode = Mode::Http;
    vip
}

/// A listener that accepts, records every byte it receives, and never answers.
pub struct Tripwire {
    pub address: SocketAddr,
    /// Connections accepted and bytes received so far.
    received: watch::Receiver<(usize, Vec<u8>)>,
    task: JoinHandle<()>,
}

impl Tripwire {
    pub async fn start() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (record, received) = watch::channel((0, Vec::new()));
        let record = Arc::new(record);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                record.send_modify(|(accepted, _)| *accepted += 1);
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    while let Ok(read @ 1..) = stream.read(&mut buffer).await {
                        record.send_modify(|(_, bytes)| bytes.extend_from_slice(&buffer[..read]));
                    }
                });
            }
        });
        Tripwire {
            address,
            received,
            task,
        }
    }

    /// Connections accepted and bytes received so far.
    pub fn seen(&self) -> (usize, Vec<u8>) {
        self.received.borrow().clone()
    }

    /// Waits (at most [`STEP`]) until the bytes received contain `needle`, and returns them.
    pub async fn until_received(&self, needle: &str) -> String {
        let mut received = self.received.clone();
        let arrived =
            received.wait_for(|(_, bytes)| String::from_utf8_lossy(bytes).contains(needle));
        match tokio::time::timeout(STEP, arrived).await {
            Ok(Ok(seen)) => String::from_utf8_lossy(&seen.1).into_owned(),
            _ => panic!("{needle:?} did not arrive within 10 s: {:?}", self.seen()),
        }
    }
}

impl Drop for Tripwire {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sends `request` as is and reads until the proxy closes (at most [`STEP`]).
pub async fn raw(address: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(STEP, async {
        let mut buffer = [0u8; 16384];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buffer[..n]),
            }
        }
    });
    read.await.expect("the proxy did not close within 10 s");
    String::from_utf8_lossy(&response).into_owned()
}

/// Sends `message` on `stream` and reads as many bytes back (at most [`STEP`]): a round
/// trip through a tunnel to an echoing server.
pub async fn round_trip(stream: &mut TcpStream, message: &str) -> Vec<u8> {
    stream.write_all(message.as_bytes()).await.unwrap();
    let mut echoed = vec![0u8; message.len()];
    tokio::time::timeout(STEP, stream.read_exact(&mut echoed))
        .await
        .expect("no echo within 10 s")
        .unwrap();
    echoed
}

/// A parsed response: status, lowercase header lines, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn parse(text: &str) -> Reply {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Reply {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` with `extra` header lines and `Connection: close`.
pub async fn get(address: SocketAddr, path: &str, extra: &str) -> Reply {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n");
    Reply::parse(&raw(address, request.as_bytes()).await)
}

/// Reads a response or request head byte by byte, up to and including its blank line (less
/// if the peer closes first), leaving whatever follows unread.
pub async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        if stream.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}
