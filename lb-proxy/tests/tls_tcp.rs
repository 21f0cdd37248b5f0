//! TLS termination on `tcp` VIPs: the certificate chosen by SNI, plaintext forwarded to the
//! server with half-close, old protocol versions refused, certificate files checked at start
//! and read again on reconfiguration.

mod common;
mod tls_support;

use common::*;
use lb_core::model::{Mode, Network, ProxyVersion, SchedulerKind};
use lb_proxy::{Error, Service};
use tls_support::{Authority, connect, presented, tls, trusting_client};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[tokio::test]
async fn plaintext_reaches_the_server_and_half_close_passes_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new();
    let leaf = authority.issue(dir.path(), "db", &["db.example"]);
    let server = Echo::start("a").await;
    let mut vip = vip(SchedulerKind::RoundRobin, &[server.address]);
    vip.tls = Some(tls(&[&leaf], Mode::Tcp));
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let stream = within(connect(&authority.client(&[]), address, "db.example"))
        .await
        .unwrap();
    assert_eq!(
        stream.get_ref().1.alpn_protocol(),
        None,
        "no ALPN on tcp VIPs"
    );
    let mut client = BufReader::new(stream);
    let mut line = String::new();
    within(client.read_line(&mut line)).await.unwrap();
    assert_eq!(
        line, "a\n",
        "the server's greeting, decrypted by the client"
    );
    client.get_mut().write_all(b"ping\n").await.unwrap();
    line.clear();
    within(client.read_line(&mut line)).await.unwrap();
    assert_eq!(line, "ping\n");
    // The client's close_notify reaches the server as end of stream; the server's own end
    // of stream comes back as the end of the TLS session.
    client.get_mut().shutdown().await.unwrap();
    let mut rest = Vec::new();
    within(client.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty());
    let stats = until_stats(&service, |stats| stats.client_to_server_bytes > 0).await;
    assert_eq!(stats.client_to_server_bytes, 5);
    assert_eq!(stats.server_to_client_bytes, 7);
}

#[tokio::test]
async fn sni_picks_the_certificate_carrying_the_name_else_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new();
    let first = authority.issue(dir.path(), "first", &["first.example"]);
    let second = authority.issue(dir.path(), "second", &["second.example", "*.apps.example"]);
    let server = Echo::start("a").await;
    let mut vip = vip(SchedulerKind::RoundRobin, &[server.address]);
    vip.tls = Some(tls(&[&first, &second], Mode::Tcp));
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let verified = authority.client(&[]);
    for (name, expected) in [
        ("first.example", &first),
        ("second.example", &second),
        ("horizon.apps.example", &second),
    ] {
        let stream = within(connect(&verified, address, name)).await.unwrap();
        assert_eq!(presented(&stream), expected.der, "certificate for {name}");
    }
    let stream = within(connect(&trusting_client(), address, "unknown.example"))
        .await
        .unwrap();
    assert_eq!(
        presented(&stream),
        first.der,
        "the default for an unknown name"
    );
}

#[tokio::test]
async fn a_client_offering_only_tls_1_1_gets_a_protocol_version_alert() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new();
    let leaf = authority.issue(dir.path(), "db", &["db.example"]);
    let server = Echo::start("a").await;
    let mut vip = vip(SchedulerKind::RoundRobin, &[server.address]);
    vip.tls = Some(tls(&[&leaf], Mode::Tcp));
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    // The same hello offering TLS 1.2 gets a ServerHello: only the version is refused.
    let accepted = first_record(address, 0x0303).await;
    assert_eq!(accepted[0], 22, "a handshake record: {accepted:02x?}");
    let refused = first_record(address, 0x0302).await;
    assert_eq!(
        refused,
        [21, 3, 3, 0, 2, 2, 70],
        "a fatal protocol_version alert"
    );
    assert_eq!(server.accepted(), 0, "nothing reached a server");
    until_stats(&service, |stats| stats.tls_handshake_failures == 2).await;
}

/// The first bytes the VIP answers to a TLS 1.2-style ClientHello offering only `version`
/// (no `supported_versions` extension).
async fn first_record(address: std::net::SocketAddr, version: u16) -> Vec<u8> {
    let mut client = within(TcpStream::connect(address)).await.unwrap();
    client.write_all(&client_hello(version)).await.unwrap();
    let mut reply = vec![0; 7];
    within(client.read_exact(&mut reply)).await.unwrap();
    reply
}

/// A ClientHello offering `version`, ECDHE with X25519 and P-256 ECDSA signatures, and two
/// suites (ECDHE-ECDSA with AES-128-GCM and with AES-128-CBC).
fn client_hello(version: u16) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend([7u8; 32]); // random
    body.push(0); // no session id
    body.extend([0, 4, 0xc0, 0x2b, 0xc0, 0x09]); // cipher suites
    body.extend([1, 0]); // null compression
    let extensions = [
        [0, 0x0a, 0, 4, 0, 2, 0, 0x1d].as_slice(), // supported groups: x25519
        &[0, 0x0b, 0, 2, 1, 0],                    // point formats: uncompressed
        &[0, 0x0d, 0, 4, 0, 2, 4, 3],              // signatures: ecdsa_secp256r1_sha256
    ]
    .concat();
    body.extend((extensions.len() as u16).to_be_bytes());
    body.extend(extensions);
    let mut handshake = vec![1, 0];
    handshake.extend((body.len() as u16).to_be_bytes());
    handshake.extend(body);
    let mut record = vec![22, 3, 1];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

#[tokio::test]
async fn a_missing_or_mismatched_file_stops_the_start_naming_vip_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new();
    let first = authority.issue(dir.path(), "first", &["first.example"]);
    let second = authority.issue(dir.path(), "second", &["second.example"]);
    let server = Echo::start("a").await;
    let mut vip = vip(SchedulerKind::RoundRobin, &[server.address]);
    let mut settings = tls(&[&first], Mode::Tcp);
    settings.certificates[0].cert = dir.path().join("absent.pem");
    vip.tls = Some(settings.clone());
    let error = Service::start(vip.clone()).unwrap_err();
    assert!(matches!(error, Error::Tls { .. }));
    let shown = error.to_string();
    assert!(shown.starts_with("VIP `test`: TLS: "), "{shown}");
    assert!(shown.contains("absent.pem"), "{shown}");
    settings.certificates[0].cert = first.paths.cert.clone();
    settings.certificates[0].key = second.paths.key.clone();
    vip.tls = Some(settings);
    let shown = Service::start(vip).unwrap_err().to_string();
    assert!(shown.contains("second.key"), "{shown}");
}

#[tokio::test]
async fn reconfiguring_reads_renewed_certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new();
    let old = authority.issue(dir.path(), "db", &["db.example"]);
    let server = Echo::start("a").await;
    let mut vip = vip(SchedulerKind::RoundRobin, &[server.address]);
    vip.tls = Some(tls(&[&old], Mode::Tcp));
    let service = Service::start(vip.clone()).unwrap();
    let address = service.local_addrs()[0];
    let client = authority.client(&[]);
    let before = within(connect(&client, address, "db.example"))
        .await
        .unwrap();
    let renewed = authority.issue(dir.path(), "db", &["db.example"]);
    service.reconfigure(&vip).unwrap();
    let after = within(connect(&client, address, "db.example"))
        .await
        .unwrap();
    assert_eq!(presented(&before), old.der);
    assert_eq!(presented(&after), renewed.der);
    std::fs::write(&renewed.paths.key, "not a key").unwrap();
    let refused = service.reconfigure(&vip).unwrap_err().to_string();
    assert!(refused.contains("db.key"), "{refused}");
    let kept = within(connect(&client, address, "db.example"))
        .await
        .unwrap();
    assert_eq!(presented(&kept), renewed.der, "a bad file changes nothing");
}

#[tokio::test]
async fn tls_after_a_proxy_header_is_terminated_and_the_client_address_passed_on() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new();
    let leaf = authority.issue(dir.path(), "db", &["db.example"]);
    let mut server = Recorder::start().await;
    let mut vip = vip(SchedulerKind::RoundRobin, &[server.address]);
    vip.tls = Some(tls(&[&leaf], Mode::Tcp));
    vip.accept_proxy_from = vec![Network::parse("127.0.0.0/8").unwrap()];
    vip.send_proxy = Some(ProxyVersion::V1);
    let service = Service::start(vip).unwrap();
    let mut tcp = within(TcpStream::connect(service.local_addrs()[0]))
        .await
        .unwrap();
    // The header and the ClientHello usually arrive together: the hello is read with the
    // header and must still reach the TLS layer, not the server.
    tcp.write_all(b"PROXY TCP4 192.0.2.7 127.0.0.1 5000 443\r\n")
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("db.example").unwrap();
    let mut stream = within(authority.client(&[]).connect(name, tcp))
        .await
        .unwrap();
    stream.write_all(b"hello").await.unwrap();
    stream.shutdown().await.unwrap();
    let received = String::from_utf8(server.next().await).unwrap();
    assert!(received.starts_with("PROXY TCP4 192.0.2.7 "), "{received}");
    assert!(received.ends_with("\r\nhello"), "{received}");
}

#[tokio::test]
async fn the_vip_orders_cipher_suites_strongest_first_whatever_the_client_prefers() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new();
    let leaf = authority.issue(dir.path(), "db", &["db.example"]);
    let server = Echo::start("a").await;
    let mut vip = vip(SchedulerKind::RoundRobin, &[server.address]);
    vip.tls = Some(tls(&[&leaf], Mode::Tcp));
    let service = Service::start(vip).unwrap();
    let suites = rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256;
    let client = authority.client_preferring(suites);
    let stream = within(connect(&client, service.local_addrs()[0], "db.example"))
        .await
        .unwrap();
    let negotiated = stream.get_ref().1.negotiated_cipher_suite().unwrap();
    assert_eq!(
        negotiated.suite(),
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384
    );
}

#[tokio::test]
async fn a_client_closing_without_close_notify_still_gets_the_rest_of_the_reply() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new();
    let leaf = authority.issue(dir.path(), "db", &["db.example"]);
    let server = Echo::start("a").await;
    let mut vip = vip(SchedulerKind::RoundRobin, &[server.address]);
    vip.tls = Some(tls(&[&leaf], Mode::Tcp));
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let mut stream = within(connect(&authority.client(&[]), address, "db.example"))
        .await
        .unwrap();
    stream.write_all(b"ping\n").await.unwrap();
    let mut echoed = [0u8; 7];
    within(stream.read_exact(&mut echoed)).await.unwrap();
    assert_eq!(&echoed, b"a\nping\n");
    // A bare FIN, no close_notify: passed on to the server, whose own end comes back as the
    // VIP's close_notify (a record), not as a connection dropped without one.
    let (mut tcp, _) = stream.into_inner();
    tcp.shutdown().await.unwrap();
    let mut rest = Vec::new();
    within(tcp.read_to_end(&mut rest)).await.unwrap();
    assert!(
        !rest.is_empty(),
        "the session ended with a close_notify record"
    );
}
