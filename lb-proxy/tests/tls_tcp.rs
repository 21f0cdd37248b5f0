//! TLS termination on `tcp` VIPs: the certificate chosen by SNI, plaintext forwarded to the
//! server with half-close, old protocol versions refused, certificate files checked at start
//! and read again on reconfiguration.

mod common;
mod tls_support;

use std::net::SocketAddr;

use common::*;
use lb_core::model::{Mode, Network, ProxyVersion, SchedulerKind, Vip};
use lb_proxy::{Error, Service, ServiceHandle};
use tempfile::TempDir;
use tls_support::{Authority, Leaf, connect, presented, refused_names, tls};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The name the leaf of a [`Terminating`] VIP carries.
const NAME: &str = "db.example";

/// A started `tcp` VIP terminating TLS with a leaf for [`NAME`] (files `db.pem`, `db.key`)
/// issued by its own authority.
struct Terminating {
    dir: TempDir,
    authority: Authority,
    leaf: Leaf,
    config: Vip,
    service: ServiceHandle,
    address: SocketAddr,
}

impl Terminating {
    /// Starts `config` with TLS added.
    fn start(mut config: Vip) -> Terminating {
        let dir = tempfile::tempdir().unwrap();
        let authority = Authority::new();
        let leaf = authority.issue(dir.path(), "db", &[NAME]);
        config.tls = Some(tls(&[&leaf], Mode::Tcp));
        let service = Service::start(config.clone()).unwrap();
        let address = service.local_addrs()[0];
        Terminating {
            dir,
            authority,
            leaf,
            config,
            service,
            address,
        }
    }

    /// A TLS session asking for [`NAME`], verified against the authority.
    async fn connect(&self) -> TlsStream<TcpStream> {
        self.connect_with(&self.authority.client(&[])).await
    }

    /// A TLS session asking for [`NAME`] through `client`.
    async fn connect_with(&self, client: &TlsConnector) -> TlsStream<TcpStream> {
        within(connect(client, self.address, NAME)).await.unwrap()
    }
}

#[tokio::test]
async fn plaintext_reaches_the_server_and_half_close_passes_both_ways() {
    let server = Echo::start("a").await;
    let vip = Terminating::start(vip(SchedulerKind::RoundRobin, &[server.address]));
    let stream = vip.connect().await;
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
    let stats = until_stats(&vip.service, |stats| stats.client_to_server_bytes > 0).await;
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
    let without_sni = authority.client_without_sni();
    let stream = within(connect(&without_sni, address, "first.example"))
        .await
        .unwrap();
    assert_eq!(presented(&stream), first.der, "the default without SNI");
    // The verifying client refuses what comes for an unknown name: the first certificate.
    let refused = within(connect(&verified, address, "unknown.example"))
        .await
        .unwrap_err();
    assert_eq!(
        refused_names(&refused),
        [r#"DnsName("first.example")"#],
        "the default for an unknown name"
    );
}

#[tokio::test]
async fn a_client_offering_only_tls_1_1_gets_a_protocol_version_alert() {
    let server = Echo::start("a").await;
    let vip = Terminating::start(vip(SchedulerKind::RoundRobin, &[server.address]));
    // The same hello offering TLS 1.2 gets a ServerHello: only the version is refused.
    let accepted = first_record(vip.address, 0x0303).await;
    assert_eq!(accepted[0], 22, "a handshake record: {accepted:02x?}");
    let refused = first_record(vip.address, 0x0302).await;
    assert_eq!(
        refused,
        [21, 3, 3, 0, 2, 2, 70],
        "a fatal protocol_version alert"
    );
    assert_eq!(server.accepted(), 0, "nothing reached a server");
    until_stats(&vip.service, |stats| stats.tls_handshake_failures == 2).await;
}

/// The first bytes the VIP answers to a TLS 1.2-style ClientHello offering only `version`
/// (no `supported_versions` extension).
async fn first_record(address: SocketAddr, version: u16) -> Vec<u8> {
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
    let server = Echo::start("a").await;
    let vip = Terminating::start(vip(SchedulerKind::RoundRobin, &[server.address]));
    let before = vip.connect().await;
    let renewed = vip.authority.issue(vip.dir.path(), "db", &[NAME]);
    vip.service.reconfigure(&vip.config).unwrap();
    let after = vip.connect().await;
    assert_eq!(presented(&before), vip.leaf.der);
    assert_eq!(presented(&after), renewed.der);
    std::fs::write(&renewed.paths.key, "not a key").unwrap();
    let refused = vip
        .service
        .reconfigure(&vip.config)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("db.key"), "{refused}");
    let kept = vip.connect().await;
    assert_eq!(presented(&kept), renewed.der, "a bad file changes nothing");
}

#[tokio::test]
async fn tls_after_a_proxy_header_is_terminated_and_the_client_address_passed_on() {
    let mut server = Recorder::start().await;
    let mut config = vip(SchedulerKind::RoundRobin, &[server.address]);
    config.accept_proxy_from = vec![Network::parse("127.0.0.0/8").unwrap()];
    config.send_proxy = Some(ProxyVersion::V1);
    let vip = Terminating::start(config);
    let mut tcp = within(TcpStream::connect(vip.address)).await.unwrap();
    // The header and the ClientHello usually arrive together: the hello is read with the
    // header and must still reach the TLS layer, not the server.
    tcp.write_all(b"PROXY TCP4 192.0.2.7 127.0.0.1 5000 443\r\n")
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from(NAME).unwrap();
    let mut stream = within(vip.authority.client(&[]).connect(name, tcp))
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
    let server = Echo::start("a").await;
    let vip = Terminating::start(vip(SchedulerKind::RoundRobin, &[server.address]));
    let suites = rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256;
    let stream = vip
        .connect_with(&vip.authority.client_preferring(suites))
        .await;
    let negotiated = stream.get_ref().1.negotiated_cipher_suite().unwrap();
    assert_eq!(
        negotiated.suite(),
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384
    );
}

#[tokio::test]
async fn a_client_closing_without_close_notify_still_gets_the_rest_of_the_reply() {
    let server = Echo::start("a").await;
    let vip = Terminating::start(vip(SchedulerKind::RoundRobin, &[server.address]));
    let mut stream = vip.connect().await;
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
