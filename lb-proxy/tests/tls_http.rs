//! TLS termination on `http` VIPs, to real nginx servers: ALPN picks HTTP/2 or HTTP/1.1 and
//! requests work over both; servers learn the client used https; the persistence cookie is
//! `Secure`; the strict HTTP/1 guard still refuses ambiguous requests.

mod http_support;
mod tls_support;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use http_support::http_vip;
use http_support::nginx::Nginx;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lb_core::model::{Mode, Persistence};
use lb_proxy::Service;
use tls_support::{Authority, connect, tls};

/// Status, `Set-Cookie` and body of a GET of `/` through `vip`'s TLS listener, with `alpn`.
async fn get(
    authority: &Authority,
    address: std::net::SocketAddr,
    alpn: &str,
) -> (u16, String, String) {
    let stream = connect(&authority.client(&[alpn]), address, "horizon.example")
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(alpn.as_bytes()));
    let request = http::Request::get("https://horizon.example/dashboard")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = if alpn == "h2" {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        sender.send_request(request).await.unwrap()
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let (mut parts, body) = request.into_parts();
        parts.uri = "/dashboard".parse().unwrap();
        parts
            .headers
            .insert("host", http::HeaderValue::from_static("horizon.example"));
        sender
            .send_request(http::Request::from_parts(parts, body))
            .await
            .unwrap()
    };
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, cookie, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn alpn_negotiates_h2_and_http_1_1_and_servers_see_https() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new();
    let leaf = authority.issue(dir.path(), "horizon", &["horizon.example"]);
    let nginx = Nginx::start("one", "");
    let mut vip = http_vip(&[nginx.address]);
    vip.tls = Some(tls(&[&leaf], Mode::Http));
    vip.persistence = Persistence::cookie();
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    for alpn in ["h2", "http/1.1"] {
        let (status, cookie, body) = get(&authority, address, alpn).await;
        assert_eq!(status, 200, "{alpn}: {body}");
        assert!(body.contains("uri=/dashboard "), "{alpn}: {body}");
        assert!(body.contains("proto=[https]"), "{alpn}: {body}");
        assert!(body.contains(";proto=https]"), "{alpn}: {body}");
        assert!(cookie.starts_with("SERVERID="), "{alpn}: {cookie}");
        assert!(cookie.contains("; Secure"), "{alpn}: {cookie}");
    }
    service.stop().await;
}
