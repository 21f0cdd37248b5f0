//! Reloads through [`Runtime::reload`]: one that changes an http VIP's settings but not its
//! servers keeps the VIP's idle keep-alive connections to them (under keep-alive load, with
//! client connections opened before and after the reload, no new connection reaches the
//! server after the reload), and a weight set at runtime survives any number of reloads of a
//! file that does not change it.

mod http_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_support::counting::CountingServer;
use http_support::{http_vip, within};
use lb_core::model::Config;
use lb_proxy::Runtime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

/// Clients sending requests at once, each one request at a time.
const CLIENTS: usize = 4;
/// Requests each client sends on one client connection before opening another.
const PER_CONNECTION: usize = 10;
/// Client connections each client opens before the reload, and again after it.
const CONNECTIONS_PER_PHASE: usize = 3;

/// Sends `count` requests on one new keep-alive connection to `vip`, each answered `ok`.
async fn requests(vip: SocketAddr, count: usize) {
    let mut client = TcpStream::connect(vip).await.unwrap();
    for _ in 0..count {
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: web\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        while !response.ends_with(b"\r\n\r\nok") {
            let mut chunk = [0u8; 512];
            let read = within(client.read(&mut chunk)).await.unwrap();
            assert!(read > 0, "the response came whole: {response:?}");
            response.extend_from_slice(&chunk[..read]);
        }
        assert!(response.starts_with(b"HTTP/1.1 200"), "{response:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_under_keep_alive_load_opens_no_new_server_connection() {
    let server = CountingServer::start(true, "ok").await;
    let mut config = Config::default();
    let mut vip = http_vip(&[server.address]);
    vip.listen = vec!["127.0.0.1:0".parse().unwrap()];
    config.vips.push(vip);
    let mut runtime = Runtime::start(&config).await.unwrap();
    let address = runtime.vips()[0].service.local_addrs()[0];
    // Every client waits at the barrier after its first phase; the test reloads while they
    // wait, then lets them go on with new client connections.
    let phase = Arc::new(Barrier::new(CLIENTS + 1));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let phase = Arc::clone(&phase);
            tokio::spawn(async move {
                for _ in 0..CONNECTIONS_PER_PHASE {
                    requests(address, PER_CONNECTION).await;
                }
                phase.wait().await;
                phase.wait().await;
                for _ in 0..CONNECTIONS_PER_PHASE {
                    requests(address, PER_CONNECTION).await;
                }
            })
        })
        .collect();
    within(phase.wait()).await;
    let before = server.connections();
    assert!(
        (1..=CLIENTS as u64).contains(&before),
        "one request at a time per client needs at most {CLIENTS} server connections: {before}"
    );
    config.vips[0].timeouts.client = Duration::from_secs(77);
    let report = runtime.reload(&config).await.unwrap();
    assert_eq!(
        report.changed,
        ["web"],
        "the VIP's settings changed in place"
    );
    within(phase.wait()).await;
    for client in clients {
        within(client).await.unwrap();
    }
    assert_eq!(
        server.connections(),
        before,
        "the requests after the reload reused the server connections opened before it"
    );
    runtime.stop().await;
}

#[tokio::test]
async fn a_runtime_weight_survives_every_reload_of_an_unchanged_file() {
    let server = CountingServer::start(true, "ok").await;
    let mut config = Config::default();
    config.vips.push(http_vip(&[server.address]));
    let mut runtime = Runtime::start(&config).await.unwrap();
    let weight = |runtime: &Runtime| runtime.vips()[0].server("s1").unwrap().weight;
    runtime.vips()[0].set_weight("s1", 7).unwrap();
    for reload in 1..=3 {
        let report = runtime.reload(&config).await.unwrap();
        assert_eq!(report.unchanged, ["web"]);
        assert_eq!(weight(&runtime), 7, "after reload {reload}");
    }
    config.vips[0].servers[0].weight = 30;
    runtime.reload(&config).await.unwrap();
    assert_eq!(weight(&runtime), 30, "the file changed the weight");
    runtime.stop().await;
}
