//! What lb's HTTP/1.1 client makes of what servers answer, against a scripted server on
//! loopback: field lines passed on as the server wrote them (less the hop-by-hop ones), chunked
//! bodies decoded and the connection reused, interim 1xx responses skipped, ambiguous lengths
//! refused with 502, and a kept-alive connection that the server closed costing the client
//! nothing, nor a new connection closed without an answer, for a request that may be sent
//! twice.

mod http_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http_support::{get, http_vip, raw, read_head};
use lb_core::model::HeaderRule;
use lb_proxy::Service;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// When a scripted server closes a connection.
#[derive(Clone, Copy, PartialEq)]
enum Close {
    Never,
    /// Right after its first response, without saying so.
    AfterAnswer,
    /// When the second request comes, without answering it.
    AtNextRequest,
    /// When the first request comes, without answering it (a server going away).
    AtFirstRequest,
}

/// A server that answers request heads with `answer` and closes connections as `close` says;
/// it counts the connections it accepted.
struct Scripted {
    address: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Scripted {
    async fn start(answer: &'static str, close: Close) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    for served in 0.. {
                        if read_head(&mut stream).await.is_empty()
                            || (served == 1 && close == Close::AtNextRequest)
                            || (served == 0 && close == Close::AtFirstRequest)
                        {
                            return;
                        }
                        if stream.write_all(answer.as_bytes()).await.is_err()
                            || close == Close::AfterAnswer
                        {
                            return;
                        }
                    }
                });
            }
        });
        Scripted {
            address,
            accepted,
            task,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The data of a chunked body.
fn dechunk(mut body: &str) -> String {
    let mut data = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").expect("a chunk-size line");
        let size = usize::from_str_radix(size, 16).expect("a chunk size");
        if size == 0 {
            return data;
        }
        data.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

#[tokio::test]
async fn chunked_responses_are_decoded_and_their_connection_reused() {
    let server = Scripted::start(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
         6;ext=1\r\nhello \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n",
        Close::Never,
    )
    .await;
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let address = service.local_addrs()[0];
    for _ in 0..3 {
        let reply = get(address, "/", "").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
        assert_eq!(dechunk(&reply.body), "hello world");
    }
    let old = raw(address, b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").await;
    assert!(old.ends_with("\r\n\r\nhello world"), "{old:?}");
    assert_eq!(server.accepted(), 1, "one kept-alive server connection");
    service.stop().await;
}

#[tokio::test]
async fn field_lines_pass_as_the_server_wrote_them_less_the_hop_by_hop_ones() {
    let server = Scripted::start(
        "HTTP/1.1 200 OK\r\nServer: scripted\r\nConnection: keep-alive, X-Hop\r\n\
         X-Hop: 1\r\nKeep-Alive: timeout=5\r\nDate: Thu, 26 Nov 2026 01:00:00 GMT\r\n\
         X-Padded:\t a b\r\nContent-Length: 2\r\n\r\nok",
        Close::Never,
    )
    .await;
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let text = raw(service.local_addrs()[0], request).await;
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\nServer: scripted\r\nDate: Thu, 26 Nov 2026 01:00:00 GMT\r\n\
         X-Padded:\t a b\r\nContent-Length: 2\r\nconnection: close\r\n\r\nok"
    );
    service.stop().await;

    // A response rule needs the fields as a map: the same fields pass (less the one the rule
    // deletes), names in lower case, in the map's order.
    let mut vip = http_vip(&[server.address]);
    vip.http.response_headers = vec![HeaderRule::Delete {
        name: "Server".to_owned(),
    }];
    let service = Service::start(vip).unwrap();
    let text = raw(service.local_addrs()[0], request).await;
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines: Vec<&str> = head.split("\r\n").collect();
    assert_eq!((lines.remove(0), body), ("HTTP/1.1 200 OK", "ok"));
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "connection: close",
            "content-length: 2",
            "date: Thu, 26 Nov 2026 01:00:00 GMT",
            "x-padded: a b"
        ]
    );
    service.stop().await;
}

#[tokio::test]
async fn interim_responses_are_skipped() {
    let server = Scripted::start(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n\
         HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        Close::Never,
    )
    .await;
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let text = raw(
        service.local_addrs()[0],
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 201 "), "{text:?}");
    assert!(text.ends_with("\r\n\r\nok"), "{text:?}");
    service.stop().await;
}

#[tokio::test]
async fn ambiguous_or_malformed_responses_are_a_502() {
    for answer in [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nX-Space : a\r\nContent-Length: 2\r\n\r\nok",
    ] {
        let server = Scripted::start(answer, Close::Never).await;
        let service = Service::start(http_vip(&[server.address])).unwrap();
        let reply = get(service.local_addrs()[0], "/", "").await;
        assert_eq!(reply.status, 502, "{answer:?}: {reply:?}");
        assert!(!reply.body.contains("hello") && !reply.body.contains("ok"));
        service.stop().await;
    }
}

#[tokio::test]
async fn a_kept_alive_connection_the_server_closed_costs_the_client_nothing() {
    // One server closes each connection right after its response, without saying so: the next
    // request finds the pooled connection closed. The other takes the next request on the
    // kept-alive connection and closes without answering, as a server does that closes an
    // idle connection just as it is reused: the request is sent again on a new connection.
    for close in [Close::AfterAnswer, Close::AtNextRequest] {
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let server = Scripted::start(answer, close).await;
        let service = Service::start(http_vip(&[server.address])).unwrap();
        let address = service.local_addrs()[0];
        for round in 0..10 {
            let reply = get(address, "/", "").await;
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (200, "ok"),
                "round {round}"
            );
        }
        assert_eq!(server.accepted(), 10);
        let post = raw(
            address,
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        let expected = if close == Close::AtNextRequest {
            "HTTP/1.1 502 "
        } else {
            "HTTP/1.1 200 "
        };
        assert!(
            post.starts_with(expected),
            "a POST is not sent twice: {post:?}"
        );
        service.stop().await;
    }
}

#[tokio::test]
async fn a_get_whose_new_connection_closed_unanswered_goes_to_another_server_a_post_does_not() {
    // The first server takes each request and closes without a byte of answer, as a server
    // being stopped does with what it had accepted; the second answers.
    let going = Scripted::start("", Close::AtFirstRequest).await;
    let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let staying = Scripted::start(answer, Close::Never).await;
    let mut vip = http_vip(&[going.address, staying.address]);
    vip.scheduler = lb_core::model::SchedulerKind::First;
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let reply = get(address, "/", "").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok"));
    assert_eq!((going.accepted(), staying.accepted()), (1, 1));
    // A POST may not be sent twice: the client gets the 502.
    let post = raw(
        address,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(post.starts_with("HTTP/1.1 502 "), "{post:?}");
    assert_eq!((going.accepted(), staying.accepted()), (2, 1));
    service.stop().await;
}

#[tokio::test]
async fn a_response_without_length_ends_with_the_server_close() {
    let server =
        Scripted::start("HTTP/1.1 200 OK\r\n\r\nuntil the close", Close::AfterAnswer).await;
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let reply = get(service.local_addrs()[0], "/", "").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(dechunk(&reply.body), "until the close");
    service.stop().await;
}
