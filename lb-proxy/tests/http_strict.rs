//! Malformed and ambiguous requests, sent raw: each gets its status and a closed connection,
//! and the server behind the VIP receives nothing at all (not even a connection).

mod http_support;

use http_support::{Reply, Tripwire, http_vip, raw};
use lb_core::model::HeadLimits;
use lb_proxy::Service;

/// `(what, request, status)`: the request is sent whole, as one write.
fn table() -> Vec<(&'static str, String, u16)> {
    let h = "Host: a\r\n";
    let big = "a".repeat(40 * 1024);
    vec![
        (
            "CL and TE",
            format!(
                "POST / HTTP/1.1\r\n{h}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            ),
            400,
        ),
        (
            "TE and CL",
            format!(
                "POST / HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"
            ),
            400,
        ),
        (
            "two equal CL",
            format!("POST / HTTP/1.1\r\n{h}Content-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
            400,
        ),
        (
            "two different CL",
            format!("POST / HTTP/1.1\r\n{h}Content-Length: 1\r\nContent-Length: 2\r\n\r\nxx"),
            400,
        ),
        (
            "CL list",
            format!("POST / HTTP/1.1\r\n{h}Content-Length: 1, 1\r\n\r\nx"),
            400,
        ),
        (
            "signed CL",
            format!("POST / HTTP/1.1\r\n{h}Content-Length: +1\r\n\r\nx"),
            400,
        ),
        (
            "hex CL",
            format!("POST / HTTP/1.1\r\n{h}Content-Length: 0x1\r\n\r\nx"),
            400,
        ),
        (
            "TE chunked twice",
            format!(
                "POST / HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            ),
            400,
        ),
        (
            "TE not final chunked",
            format!("POST / HTTP/1.1\r\n{h}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
            400,
        ),
        (
            "obfuscated TE",
            format!("POST / HTTP/1.1\r\n{h}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
            400,
        ),
        (
            "TE with vertical tab",
            format!("POST / HTTP/1.1\r\n{h}Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n"),
            400,
        ),
        (
            "TE in HTTP/1.0",
            format!("POST / HTTP/1.0\r\n{h}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            400,
        ),
        (
            "space before colon",
            format!("POST / HTTP/1.1\r\n{h}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
            400,
        ),
        (
            "chunk size with 0x",
            format!(
                "POST / HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"
            ),
            400,
        ),
        (
            "negative chunk size",
            format!(
                "POST / HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"
            ),
            400,
        ),
        (
            "space before chunk size",
            format!(
                "POST / HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n"
            ),
            400,
        ),
        (
            "overflowing chunk size",
            format!(
                "POST / HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nx\r\n0\r\n\r\n"
            ),
            400,
        ),
        (
            "chunk data too long",
            format!(
                "POST / HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"
            ),
            400,
        ),
        (
            "bare LF in chunk line",
            format!(
                "POST / HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"
            ),
            400,
        ),
        (
            "bare LF ends the head",
            format!("GET / HTTP/1.1\n{h}\n"),
            400,
        ),
        (
            "bare LF in a field",
            format!("GET / HTTP/1.1\r\n{h}X: a\nY: b\r\n\r\n"),
            400,
        ),
        (
            "bare CR in a field",
            format!("GET / HTTP/1.1\r\n{h}X: a\rY: b\r\n\r\n"),
            400,
        ),
        (
            "obs-fold",
            format!("GET / HTTP/1.1\r\n{h}X: a\r\n  folded\r\n\r\n"),
            400,
        ),
        (
            "NUL in a value",
            format!("GET / HTTP/1.1\r\n{h}X: a\x00b\r\n\r\n"),
            400,
        ),
        (
            "control char in a name",
            format!("GET / HTTP/1.1\r\n{h}X\x01Y: a\r\n\r\n"),
            400,
        ),
        (
            "DEL in a value",
            format!("GET / HTTP/1.1\r\n{h}X: a\x7fb\r\n\r\n"),
            400,
        ),
        (
            "field without colon",
            format!("GET / HTTP/1.1\r\n{h}NoColon\r\n\r\n"),
            400,
        ),
        (
            "empty field name",
            format!("GET / HTTP/1.1\r\n{h}: value\r\n\r\n"),
            400,
        ),
        ("missing Host", "GET / HTTP/1.1\r\n\r\n".to_owned(), 400),
        (
            "two Hosts",
            format!("GET / HTTP/1.1\r\n{h}Host: b\r\n\r\n"),
            400,
        ),
        (
            "empty Host",
            "GET / HTTP/1.1\r\nHost:\r\n\r\n".to_owned(),
            400,
        ),
        (
            "Host with space",
            "GET / HTTP/1.1\r\nHost: a b\r\n\r\n".to_owned(),
            400,
        ),
        (
            "double space in request line",
            format!("GET  / HTTP/1.1\r\n{h}\r\n"),
            400,
        ),
        (
            "tab in request line",
            format!("GET\t/ HTTP/1.1\r\n{h}\r\n"),
            400,
        ),
        ("missing version", format!("GET /\r\n{h}\r\n"), 400),
        ("HTTP/0.9 style", "GET /\r\n\r\n".to_owned(), 400),
        ("unknown version", format!("GET / HTTP/1.2\r\n{h}\r\n"), 400),
        (
            "lowercase version",
            format!("GET / http/1.1\r\n{h}\r\n"),
            400,
        ),
        (
            "target not a path",
            format!("GET index.html HTTP/1.1\r\n{h}\r\n"),
            400,
        ),
        (
            "space in target",
            format!("GET /a b HTTP/1.1\r\n{h}\r\n"),
            400,
        ),
        (
            "raw UTF-8 in target",
            format!("GET /\u{e9} HTTP/1.1\r\n{h}\r\n"),
            400,
        ),
        (
            "method with a slash",
            format!("GE/T / HTTP/1.1\r\n{h}\r\n"),
            400,
        ),
        ("CONNECT", format!("CONNECT a:443 HTTP/1.1\r\n{h}\r\n"), 400),
        (
            "h2c upgrade",
            format!(
                "GET / HTTP/1.1\r\n{h}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
            ),
            400,
        ),
        (
            "h2c upgrade without settings",
            format!("GET / HTTP/1.1\r\n{h}Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n"),
            400,
        ),
        (
            "PRI method over HTTP/1.1",
            "PRI * HTTP/1.1\r\nHost: a\r\n\r\n".to_owned(),
            400,
        ),
        (
            "upgrade with a body",
            format!(
                "POST / HTTP/1.1\r\n{h}Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 1\r\n\r\nx"
            ),
            400,
        ),
        (
            "smuggled second request",
            format!(
                "GET / HTTP/1.1\r\n{h}\r\nGET / HTTP/1.1\r\n{h}Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            400,
        ),
        (
            "head too large",
            format!("GET / HTTP/1.1\r\n{h}X: {big}\r\n\r\n"),
            431,
        ),
        (
            "too many fields",
            format!("GET / HTTP/1.1\r\n{h}{}\r\n", "X: 1\r\n".repeat(120)),
            431,
        ),
    ]
}

#[tokio::test]
async fn each_malformed_request_is_refused_and_nothing_reaches_the_server() {
    let server = Tripwire::start().await;
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let address = service.local_addrs()[0];
    let cases = table();
    assert!(cases.len() >= 25);
    let mut wrong = Vec::new();
    for (what, request, status) in &cases {
        let text = raw(address, request.as_bytes()).await;
        let reply = Reply::parse(&text);
        if reply.status != *status || reply.header("connection") != Some("close") {
            wrong.push(format!("{what}: got {:?}", text.lines().next()));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // HTTP/2 with prior knowledge goes to the HTTP/2 server, which closes on a bad frame.
    let h2 = raw(
        address,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    )
    .await;
    assert!(!h2.starts_with("HTTP/1.1 2"), "{h2}");
    assert_eq!(
        server.seen(),
        (0, Vec::new()),
        "something reached the server"
    );
    service.stop().await;
}

#[tokio::test]
async fn the_same_server_gets_well_formed_requests() {
    let server = Tripwire::start().await;
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let address = service.local_addrs()[0];
    let request =
        "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut client, request.as_bytes())
        .await
        .unwrap();
    let seen = server.until_received("hello").await;
    assert!(seen.starts_with("POST /ok HTTP/1.1\r\n"), "{seen}");
    assert!(
        seen.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{seen}"
    );
    service.stop().await;
}

#[tokio::test]
async fn configured_head_limits_hold() {
    let server = Tripwire::start().await;
    let mut vip = http_vip(&[server.address]);
    vip.http.head_limits = HeadLimits {
        max_bytes: 1024,
        max_fields: 3,
    };
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let fields = |count: usize| "X: 1\r\n".repeat(count);
    for (request, status) in [
        (
            format!("GET / HTTP/1.1\r\nHost: a\r\n{}\r\n", fields(3)),
            431,
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
                "a".repeat(1024)
            ),
            431,
        ),
    ] {
        let reply = Reply::parse(&raw(address, request.as_bytes()).await);
        assert_eq!(reply.status, status, "{request:.60}");
    }
    assert_eq!(
        server.seen(),
        (0, Vec::new()),
        "something reached the server"
    );
    let within = format!("GET /within HTTP/1.1\r\nHost: a\r\n{}\r\n", fields(2));
    let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut client, within.as_bytes())
        .await
        .unwrap();
    let seen = server.until_received("/within").await;
    assert!(seen.starts_with("GET /within HTTP/1.1\r\n"), "{seen}");
    service.stop().await;
}
