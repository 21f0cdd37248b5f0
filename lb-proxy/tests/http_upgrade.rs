//! Upgrades (WebSocket, noVNC): a 101 turns the exchange into a tunnel under the tunnel
//! timeout; a refused upgrade ends the client connection after the response.

mod http_support;

use std::time::Duration;

use http_support::{STEP, http_vip, raw, read_head, round_trip};
use lb_proxy::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A server that reads one request head, answers with `answer`, then echoes.
async fn upgrading_server(answer: &'static str) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                read_head(&mut stream).await;
                stream.write_all(answer.as_bytes()).await.unwrap();
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    address
}

#[tokio::test]
async fn an_accepted_upgrade_becomes_a_tunnel_until_idle_for_the_tunnel_timeout() {
    let server = upgrading_server(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    )
    .await;
    let mut vip = http_vip(&[server]);
    vip.timeouts.tunnel = Duration::from_millis(400);
    vip.timeouts.client = Duration::from_millis(100);
    let service = Service::start(vip).unwrap();
    let mut client = TcpStream::connect(service.local_addrs()[0]).await.unwrap();
    client.write_all(UPGRADE.as_bytes()).await.unwrap();
    let head = tokio::time::timeout(STEP, read_head(&mut client))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("upgrade: websocket"),
        "{head}"
    );
    for message in ["\u{81}\u{2}hi", "binary \0\n\r bytes"] {
        // Longer than the client timeout between messages: the tunnel timeout applies.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(round_trip(&mut client, message).await, message.as_bytes());
    }
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    tokio::time::timeout(STEP, client.read_to_end(&mut rest))
        .await
        .unwrap()
        .ok();
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "closed after {:?}",
        started.elapsed()
    );
    service.stop().await;
}

#[tokio::test]
async fn a_refused_upgrade_closes_the_client_connection_after_the_response() {
    let server = upgrading_server("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno").await;
    let service = Service::start(http_vip(&[server])).unwrap();
    let text = raw(service.local_addrs()[0], UPGRADE.as_bytes()).await;
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert!(text.ends_with("no"), "{text}");
    service.stop().await;
}
