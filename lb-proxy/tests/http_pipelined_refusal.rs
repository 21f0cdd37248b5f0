//! A malformed request pipelined behind one that is still being answered: the client gets the
//! earlier response whole and in order, then the refusal, and the server sees only the
//! well-formed request.

mod http_support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_support::{STEP, http_vip};
use lb_proxy::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A server that answers its first request only when released, and records every byte it got.
struct HeldServer {
    address: SocketAddr,
    received: Arc<Mutex<Vec<u8>>>,
    got_request: oneshot::Receiver<()>,
    release: oneshot::Sender<()>,
}

impl HeldServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let (got, got_request) = oneshot::channel();
        let (release, released) = oneshot::channel::<()>();
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            while !log.lock().unwrap().ends_with(b"\r\n\r\n") {
                let read = stream.read(&mut buf).await.unwrap();
                assert!(read > 0, "the proxy closed before sending the request");
                log.lock().unwrap().extend_from_slice(&buf[..read]);
            }
            got.send(()).unwrap();
            released.await.unwrap();
            let response = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfirst\n";
            stream.write_all(response.as_bytes()).await.unwrap();
            // Whatever else arrives on this connection is recorded too.
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => log.lock().unwrap().extend_from_slice(&buf[..read]),
                }
            }
        });
        HeldServer {
            address,
            received,
            got_request,
            release,
        }
    }
}

#[tokio::test]
async fn a_refusal_waits_for_the_response_before_it_then_closes() {
    let server = HeldServer::start().await;
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let mut client = TcpStream::connect(service.local_addrs()[0]).await.unwrap();
    client
        .write_all(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(STEP, server.got_request)
        .await
        .expect("the first request reaches the server")
        .unwrap();
    let smuggling = "GET /second HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\
                     Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    client.write_all(smuggling.as_bytes()).await.unwrap();
    // The proxy reads the refused request while the first is in flight. Nothing may reach the
    // client before the first response; there is no event for "the refusal is held back", so
    // the absence is checked over a bounded window, ample for a read on loopback.
    let mut early = [0u8; 1];
    let waited = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        client.read(&mut early),
    )
    .await;
    assert!(
        waited.is_err(),
        "nothing may come before the first response"
    );
    server.release.send(()).unwrap();
    let mut replies = String::new();
    tokio::time::timeout(STEP, client.read_to_string(&mut replies))
        .await
        .expect("the connection closes")
        .unwrap();
    let (first, rest) = replies
        .split_once("first\n")
        .unwrap_or_else(|| panic!("the first response comes whole and first: {replies:?}"));
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{replies:?}");
    assert!(
        rest.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{replies:?}"
    );
    assert!(rest.contains("connection: close\r\n"), "{replies:?}");
    let received = String::from_utf8(server.received.lock().unwrap().clone()).unwrap();
    assert!(
        received.starts_with("GET /first HTTP/1.1\r\n"),
        "{received:?}"
    );
    assert!(
        !received.contains("/second"),
        "the refused request reached the server"
    );
    service.stop().await;
}
