//! HTTP/2 client connections without open streams are closed after the idle limit
//! (`timeouts.http_request`, as HTTP/1 keep-alive connections are) with a GOAWAY, even when
//! the client answers pings; a connection with a stream in progress is not.

mod http_support;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use http_support::{STEP, http_vip};
use hyper_util::rt::{TokioExecutor, TokioIo};
use lb_proxy::Service;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The idle limit the tests configure.
const IDLE: Duration = Duration::from_millis(300);
/// How long the slow server pauses in the middle of its response body.
const PAUSE: Duration = Duration::from_millis(1000);
/// The HTTP/2 GOAWAY frame type.
const GOAWAY: u8 = 0x7;

/// A server that answers each request with `hello`, then `world` after [`PAUSE`] if the
/// path is `/slow`, and closes.
async fn start_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = answer(stream).await;
            });
        }
    });
    (address, task)
}

/// Reads a request head on `stream` and answers it (see [`start_server`]).
async fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer).await? {
            0 => return Ok(()),
            read => head.extend_from_slice(&buffer[..read]),
        }
    }
    let response = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\nhello";
    stream.write_all(response).await?;
    if head.starts_with(b"GET /slow ") {
        tokio::time::sleep(PAUSE).await;
    }
    stream.write_all(b"world").await?;
    stream.shutdown().await
}

/// A client socket that keeps a copy of every byte it reads.
struct Recording {
    stream: TcpStream,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Recording {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        this.seen
            .lock()
            .unwrap()
            .extend_from_slice(&buf.filled()[before..]);
        read
    }
}

impl AsyncWrite for Recording {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, bytes)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The types and payloads of the HTTP/2 frames in `bytes` (what a client received).
fn frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 9 {
        let length = u32::from_be_bytes([0, rest[0], rest[1], rest[2]]) as usize;
        let Some(payload) = rest.get(9..9 + length) else {
            break;
        };
        frames.push((rest[3], payload.to_vec()));
        rest = &rest[9 + length..];
    }
    frames
}

/// The error codes of the GOAWAY frames in `bytes`.
fn goaways(bytes: &[u8]) -> Vec<u32> {
    frames(bytes)
        .into_iter()
        .filter(|(kind, _)| *kind == GOAWAY)
        .map(|(_, payload)| u32::from_be_bytes(payload[4..8].try_into().unwrap()))
        .collect()
}

/// An HTTP/2 client connection (prior knowledge) to `address`: the request sender, the task
/// driving the connection, and what the client has received.
async fn h2_client(
    address: SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    JoinHandle<hyper::Result<()>>,
    Arc<Mutex<Vec<u8>>>,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stream = Recording {
        stream: TcpStream::connect(address).await.unwrap(),
        seen: Arc::clone(&seen),
    };
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    (sender, tokio::spawn(connection), seen)
}

/// The body of a GET of `path` on `sender`.
async fn get(
    sender: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    path: &str,
) -> String {
    let request = http::Request::get(format!("http://horizon.test{path}"))
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// Awaits the end of the client connection `driving` (at most [`STEP`]) and asserts it
/// ended cleanly, after at least the idle limit, with a GOAWAY without error.
async fn assert_closed_when_idle(
    driving: JoinHandle<hyper::Result<()>>,
    idle_since: Instant,
    seen: &Mutex<Vec<u8>>,
) {
    let ended = tokio::time::timeout(STEP, driving)
        .await
        .expect("the idle connection was still open after 10 s")
        .unwrap();
    assert!(ended.is_ok(), "{ended:?}");
    let idle = idle_since.elapsed();
    assert!(idle >= IDLE, "closed after {idle:?} idle, before the limit");
    assert_eq!(goaways(&seen.lock().unwrap()), [0], "one GOAWAY, NO_ERROR");
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_with_goaway() {
    let (server, _task) = start_server().await;
    let mut vip = http_vip(&[server]);
    vip.timeouts.http_request = IDLE;
    let service = Service::start(vip).unwrap();
    let (mut sender, driving, seen) = h2_client(service.local_addrs()[0]).await;
    assert_eq!(get(&mut sender, "/fast").await, "helloworld");
    let idle_since = Instant::now();
    assert_closed_when_idle(driving, idle_since, &seen).await;
    service.stop().await;
}

#[tokio::test]
async fn a_stream_in_progress_keeps_its_http2_connection_open() {
    let (server, _task) = start_server().await;
    let mut vip = http_vip(&[server]);
    vip.timeouts.http_request = IDLE;
    let service = Service::start(vip).unwrap();
    let (mut sender, driving, seen) = h2_client(service.local_addrs()[0]).await;
    let started = Instant::now();
    assert_eq!(get(&mut sender, "/slow").await, "helloworld");
    assert!(started.elapsed() >= PAUSE, "the response was not slow");
    assert_eq!(
        goaways(&seen.lock().unwrap()),
        Vec::<u32>::new(),
        "a GOAWAY while a stream was open"
    );
    let idle_since = Instant::now();
    assert_closed_when_idle(driving, idle_since, &seen).await;
    service.stop().await;
}
