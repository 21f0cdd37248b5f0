//! Idle server connections of an http VIP are closed once idle past the limit (the smaller of
//! 30 s and the server timeout) even when the VIP gets no more traffic: a quiet VIP keeps no
//! server connection, and no socket left in CLOSE_WAIT by a server that closed its end.

mod http_support;

use std::time::{Duration, Instant};

use http_support::*;
use lb_proxy::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test]
async fn a_quiet_vip_closes_its_idle_server_connection_after_the_idle_limit() {
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut vip = http_vip(&[server.local_addr().unwrap()]);
    // The idle limit: one second.
    vip.timeouts.server = Duration::from_secs(1);
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let client = tokio::spawn(async move { get(address, "/", "").await });
    let (mut connection, _) = within(server.accept()).await.unwrap();
    let head = read_head(&mut connection).await;
    assert!(head.starts_with("GET / "), "{head}");
    connection
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        .await
        .unwrap();
    assert_eq!(client.await.unwrap().status, 200);
    // The connection is kept for reuse, then closed by lb with nothing more sent: no
    // request comes to take it.
    let idle_since = Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), connection.read_to_end(&mut rest));
    assert!(
        read.await.is_ok(),
        "lb still holds the idle connection after 15 s"
    );
    let closed_after = idle_since.elapsed();
    assert!(rest.is_empty(), "nothing was sent on it: {rest:?}");
    assert!(
        closed_after >= Duration::from_secs(1),
        "kept at least the idle limit, closed after {closed_after:?}"
    );
    service.stop().await;
}
