//! An http VIP behind another balancer that sends the PROXY protocol: a trusted peer's header
//! names the client, whom the server then sees in `X-Forwarded-For`; a trusted peer without a
//! header is closed before anything is forwarded.

mod http_support;

use http_support::{STEP, Tripwire, http_vip};
use lb_core::model::Network;
use lb_proxy::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_trusted_peers_header_names_the_client_servers_see() {
    let server = Tripwire::start().await;
    let mut vip = http_vip(&[server.address]);
    vip.accept_proxy_from = vec![Network::parse("127.0.0.0/8").unwrap()];
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];

    let mut client = TcpStream::connect(address).await.unwrap();
    client
        .write_all(
            b"PROXY TCP4 192.0.2.77 198.51.100.1 5555 8443\r\n\
              GET /proxied HTTP/1.1\r\nHost: a\r\n\r\n",
        )
        .await
        .unwrap();
    let seen = server.until_received("\r\n\r\n").await.to_ascii_lowercase();
    assert!(seen.starts_with("get /proxied http/1.1\r\n"), "{seen}");
    assert!(seen.contains("x-forwarded-for: 192.0.2.77\r\n"), "{seen}");
    assert!(seen.contains("x-forwarded-port: 8443\r\n"), "{seen}");
    assert!(
        !seen.contains("proxy tcp4"),
        "the header is not forwarded: {seen}"
    );

    // A trusted peer that sends no header is closed, and nothing of it is forwarded.
    let mut bare = TcpStream::connect(address).await.unwrap();
    bare.write_all(b"GET /bare HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    let closed = tokio::time::timeout(STEP, bare.read_to_end(&mut reply))
        .await
        .expect("the connection closes");
    // Closed with its request unread: a FIN or a reset, never a response.
    match closed {
        Ok(_) => {}
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
    }
    assert!(reply.is_empty(), "{:?}", String::from_utf8_lossy(&reply));
    assert_eq!(service.stats().bad_proxy_headers, 1);
    let (_, received) = server.seen();
    assert!(
        !String::from_utf8_lossy(&received).contains("/bare"),
        "a request without a header reached the server"
    );
    service.stop().await;
}
