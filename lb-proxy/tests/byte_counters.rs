//! The bytes counters (`GET /api/vips/{vip}`, `lb_vip_bytes_*`, `lb_server_bytes_*`) in every
//! mode: a VIP's and its server's counters equal the bytes the server itself received from
//! and sent to lb, for a TCP session, HTTP/1.1 requests on a kept-alive connection (a body
//! included), HTTP/2 streams, and an upgraded HTTP connection.

mod http_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use http_support::{STEP, http_vip, within};
use hyper_util::rt::{TokioExecutor, TokioIo};
use lb_core::model::{Mode, Vip};
use lb_proxy::{Service, ServiceHandle, Stats};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// An HTTP/1.1 server that counts every byte it reads and writes: it answers each request
/// with `body`, reads a request body framed by `Content-Length`, and after a request with
/// `Upgrade` answers 101 and echoes until the end of the stream. In TCP mode it is only an
/// echo of whatever comes.
struct CountingServer {
    address: SocketAddr,
    received: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl CountingServer {
    async fn start(http: bool, body: &'static str) -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (received, sent) = (Arc::default(), Arc::default());
        let counts = (Arc::clone(&received), Arc::clone(&sent));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counts = (Arc::clone(&counts.0), Arc::clone(&counts.1));
                tokio::spawn(async move {
                    let mut stream = Counted {
                        stream,
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
            received,
            sent,
            task,
        }
    }

    fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }

    fn sent(&self) -> u64 {
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
    received: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
}

impl Counted {
    async fn read(&mut self, buffer: &mut [u8]) -> usize {
        let read = self.stream.read(buffer).await.unwrap_or(0);
        self.received.fetch_add(read as u64, Ordering::SeqCst);
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

fn vip(mode: Mode, server: SocketAddr) -> Vip {
    let mut vip = http_vip(&[server]);
    vip.mode = mode;
    vip
}

/// The service's counters once every session has ended.
async fn final_stats(service: &ServiceHandle) -> Stats {
    assert!(within(service.drain(STEP)).await, "every session ended");
    service.stats()
}

/// The VIP's counters and its one server's both equal what the server counted.
fn assert_counted(stats: &Stats, server: &CountingServer) {
    assert!(server.received() > 0 && server.sent() > 0);
    let counted = &stats.servers[0];
    assert_eq!(
        (stats.client_to_server_bytes, stats.server_to_client_bytes),
        (server.received(), server.sent()),
        "the VIP's bytes in and out are the server's bytes received and sent"
    );
    assert_eq!(
        (counted.bytes_from_clients, counted.bytes_to_clients),
        (server.received(), server.sent()),
        "the server's bytes in and out are its bytes received and sent"
    );
}

/// Reads from `stream` until `expected` bytes have come.
async fn read_exactly(stream: &mut (impl AsyncRead + Unpin), expected: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; expected];
    within(stream.read_exact(&mut bytes)).await.unwrap();
    bytes
}

#[tokio::test]
async fn a_tcp_session_counts_the_bytes_both_ways() {
    let server = CountingServer::start(false, "").await;
    let service = Service::start(vip(Mode::Tcp, server.address)).unwrap();
    let mut client = TcpStream::connect(service.local_addrs()[0]).await.unwrap();
    client.write_all(b"twelve bytes").await.unwrap();
    assert_eq!(read_exactly(&mut client, 12).await, b"twelve bytes");
    drop(client);
    let stats = final_stats(&service).await;
    assert_counted(&stats, &server);
    assert_eq!(stats.client_to_server_bytes, 12);
}

#[tokio::test]
async fn http1_requests_on_a_kept_alive_connection_count_heads_and_bodies() {
    let body = "a response body of forty-one bytes, here.";
    let server = CountingServer::start(true, body).await;
    let service = Service::start(vip(Mode::Http, server.address)).unwrap();
    let mut client = TcpStream::connect(service.local_addrs()[0]).await.unwrap();
    let requests = [
        "GET /one HTTP/1.1\r\nHost: web\r\n\r\n",
        "POST /two HTTP/1.1\r\nHost: web\r\nContent-Length: 11\r\n\r\nhello world",
        "GET /three HTTP/1.1\r\nHost: web\r\n\r\n",
    ];
    let mut answers = String::new();
    for request in requests {
        client.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        while !String::from_utf8_lossy(&response).ends_with(body) {
            let mut chunk = [0u8; 1024];
            let read = within(client.read(&mut chunk)).await.unwrap();
            assert!(read > 0, "the response came whole");
            response.extend_from_slice(&chunk[..read]);
        }
        answers.push_str(&String::from_utf8_lossy(&response));
    }
    assert_eq!(answers.matches("200 OK").count(), 3, "{answers}");
    drop(client);
    let stats = final_stats(&service).await;
    assert_counted(&stats, &server);
    assert!(
        stats.server_to_client_bytes >= 3 * body.len() as u64,
        "three bodies: {stats:?}"
    );
}

#[tokio::test]
async fn http2_streams_count_their_exchanges_with_the_server() {
    let body = "eleven byte";
    let server = CountingServer::start(true, body).await;
    let service = Service::start(vip(Mode::Http, server.address)).unwrap();
    let tcp = TcpStream::connect(service.local_addrs()[0]).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    for upload in ["", "with a body"] {
        let request = http::Request::post("http://web/item")
            .body(Full::new(Bytes::from(upload)))
            .unwrap();
        let response = within(sender.send_request(request)).await.unwrap();
        assert_eq!(response.status(), 200);
        let received = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(received, body);
    }
    drop(sender);
    within(connection).await.unwrap().unwrap();
    let stats = final_stats(&service).await;
    assert_counted(&stats, &server);
}

#[tokio::test]
async fn an_upgraded_connection_counts_the_tunnel_too() {
    let server = CountingServer::start(true, "").await;
    let service = Service::start(vip(Mode::Http, server.address)).unwrap();
    let mut client = TcpStream::connect(service.local_addrs()[0]).await.unwrap();
    client
        .write_all(b"GET /ws HTTP/1.1\r\nHost: web\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.extend_from_slice(&read_exactly(&mut client, 1).await);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    client.write_all(b"through the tunnel").await.unwrap();
    assert_eq!(read_exactly(&mut client, 18).await, b"through the tunnel");
    drop(client);
    let stats = final_stats(&service).await;
    assert_counted(&stats, &server);
}
