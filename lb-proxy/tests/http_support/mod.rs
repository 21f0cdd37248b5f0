//! Servers and clients for the HTTP-mode tests: real nginx servers, a tripwire listener that
//! records whatever reaches it, and raw HTTP/1.1 exchanges. Every wait is bounded.

#![allow(dead_code, unreachable_pub)]

pub mod nginx;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lb_core::model::{Mode, Server, ServerId, Vip};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The longest any single step of a test may take.
pub const STEP: Duration = Duration::from_secs(10);

/// An `http` VIP on 127.0.0.1 (any port) over `servers`, named `s1`, `s2`, ... ids 1, 2, ...
pub fn http_vip(servers: &[SocketAddr]) -> Vip {
    let mut vip = Vip::new("web", "127.0.0.1:0".parse().unwrap());
    vip.mode = Mode::Http;
    vip.timeouts.connect = Duration::from_secs(2);
    vip.servers = servers
        .iter()
        .zip(1..)
        .map(|(&address, id)| Server::new(ServerId(id), format!("s{id}"), address))
        .collect();
    vip
}

/// A listener that accepts, records every byte it receives, and never answers.
pub struct Tripwire {
    pub address: SocketAddr,
    received: Arc<Mutex<(usize, Vec<u8>)>>,
    task: JoinHandle<()>,
}

impl Tripwire {
    pub async fn start() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new((0, Vec::new())));
        let record = Arc::clone(&received);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                record.lock().unwrap().0 += 1;
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    while let Ok(read @ 1..) = stream.read(&mut buffer).await {
                        record.lock().unwrap().1.extend_from_slice(&buffer[..read]);
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
        self.received.lock().unwrap().clone()
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
