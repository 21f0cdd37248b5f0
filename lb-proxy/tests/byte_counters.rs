//! The bytes counters (`GET /api/vips/{vip}`, `lb_vip_bytes_*`, `lb_server_bytes_*`) in every
//! mode: a VIP's and its server's counters equal the bytes the server itself received from
//! and sent to lb, for a TCP session, HTTP/1.1 requests on a kept-alive connection (a body
//! included), HTTP/2 streams, and an upgraded HTTP connection.

mod http_support;

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use http_support::counting::CountingServer;
use http_support::{STEP, http_vip, within};
use hyper_util::rt::{TokioExecutor, TokioIo};
use lb_core::model::{Mode, Vip};
use lb_proxy::{Service, ServiceHandle, Stats};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
