//! HTTP/2 at the frame level against an http VIP: a client that writes frames by hand, well
//! formed or not (RFC 9113), and reads what lb answers. PING is answered; a request is served;
//! frames that break the protocol end the connection with a GOAWAY naming the error, or reset
//! only their stream; a rapid reset of many streams (CVE-2023-44487) is cut off and lb goes on
//! serving; a client that reads slowly gets no more of a response than its flow-control window
//! allows, and the rest once it opens the window.

mod http_support;

use std::net::SocketAddr;

use http_support::counting::CountingServer;
use http_support::{http_vip, within};
use lb_proxy::{Service, ServiceHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const END_STREAM: u8 = 0x1;
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PROTOCOL_ERROR: u32 = 0x1;
const FRAME_SIZE_ERROR: u32 = 0x6;
const CANCEL: u32 = 0x8;
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// One frame as read: type, flags, stream and payload.
#[derive(Debug)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

impl Frame {
    /// The error code of a GOAWAY or RST_STREAM.
    fn error_code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = (payload.len() as u32).to_be_bytes();
    let mut out = vec![length[1], length[2], length[3], kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A GET of `/` as a header block: literal fields without indexing, no Huffman coding.
fn get_block() -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "web"),
    ] {
        block.push(0x00);
        block.push(name.len() as u8);
        block.extend_from_slice(name.as_bytes());
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    block
}

fn get(stream: u32) -> Vec<u8> {
    frame(HEADERS, END_HEADERS | END_STREAM, stream, &get_block())
}

/// A client connection past the connection preface and the SETTINGS exchange.
async fn connect(address: SocketAddr) -> TcpStream {
    connect_with(address, &[]).await
}

/// Like [`connect`], the client's SETTINGS carrying `settings` (identifier, value) pairs.
async fn connect_with(address: SocketAddr, settings: &[(u16, u32)]) -> TcpStream {
    let mut client = TcpStream::connect(address).await.unwrap();
    client.write_all(PREFACE).await.unwrap();
    let payload: Vec<u8> = settings
        .iter()
        .flat_map(|(id, value)| id.to_be_bytes().into_iter().chain(value.to_be_bytes()))
        .collect();
    client
        .write_all(&frame(SETTINGS, 0, 0, &payload))
        .await
        .unwrap();
    let settings = next(&mut client).await.expect("the server's SETTINGS");
    assert_eq!(settings.kind, SETTINGS, "{settings:?}");
    client
        .write_all(&frame(SETTINGS, ACK, 0, &[]))
        .await
        .unwrap();
    client
}

/// The next frame, or `None` once the server has closed.
async fn next(client: &mut TcpStream) -> Option<Frame> {
    let mut head = [0u8; 9];
    within(client.read_exact(&mut head)).await.ok()?;
    let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; length];
    within(client.read_exact(&mut payload)).await.ok()?;
    let stream = u32::from_be_bytes(head[5..9].try_into().unwrap()) & 0x7fff_ffff;
    Some(Frame {
        kind: head[3],
        flags: head[4],
        stream,
        payload,
    })
}

/// The first frame of `kind` (SETTINGS acknowledgements and window updates pass by), or
/// `None` once the server has closed.
async fn next_of(client: &mut TcpStream, kind: u8) -> Option<Frame> {
    loop {
        let frame = next(client).await?;
        if frame.kind == kind {
            return Some(frame);
        }
    }
}

/// Serves a GET on stream `stream` of `client`: the response's status is 200 and its body is
/// the server's.
async fn served(client: &mut TcpStream, stream: u32) {
    client.write_all(&get(stream)).await.unwrap();
    let head = next_of(client, HEADERS).await.expect("a response head");
    assert_eq!(head.stream, stream);
    // `:status: 200` is entry 8 of HPACK's static table, sent indexed.
    assert_eq!(head.payload.first(), Some(&0x88), "status 200: {head:?}");
    let mut body = Vec::new();
    loop {
        let data = next_of(client, DATA).await.expect("the response body");
        body.extend_from_slice(&data.payload);
        if data.flags & END_STREAM != 0 {
            break;
        }
    }
    assert_eq!(body, b"ok");
}

async fn vip() -> (CountingServer, ServiceHandle) {
    let server = CountingServer::start(true, "ok").await;
    let service = Service::start(http_vip(&[server.address])).unwrap();
    (server, service)
}

#[tokio::test]
async fn a_ping_is_answered_and_requests_are_served() {
    let (_server, service) = vip().await;
    let mut client = connect(service.local_addrs()[0]).await;
    client
        .write_all(&frame(PING, 0, 0, b"lb-probe"))
        .await
        .unwrap();
    let pong = next_of(&mut client, PING).await.expect("a PING answer");
    assert_eq!(
        (pong.flags, pong.payload.as_slice()),
        (ACK, &b"lb-probe"[..])
    );
    served(&mut client, 1).await;
    served(&mut client, 3).await;
    service.stop().await;
}

#[tokio::test]
async fn frames_that_break_the_protocol_end_the_connection_with_a_goaway() {
    let (_server, service) = vip().await;
    let address = service.local_addrs()[0];
    let push_2 = [0x00, 0x02, 0, 0, 0, 2];
    let cases: [(&str, Vec<u8>, u32); 5] = [
        ("DATA on stream 0", frame(DATA, 0, 0, b"x"), PROTOCOL_ERROR),
        ("a client stream with an even id", get(2), PROTOCOL_ERROR),
        (
            "SETTINGS_ENABLE_PUSH of 2",
            frame(SETTINGS, 0, 0, &push_2),
            PROTOCOL_ERROR,
        ),
        (
            "a connection WINDOW_UPDATE of 0",
            frame(WINDOW_UPDATE, 0, 0, &[0, 0, 0, 0]),
            PROTOCOL_ERROR,
        ),
        (
            "a frame over the 16 KiB maximum size",
            frame(PING, 0, 0, &[0; 16_385]),
            FRAME_SIZE_ERROR,
        ),
    ];
    for (case, bad, error) in cases {
        let mut client = connect(address).await;
        client.write_all(&bad).await.unwrap();
        let goaway = next_of(&mut client, GOAWAY).await;
        let goaway = goaway.unwrap_or_else(|| panic!("{case}: closed without a GOAWAY"));
        assert_eq!(goaway.error_code(), error, "{case}");
        assert!(next(&mut client).await.is_none(), "{case}: then closed");
    }
    let mut client = connect(address).await;
    served(&mut client, 1).await;
    service.stop().await;
}

#[tokio::test]
async fn a_stream_error_resets_that_stream_only() {
    let (_server, service) = vip().await;
    let mut client = connect(service.local_addrs()[0]).await;
    // A request with a connection-specific field is malformed (RFC 9113 section 8.2.2).
    let mut block = get_block();
    block.extend_from_slice(&[0x00, 10]);
    block.extend_from_slice(b"connection");
    block.extend_from_slice(&[5]);
    block.extend_from_slice(b"close");
    client
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &block))
        .await
        .unwrap();
    let reset = next_of(&mut client, RST_STREAM).await.expect("a reset");
    assert_eq!((reset.stream, reset.error_code()), (1, PROTOCOL_ERROR));
    served(&mut client, 3).await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rapid_reset_is_cut_off_and_lb_goes_on_serving() {
    let (_server, service) = vip().await;
    let address = service.local_addrs()[0];
    let mut client = connect(address).await;
    let streams = 2_000;
    let mut burst = Vec::new();
    for stream in (1..).step_by(2).take(streams) {
        burst.extend_from_slice(&get(stream));
        burst.extend_from_slice(&frame(RST_STREAM, 0, stream, &CANCEL.to_be_bytes()));
    }
    // The server may close before it has read the whole burst.
    let _ = client.write_all(&burst).await;
    let goaway = next_of(&mut client, GOAWAY)
        .await
        .expect("the burst is cut off");
    assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM);
    let mut fresh = connect(address).await;
    served(&mut fresh, 1).await;
    service.stop().await;
}

/// Reads DATA frames of `stream` until `wanted` bytes came or the stream ended; frames of
/// other kinds pass by. Answers the bytes and whether the stream ended.
async fn read_body(client: &mut TcpStream, stream: u32, wanted: usize) -> (usize, bool) {
    let mut read = 0;
    while read < wanted {
        let data = next_of(client, DATA).await.expect("more of the body");
        assert_eq!(data.stream, stream);
        read += data.payload.len();
        if data.flags & END_STREAM != 0 {
            return (read, true);
        }
    }
    (read, false)
}

#[tokio::test]
async fn a_slow_reader_gets_no_more_than_its_window_then_the_rest() {
    const BODY: usize = 100_000;
    const WINDOW: u32 = 1_000;
    let body: &'static str = Box::leak("x".repeat(BODY).into_boxed_str());
    let server = CountingServer::start(true, body).await;
    let service = Service::start(http_vip(&[server.address])).unwrap();
    let address = service.local_addrs()[0];
    let mut client = connect_with(address, &[(SETTINGS_INITIAL_WINDOW_SIZE, WINDOW)]).await;
    client.write_all(&get(1)).await.unwrap();
    let head = next_of(&mut client, HEADERS)
        .await
        .expect("a response head");
    assert_eq!(head.payload.first(), Some(&0x88), "status 200: {head:?}");
    let (read, ended) = read_body(&mut client, 1, WINDOW as usize).await;
    assert_eq!(
        (read, ended),
        (WINDOW as usize, false),
        "exactly the window"
    );
    // Nothing more comes while the window stays shut (a quiet half second shows it: the
    // absence of a frame cannot be awaited otherwise).
    let mut byte = [0u8; 1];
    let more = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        client.peek(&mut byte),
    )
    .await;
    assert!(more.is_err(), "lb sent past the client's window");
    // The window opens, for the stream and the connection: the rest arrives, and it is all.
    let open = (BODY as u32).to_be_bytes();
    client
        .write_all(&frame(WINDOW_UPDATE, 0, 1, &open))
        .await
        .unwrap();
    client
        .write_all(&frame(WINDOW_UPDATE, 0, 0, &open))
        .await
        .unwrap();
    let (rest, ended) = read_body(&mut client, 1, BODY).await;
    assert_eq!((WINDOW as usize + rest, ended), (BODY, true));
    // The connection serves on, a new stream under the client's window again.
    client.write_all(&get(3)).await.unwrap();
    next_of(&mut client, HEADERS)
        .await
        .expect("a response head");
    let (read, ended) = read_body(&mut client, 3, WINDOW as usize).await;
    assert_eq!((read, ended), (WINDOW as usize, false));
    service.stop().await;
}
