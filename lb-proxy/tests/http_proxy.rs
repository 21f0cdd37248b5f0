//! HTTP mode against real nginx servers: forwarding, keep-alive to servers, forwarding
//! headers as servers receive them, the proxy's own errors and retries, timeouts and limits.

mod http_support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use http_support::nginx::Nginx;
use http_support::{Reply, STEP, Tripwire, get, http_vip, raw};
use lb_core::model::{Health, Network, ServerId};
use lb_proxy::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn field<'r>(body: &'r str, name: &str) -> &'r str {
    let start = body.find(&format!("{name}=")).expect(name) + name.len() + 1;
    let rest = &body[start..];
    let end = if rest.starts_with('[') {
        rest.find(']').unwrap() + 1
    } else {
        rest.find([' ', '\n']).unwrap_or(rest.len())
    };
    rest[..end].trim_matches(['[', ']'])
}

#[tokio::test]
async fn requests_alternate_between_servers_over_kept_alive_server_connections() {
    let (one, two) = (Nginx::start("one", ""), Nginx::start("two", ""));
    let service = Service::start(http_vip(&[one.address, two.address])).unwrap();
    let vip = service.local_addrs()[0];
    let mut connections: HashMap<String, HashSet<String>> = HashMap::new();
    let mut served = Vec::new();
    for _ in 0..20 {
        let reply = get(vip, "/", "").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let name = field(&reply.body, "name").to_owned();
        connections
            .entry(name.clone())
            .or_default()
            .insert(field(&reply.body, "conn").to_owned());
        served.push(name);
    }
    assert_eq!(served.iter().filter(|n| *n == "one").count(), 10);
    assert!(
        served.windows(2).all(|w| w[0] != w[1]),
        "round-robin: {served:?}"
    );
    for (server, used) in &connections {
        assert!(
            used.len() <= 2,
            "{server} got {} connections for 10 requests",
            used.len()
        );
    }
    service.stop().await;
}

#[tokio::test]
async fn pipelined_requests_on_one_client_connection_each_get_their_response() {
    let server = Nginx::start("one", "");
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let request = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
                   GET http://real:81/b HTTP/1.1\r\nHost: fake\r\nConnection: close\r\n\r\n";
    let text = raw(service.local_addrs()[0], request.as_bytes()).await;
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    assert!(
        text.contains("host=x ") && text.contains("uri=/a "),
        "{text}"
    );
    assert!(
        text.contains("host=real:81 ") && text.contains("uri=/b "),
        "absolute form: {text}"
    );
    service.stop().await;
}

#[tokio::test]
async fn servers_see_the_client_address_and_never_a_spoofed_one() {
    let server = Nginx::start("one", "");
    let spoof =
        "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\n";
    let untrusted = Service::start(http_vip(&[server.address])).unwrap();
    let port = untrusted.local_addrs()[0].port().to_string();
    let body = get(untrusted.local_addrs()[0], "/", spoof).await.body;
    assert_eq!(field(&body, "xff"), "127.0.0.1");
    assert_eq!(field(&body, "proto"), "http");
    assert_eq!(field(&body, "port"), port);
    assert_eq!(field(&body, "fwd"), "for=127.0.0.1;proto=http");
    untrusted.stop().await;

    let mut vip = http_vip(&[server.address]);
    vip.http.trusted_forwarders = vec![Network::parse("127.0.0.0/8").unwrap()];
    let trusted = Service::start(vip).unwrap();
    let body = get(trusted.local_addrs()[0], "/", spoof).await.body;
    assert_eq!(field(&body, "xff"), "6.6.6.6, 127.0.0.1");
    assert_eq!(field(&body, "proto"), "https");
    assert_eq!(field(&body, "fwd"), "for=6.6.6.6, for=127.0.0.1;proto=http");
    trusted.stop().await;
}

#[tokio::test]
async fn no_usable_server_is_503_a_failing_one_502_a_silent_one_504() {
    let silent = Tripwire::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut vip = http_vip(&[closed, silent.address]);
    vip.timeouts.server = Duration::from_millis(300);
    vip.retries = 0;
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let first = get(address, "/", "").await;
    let second = get(address, "/", "").await;
    let mut statuses = [first.status, second.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [502, 504], "{first:?} {second:?}");
    assert!(first.body.starts_with(&format!("{} ", first.status)));
    for id in [1, 2] {
        service.set_health(ServerId(id), Health::Down).unwrap();
    }
    assert_eq!(get(address, "/", "").await.status, 503);
    service.stop().await;
}

#[tokio::test]
async fn a_request_whose_connect_failed_is_retried_on_another_server() {
    let server = Nginx::start("live", "");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let service = Service::start(http_vip(&[closed, server.address])).unwrap();
    for _ in 0..10 {
        let reply = get(service.local_addrs()[0], "/", "").await;
        assert_eq!((reply.status, field(&reply.body, "name")), (200, "live"));
    }
    assert!(service.stats().connect_failures >= 5);
    service.stop().await;
}

#[tokio::test]
async fn large_bodies_stream_both_ways() {
    let server = Nginx::start("files", "location /big { root html; }");
    let file = vec![b'x'; 8 << 20];
    std::fs::create_dir_all(server.dir().join("html")).unwrap();
    std::fs::write(server.dir().join("html/big"), &file).unwrap();
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let reply = Reply::parse(
        &raw(
            service.local_addrs()[0],
            b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await,
    );
    assert_eq!((reply.status, reply.body.len()), (200, file.len()));
    let upload = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        file.len()
    );
    let mut request = upload.into_bytes();
    request.extend_from_slice(&file);
    let reply = Reply::parse(&raw(service.local_addrs()[0], &request).await);
    assert_eq!(reply.status, 200);
    service.stop().await;
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off_and_a_huge_one_gets_431() {
    let server = Tripwire::start().await;
    let mut vip = http_vip(&[server.address]);
    vip.timeouts.http_request = Duration::from_millis(300);
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let mut slow = TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest))
        .await
        .expect("the slow client was not cut off")
        .ok();
    assert!(started.elapsed() >= Duration::from_millis(250));
    let many = "X-A: 1\r\n".repeat(150);
    let reply = Reply::parse(
        &raw(
            address,
            format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
        )
        .await,
    );
    assert_eq!(reply.status, 431);
    assert_eq!(server.seen().0, 0, "nothing reached the server");
    service.stop().await;
}

#[tokio::test]
async fn an_idle_kept_alive_client_is_closed_after_the_request_timeout() {
    let server = Nginx::start("one", "");
    let mut vip = http_vip(&[server.address]);
    vip.timeouts.http_request = Duration::from_millis(300);
    let service = Service::start(vip).unwrap();
    let mut client = TcpStream::connect(service.local_addrs()[0]).await.unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut text = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut text))
        .await
        .expect("an idle client was kept open")
        .ok();
    let text = String::from_utf8_lossy(&text);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    service.stop().await;
}

#[tokio::test]
async fn source_ip_persistence_keeps_a_client_on_one_server_in_http_mode() {
    let (one, two) = (Nginx::start("one", ""), Nginx::start("two", ""));
    let mut vip = http_vip(&[one.address, two.address]);
    vip.persistence = lb_core::model::Persistence::source_ip();
    let service = Service::start(vip).unwrap();
    let mut names = HashSet::new();
    for _ in 0..10 {
        let reply = get(service.local_addrs()[0], "/", "").await;
        names.insert(field(&reply.body, "name").to_owned());
    }
    assert_eq!(names.len(), 1, "{names:?}");
    service.stop().await;
}

#[tokio::test]
async fn an_upload_slower_than_the_server_timeout_still_gets_its_response() {
    // A server that answers only once it has the whole body, as an upload endpoint does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 1024];
        while !String::from_utf8_lossy(&received).ends_with("abcdefgh") {
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "the proxy closed mid-upload");
            received.extend_from_slice(&buffer[..read]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .unwrap();
    });
    let mut vip = http_vip(&[address]);
    vip.timeouts.server = Duration::from_millis(300);
    let service = Service::start(vip).unwrap();
    let mut client = TcpStream::connect(service.local_addrs()[0]).await.unwrap();
    client
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    for piece in [b"ab", b"cd", b"ef", b"gh"] {
        // Slow on purpose: each pause is shorter than the server timeout, their sum longer.
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.write_all(piece).await.unwrap();
    }
    let mut text = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut text))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&text);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    service.stop().await;
}

#[tokio::test]
async fn maintenance_cuts_a_response_in_flight_and_sends_new_requests_elsewhere() {
    // A server that starts a long response and then stalls.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stalling = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer).await;
                let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nstarted";
                stream.write_all(head).await.unwrap();
                std::future::pending::<()>().await;
            });
        }
    });
    let healthy = Nginx::start("two", "");
    let mut vip = http_vip(&[stalling, healthy.address]);
    vip.scheduler = lb_core::model::SchedulerKind::First;
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let mut client = TcpStream::connect(address).await.unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut start = vec![0u8; 64];
    let read = tokio::time::timeout(STEP, client.read(&mut start))
        .await
        .expect("no response head within 10 s")
        .unwrap();
    assert!(String::from_utf8_lossy(&start[..read]).starts_with("HTTP/1.1 200"));
    service
        .set_admin_state(ServerId(1), lb_core::model::AdminState::Maintenance)
        .unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut rest))
        .await
        .expect("the response in flight was not cut")
        .ok();
    let reply = get(address, "/", "").await;
    assert_eq!(field(&reply.body, "name"), "two");
    service.stop().await;
}

#[tokio::test]
async fn a_client_expecting_100_continue_gets_it_then_its_response() {
    let server = Nginx::start("continue", "");
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let mut client = TcpStream::connect(service.local_addrs()[0]).await.unwrap();
    client
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
    let interim = tokio::time::timeout(STEP, http_support::read_head(&mut client))
        .await
        .expect("no 100 Continue within 10 s");
    assert_eq!(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    client.write_all(b"hello").await.unwrap();
    let head = tokio::time::timeout(STEP, http_support::read_head(&mut client))
        .await
        .expect("no response within 10 s");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head:?}");
    service.stop().await;
}
