//! PROXY protocol: the bytes a server receives (v1, v2), and headers accepted from trusted
//! clients only.

mod common;

use common::*;
use lb_core::model::{Network, ProxyVersion, SchedulerKind};
use lb_core::proxy_protocol::{Decoded, Header, decode};
use lb_proxy::Service;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn send(vip_address: std::net::SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = within(TcpStream::connect(vip_address)).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream.shutdown().await.unwrap();
    stream
}

#[tokio::test]
async fn v1_tells_the_server_the_client_address_before_its_data() {
    let mut server = Recorder::start().await;
    let mut vip = vip(SchedulerKind::First, &[server.address]);
    vip.send_proxy = Some(ProxyVersion::V1);
    let service = Service::start(vip).unwrap();
    let vip_address = service.local_addrs()[0];
    let client = send(vip_address, b"hello").await;
    let client_address = client.local_addr().unwrap();
    let expected = format!(
        "PROXY TCP4 127.0.0.1 127.0.0.1 {} {}\r\nhello",
        client_address.port(),
        vip_address.port()
    );
    assert_eq!(String::from_utf8(server.next().await).unwrap(), expected);
    service.stop().await;
}

#[tokio::test]
async fn v2_tells_the_server_the_client_address_before_its_data() {
    let mut server = Recorder::start().await;
    let mut vip = vip(SchedulerKind::First, &[server.address]);
    vip.send_proxy = Some(ProxyVersion::V2);
    let service = Service::start(vip).unwrap();
    let vip_address = service.local_addrs()[0];
    let client = send(vip_address, b"hello").await;
    let received = server.next().await;
    assert_eq!(
        &received[..13],
        b"\r\n\r\n\0\r\nQUIT\n\x21",
        "v2 PROXY command"
    );
    assert_eq!(
        decode(&received),
        Ok(Decoded::Complete {
            header: Header::Proxied {
                source: client.local_addr().unwrap(),
                destination: vip_address,
            },
            length: 28,
        })
    );
    assert_eq!(&received[28..], b"hello");
    service.stop().await;
}

#[tokio::test]
async fn a_trusted_client_header_is_consumed_and_its_addresses_passed_on() {
    let mut server = Recorder::start().await;
    let mut vip = vip(SchedulerKind::First, &[server.address]);
    vip.accept_proxy_from = vec![Network::parse("127.0.0.0/8").unwrap()];
    vip.send_proxy = Some(ProxyVersion::V1);
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    send(
        address,
        b"PROXY TCP4 192.0.2.1 198.51.100.1 5555 80\r\nhello",
    )
    .await;
    assert_eq!(
        server.next().await,
        b"PROXY TCP4 192.0.2.1 198.51.100.1 5555 80\r\nhello"
    );

    let mut v2 = Vec::new();
    lb_core::proxy_protocol::encode(
        ProxyVersion::V2,
        &Header::Proxied {
            source: "[2001:db8::7]:4000".parse().unwrap(),
            destination: "[2001:db8::1]:443".parse().unwrap(),
        },
        &mut v2,
    );
    v2.extend_from_slice(b"over v2");
    send(address, &v2).await;
    assert_eq!(
        server.next().await,
        b"PROXY TCP6 2001:db8::7 2001:db8::1 4000 443\r\nover v2"
    );
    service.stop().await;
}

#[tokio::test]
async fn a_trusted_client_without_a_header_is_closed_and_untrusted_headers_are_data() {
    let mut server = Recorder::start().await;
    let mut trusting = vip(SchedulerKind::First, &[server.address]);
    trusting.accept_proxy_from = vec![Network::parse("127.0.0.1").unwrap()];
    let service = Service::start(trusting).unwrap();
    let mut client = client(&service).await;
    client
        .get_mut()
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_cleanly(&mut client).await);
    assert_eq!(service.stats().bad_proxy_headers, 1);
    service.stop().await;

    let mut untrusting = vip(SchedulerKind::First, &[server.address]);
    untrusting.accept_proxy_from = vec![Network::parse("10.0.0.0/8").unwrap()];
    let service = Service::start(untrusting).unwrap();
    let spoof = b"PROXY TCP4 10.1.1.1 10.2.2.2 1 2\r\ndata";
    send(service.local_addrs()[0], spoof).await;
    assert_eq!(
        server.next().await,
        spoof,
        "an untrusted header is passed on as data"
    );
    service.stop().await;
}
