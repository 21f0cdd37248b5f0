//! Cleartext HTTP/2 with prior knowledge through an HTTP VIP to HTTP/1.1 nginx servers:
//! concurrent streams on one connection, and h2load's run without errors.

mod http_support;

use std::process::Command;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use http_support::http_vip;
use http_support::nginx::Nginx;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lb_proxy::Service;
use tokio::net::TcpStream;

#[tokio::test]
async fn concurrent_http2_streams_reach_http1_servers() {
    let (one, two) = (Nginx::start("one", ""), Nginx::start("two", ""));
    let service = Service::start(http_vip(&[one.address, two.address])).unwrap();
    let address = service.local_addrs()[0];
    let tcp = TcpStream::connect(address).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);
    let requests = (0..20).map(|i| {
        let mut sender = sender.clone();
        async move {
            let request = http::Request::get(format!("http://horizon.test/item?{i}"))
                .body(Empty::<Bytes>::new())
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap(), i)
        }
    });
    let mut served = std::collections::HashSet::new();
    for (status, body, i) in futures_join(requests).await {
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&format!("uri=/item?{i} ")), "{body}");
        assert!(body.contains("host=horizon.test "), "{body}");
        served.insert(body.split_whitespace().next().unwrap().to_owned());
    }
    assert_eq!(served.len(), 2, "both servers got streams: {served:?}");
    service.stop().await;
}

/// Runs every future concurrently and collects their outputs in order.
async fn futures_join<F: Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2load_completes_without_errors() {
    if Command::new("h2load").arg("--version").output().is_err() {
        panic!("h2load (Debian package nghttp2-client) must be installed");
    }
    let server = Nginx::start("one", "");
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let url = format!("http://{}/", service.local_addrs()[0]);
    let output = tokio::task::spawn_blocking(move || {
        Command::new("h2load")
            .args(["-n", "2000", "-c", "4", "-m", "10", &url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        report.contains("2000 succeeded, 0 failed, 0 errored"),
        "{report}"
    );
    assert!(report.contains("status codes: 2000 2xx"), "{report}");
    service.stop().await;
}
