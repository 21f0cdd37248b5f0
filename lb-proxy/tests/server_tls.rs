//! TLS from the VIP to its servers (`server_tls`), against real nginx serving TLS: `http` and
//! `tcp` VIPs reach nginx over TLS with the configured SNI, or verify the server's IP address
//! without one; a certificate another CA signed is refused as a failed connect (502, or the
//! connection closed, or the next server), with rustls' reason in the log; `verify = false`
//! accepts it; a client certificate satisfies nginx's `ssl_verify_client`; an upgraded
//! connection tunnels over TLS; `http` checks run over TLS; an unreadable `ca` fails the
//! start.

mod http_support;
mod tls_support;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_support::nginx::Nginx;
use http_support::{STEP, get, http_vip, raw, read_head, round_trip};
use lb_core::model::{
    Check, CheckKind, Health, HttpCheck, Mode, SchedulerKind, ServerId, ServerTls, Vip,
};
use lb_proxy::{HealthChecks, Service};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tls_support::{Authority, Leaf};
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsAcceptor;

/// The request the tests send, and what nginx's TLS listener answers it.
const REQUEST: &[u8] = b"GET /tls HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";

/// nginx named `name` with, beside its cleartext listener, a TLS one presenting `leaf`
/// (answered with `$ssl_protocol`, the SNI and the client certificate's verdict); `extra`
/// goes in its `server` block. Answers nginx and its TLS address.
fn tls_nginx(name: &str, leaf: &Leaf, extra: &str) -> (Nginx, SocketAddr) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let block = format!(
        "listen 127.0.0.1:{port} ssl; ssl_protocols TLSv1.2 TLSv1.3;\n\
         ssl_certificate {cert}; ssl_certificate_key {key};\n\
         location = /tls {{ default_type text/plain; \
         return 200 \"tls=$ssl_protocol sni=[$ssl_server_name] client=$ssl_client_verify\\n\"; }}\n\
         {extra}",
        cert = leaf.paths.cert.display(),
        key = leaf.paths.key.display(),
    );
    // nginx binds every listener before it accepts on any: the cleartext one answering means
    // the TLS one is up too.
    let nginx = Nginx::start(name, &block);
    (nginx, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Verified TLS trusting `ca`, checking `name` (the server's IP address when `None`).
fn verified(ca: &Path, name: Option<&str>, mode: Mode) -> ServerTls {
    ServerTls {
        server_name: name.map(str::to_owned),
        ..ServerTls::verified(ca, mode)
    }
}

/// A `tcp` VIP on 127.0.0.1 (any port) over `servers`, named `s1`, `s2`, ... ids 1, 2, ...
fn tcp_vip(servers: &[SocketAddr]) -> Vip {
    let mut vip = http_vip(servers);
    vip.mode = Mode::Tcp;
    vip
}

/// The log lines written while it lives (this thread's, which runs the whole test).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    fn capture() -> (Log, tracing::subscriber::DefaultGuard) {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Two authorities and the files the tests share: the trusted CA's bundle, a server leaf for
/// `controller.internal` from it and one from another CA (its issuer unknown to the VIP).
struct Pki {
    dir: tempfile::TempDir,
    trusted: Authority,
    ca: std::path::PathBuf,
    good: Leaf,
    foreign: Leaf,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let trusted = Authority::new();
        let ca = trusted.write(dir.path(), "ca");
        let good = trusted.issue(dir.path(), "good", &["controller.internal"]);
        let foreign =
            Authority::named("another CA").issue(dir.path(), "foreign", &["controller.internal"]);
        Pki {
            dir,
            trusted,
            ca,
            good,
            foreign,
        }
    }
}

#[tokio::test]
async fn http_vip_reaches_nginx_over_tls_with_the_configured_sni() {
    let pki = Pki::new();
    let (_nginx, address) = tls_nginx("one", &pki.good, "");
    let mut vip = http_vip(&[address]);
    vip.server_tls = Some(verified(&pki.ca, Some("controller.internal"), Mode::Http));
    let service = Service::start(vip).unwrap();
    for _ in 0..3 {
        let reply = get(service.local_addrs()[0], "/tls", "").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(
            reply.body,
            "tls=TLSv1.3 sni=[controller.internal] client=NONE\n"
        );
    }
    assert_eq!(service.stats().connect_failures, 0);
    service.stop().await;
}

#[tokio::test]
async fn tcp_vip_sends_the_clients_plaintext_over_tls() {
    let pki = Pki::new();
    let (_nginx, address) = tls_nginx("one", &pki.good, "");
    let mut vip = tcp_vip(&[address]);
    vip.server_tls = Some(verified(&pki.ca, Some("controller.internal"), Mode::Tcp));
    let service = Service::start(vip).unwrap();
    let response = raw(service.local_addrs()[0], REQUEST).await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.ends_with("\r\n\r\ntls=TLSv1.3 sni=[controller.internal] client=NONE\n"),
        "{response}"
    );
    let stats = service.stats();
    assert_eq!((stats.established, stats.connect_failures), (1, 0));
    service.stop().await;
}

#[tokio::test]
async fn without_server_name_the_servers_ip_address_is_verified() {
    let pki = Pki::new();
    let by_address = pki
        .trusted
        .issue(pki.dir.path(), "by-address", &["127.0.0.1"]);
    let (_right, right) = tls_nginx("right", &by_address, "");
    let (_named, named) = tls_nginx("named", &pki.good, "");
    let (log, _guard) = Log::capture();
    for (server, status) in [(right, 200), (named, 502)] {
        let mut vip = http_vip(&[server]);
        vip.server_tls = Some(verified(&pki.ca, None, Mode::Http));
        let service = Service::start(vip).unwrap();
        let reply = get(service.local_addrs()[0], "/tls", "").await;
        assert_eq!(reply.status, status, "{server}: {reply:?}");
        if status == 200 {
            // An IP address is never sent by SNI.
            assert_eq!(reply.body, "tls=TLSv1.3 sni=[] client=NONE\n");
        }
        service.stop().await;
    }
    let log = log.text();
    assert!(
        log.contains("invalid peer certificate: certificate not valid for name \"127.0.0.1\""),
        "{log}"
    );
}

#[tokio::test]
async fn http_a_certificate_from_another_ca_is_a_failed_connect() {
    let pki = Pki::new();
    let (_bad, bad) = tls_nginx("bad", &pki.foreign, "");
    let (_good, good) = tls_nginx("good", &pki.good, "");
    let (log, _guard) = Log::capture();

    let mut alone = http_vip(&[bad]);
    alone.server_tls = Some(verified(&pki.ca, Some("controller.internal"), Mode::Http));
    let service = Service::start(alone.clone()).unwrap();
    let reply = get(service.local_addrs()[0], "/tls", "").await;
    assert_eq!(reply.status, 502, "{reply:?}");
    assert_eq!(service.stats().connect_failures, 1);
    service.stop().await;
    let text = log.text();
    assert!(
        text.contains("connect failed")
            && text.contains("TLS handshake: invalid peer certificate: UnknownIssuer"),
        "{text}"
    );

    // The bad server first: every request is retried on the good one.
    let mut both = http_vip(&[bad, good]);
    both.scheduler = SchedulerKind::First;
    both.server_tls = alone.server_tls;
    let service = Service::start(both).unwrap();
    for _ in 0..5 {
        let reply = get(service.local_addrs()[0], "/tls", "").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert!(reply.body.starts_with("tls=TLSv1.3 "), "{reply:?}");
    }
    assert_eq!(service.stats().connect_failures, 5);
    service.stop().await;
}

#[tokio::test]
async fn tcp_a_certificate_from_another_ca_is_a_failed_connect() {
    let pki = Pki::new();
    let (_bad, bad) = tls_nginx("bad", &pki.foreign, "");
    let (_good, good) = tls_nginx("good", &pki.good, "");
    let (log, _guard) = Log::capture();
    let server_tls = verified(&pki.ca, Some("controller.internal"), Mode::Tcp);

    let mut alone = tcp_vip(&[bad]);
    alone.server_tls = Some(server_tls.clone());
    let service = Service::start(alone).unwrap();
    assert_eq!(raw(service.local_addrs()[0], REQUEST).await, "");
    let stats = service.stats();
    assert_eq!((stats.established, stats.connect_failures), (0, 1));
    service.stop().await;
    let text = log.text();
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer"),
        "{text}"
    );

    let mut both = tcp_vip(&[bad, good]);
    both.scheduler = SchedulerKind::First;
    both.server_tls = Some(server_tls);
    let service = Service::start(both).unwrap();
    let response = raw(service.local_addrs()[0], REQUEST).await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let stats = service.stats();
    assert_eq!((stats.established, stats.connect_failures), (1, 1));
    service.stop().await;
}

#[tokio::test]
async fn verify_false_accepts_any_certificate() {
    let pki = Pki::new();
    let (_bad, bad) = tls_nginx("bad", &pki.foreign, "");
    for mode in [Mode::Http, Mode::Tcp] {
        let mut vip = http_vip(&[bad]);
        vip.mode = mode;
        vip.server_tls = Some(ServerTls {
            ca: None,
            verify: false,
            ..verified(&pki.ca, Some("anything.example"), mode)
        });
        let service = Service::start(vip).unwrap();
        let response = raw(service.local_addrs()[0], REQUEST).await;
        assert!(
            response.starts_with("HTTP/1.1 200 OK\r\n"),
            "{mode:?}: {response}"
        );
        assert!(
            response.contains("tls=TLSv1.3 sni=[anything.example]"),
            "{mode:?}: {response}"
        );
        service.stop().await;
    }
}

#[tokio::test]
async fn a_client_certificate_answers_nginx_ssl_verify_client() {
    let pki = Pki::new();
    let client = pki
        .trusted
        .issue(pki.dir.path(), "client", &["lb.internal"]);
    let demand = format!(
        "ssl_verify_client on; ssl_client_certificate {};",
        pki.ca.display()
    );
    let (_nginx, address) = tls_nginx("mutual", &pki.good, &demand);
    for (certificate, status, body) in [
        (Some(client.paths), 200, "client=SUCCESS"),
        (None, 400, "No required SSL certificate was sent"),
    ] {
        let mut vip = http_vip(&[address]);
        vip.server_tls = Some(ServerTls {
            client_certificate: certificate,
            ..verified(&pki.ca, Some("controller.internal"), Mode::Http)
        });
        let service = Service::start(vip).unwrap();
        let reply = get(service.local_addrs()[0], "/tls", "").await;
        assert_eq!(reply.status, status, "{reply:?}");
        assert!(reply.body.contains(body), "{reply:?}");
        service.stop().await;
    }
}

#[tokio::test]
async fn http_checks_run_over_tls() {
    let pki = Pki::new();
    let (_good, good) = tls_nginx("good", &pki.good, "");
    let (_bad, bad) = tls_nginx("bad", &pki.foreign, "");
    let mut vip = http_vip(&[good, bad]);
    vip.server_tls = Some(verified(&pki.ca, Some("controller.internal"), Mode::Http));
    let every = Duration::from_millis(50);
    vip.check = Check {
        kind: CheckKind::Http(HttpCheck {
            path: "/tls".to_owned(),
            ..HttpCheck::default()
        }),
        interval: every,
        fast_interval: every,
        down_interval: every,
        rise: 1,
        fall: 1,
        ..Check::default()
    };
    let service = Arc::new(Service::start(vip.clone()).unwrap());
    let checks = HealthChecks::start(Arc::clone(&service));
    let down = service.wait_for_pool(|pool| {
        pool.member(ServerId(2)).map(|member| member.health) == Some(Health::Down)
    });
    tokio::time::timeout(STEP, down)
        .await
        .expect("the server with a foreign certificate goes down");
    assert_eq!(checks.health(ServerId(2)), Some(Health::Down));
    let detail = checks.detail(ServerId(2)).unwrap();
    assert!(
        detail.contains("invalid peer certificate: UnknownIssuer"),
        "{detail}"
    );
    // A cleartext check would get nginx's 400 for plain HTTP on its TLS port. Staying up is
    // no event: four more check intervals pass first.
    tokio::time::sleep(every * 4).await;
    assert_eq!(checks.health(ServerId(1)), Some(Health::Up));
    checks.stop().await;
}

#[tokio::test]
async fn an_unreadable_ca_fails_the_start_naming_the_file() {
    let pki = Pki::new();
    let missing = pki.dir.path().join("missing.pem");
    let empty = pki.dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    for (ca, reason) in [(&missing, "No such file"), (&empty, "no CERTIFICATE block")] {
        let mut vip = http_vip(&["127.0.0.1:1".parse().unwrap()]);
        vip.server_tls = Some(verified(ca, None, Mode::Http));
        let error = Service::start(vip).unwrap_err().to_string();
        let expected = format!("VIP `web`: TLS: server_tls: {}: ", ca.display());
        assert!(error.starts_with(&expected), "{error}");
        assert!(error.contains(reason), "{error}");
    }
}

/// A TLS server presenting `leaf` that reads one request head, answers 101, then echoes.
async fn upgrading_tls_server(leaf: &Leaf) -> SocketAddr {
    let chain = vec![CertificateDer::from_pem_file(&leaf.paths.cert).unwrap()];
    let key = PrivateKeyDer::from_pem_file(&leaf.paths.key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(stream).await else {
                    return;
                };
                read_head(&mut stream).await;
                let answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                              Connection: Upgrade\r\n\r\n";
                stream.write_all(answer.as_bytes()).await.unwrap();
                let (mut read, mut write) = tokio::io::split(stream);
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    address
}

#[tokio::test]
async fn an_upgraded_connection_tunnels_over_tls_to_the_server() {
    let pki = Pki::new();
    let server = upgrading_tls_server(&pki.good).await;
    let mut vip = http_vip(&[server]);
    vip.server_tls = Some(verified(&pki.ca, Some("controller.internal"), Mode::Http));
    let service = Service::start(vip).unwrap();
    let mut client = tokio::net::TcpStream::connect(service.local_addrs()[0])
        .await
        .unwrap();
    let upgrade =
        "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    client.write_all(upgrade.as_bytes()).await.unwrap();
    let head = tokio::time::timeout(STEP, read_head(&mut client))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    for message in ["\u{81}\u{2}hi", "binary \0\n\r bytes"] {
        assert_eq!(round_trip(&mut client, message).await, message.as_bytes());
    }
    service.stop().await;
}
