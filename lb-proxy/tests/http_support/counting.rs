//! A server that counts the connections that send it something (a health check's TCP probe
//! sends nothing) and every byte it reads and writes, for
//! the tests of lb's counters and of its connection reuse.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// An HTTP/1.1 server that counts every byte it reads and writes: it answers each request
/// with `body`, reads a request body framed by `Content-Length`, and after a request with
/// `Upgrade` answers 101 and echoes until the end of the stream. In TCP mode it is only an
/// echo of whatever comes.
pub struct CountingServer {
    pub address: SocketAddr,
    talkers: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl CountingServer {
    pub async fn start(http: bool, body: &'static str) -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let talkers = Arc::new(AtomicU64::new(0));
        let (received, sent) = (Arc::default(), Arc::default());
        let counts = (
            Arc::clone(&received),
            Arc::clone(&sent),
            Arc::clone(&talkers),
        );
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counts = (
                    Arc::clone(&counts.0),
                    Arc::clone(&counts.1),
                    Arc::clone(&counts.2),
                );
                tokio::spawn(async move {
                    let mut stream = Counted {
                        stream,
                        talked: false,
                        talkers: counts.2,
                        received: counts.0,
                        sent: counts.1,
                    };
                    if http {
                        serve_http(&mut stream, body).await;
                    } else {
                        echo(&mut stream).await;
                    }
                });
            }
        });
        CountingServer {
            address,
            talkers,
            received,
            sent,
            task,
        }
    }

    /// Connections that sent at least one byte so far.
    pub fn connections(&self) -> u64 {
        self.talkers.load(Ordering::SeqCst)
    }

    /// Bytes read so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }

    /// Bytes written so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}

impl Drop for CountingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server connection that counts its bytes.
struct Counted {
    stream: TcpStream,
    talked: bool,
    talkers: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
}

impl Counted {
    async fn read(&mut self, buffer: &mut [u8]) -> usize {
        let read = self.stream.read(buffer).await.unwrap_or(0);
        self.received.fetch_add(read as u64, Ordering::SeqCst);
        if read > 0 && !std::mem::replace(&mut self.talked, true) {
            self.talkers.fetch_add(1, Ordering::SeqCst);
        }
        read
    }

    async fn write(&mut self, bytes: &[u8]) {
        if self.stream.write_all(bytes).await.is_ok() {
            self.sent.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        }
    }
}

async fn echo(stream: &mut Counted) {
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await;
        if read == 0 {
            return;
        }
        stream.write(&buffer[..read]).await;
    }
}

async fn serve_http(stream: &mut Counted, body: &str) {
    let mut pending = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            let read = stream.read(&mut buffer).await;
            if read == 0 {
                return;
            }
            pending.extend_from_slice(&buffer[..read]);
            continue;
        };
        let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
        pending.drain(..end + 4);
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map_or(0, |value| value.trim().parse().unwrap());
        while pending.len() < length {
            let read = stream.read(&mut buffer).await;
            if read == 0 {
                return;
            }
            pending.extend_from_slice(&buffer[..read]);
        }
        pending.drain(..length);
        if head.contains("\nupgrade:") {
            stream
                .write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n")
                .await;
            if !pending.is_empty() {
                let early = std::mem::take(&mut pending);
                stream.write(&early).await;
            }
            return echo(stream).await;
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write(response.as_bytes()).await;
    }
}
