//! A refused request on a connection whose client goes on sending (a pipelined body, larger
//! than the socket buffers): the client reads the whole 400 response and then a clean close
//! (a TLS `close_notify` on a TLS VIP, a FIN in cleartext), and what it sends afterwards is
//! drained rather than answered with a reset; the server behind the VIP receives nothing.

mod http_support;
mod tls_support;

use http_support::{Reply, STEP, Tripwire, http_vip};
use lb_core::model::Mode;
use lb_proxy::Service;
use tls_support::{Authority, connect, tls};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A smuggling attempt (Content-Length with Transfer-Encoding) and the start of its body.
const SMUGGLING: &[u8] = b"POST / HTTP/1.1\r\nHost: horizon.example\r\nContent-Length: 4\r\n\
                           Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nxxxxxxxxxxxxxxxx";
/// What the client sends after the refusal, in pieces of [`PIECE`] bytes.
const TRAILING: usize = 256 * 1024;
const PIECE: usize = 16 * 1024;

/// What the client of a refused exchange saw: how reading ended and what it read, then how
/// sending the trailing bytes and closing went.
struct Seen {
    read: std::io::Result<usize>,
    reply: String,
    sent: std::io::Result<()>,
}

/// Sends the smuggling attempt, reads until the proxy closes, then sends the rest of the
/// body and closes. On a connection closed without draining, the bytes sent after the close
/// meet a reset and the writes fail.
async fn refused_exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> Seen {
    stream.write_all(SMUGGLING).await.unwrap();
    stream.flush().await.unwrap();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(STEP, stream.read_to_end(&mut reply))
        .await
        .expect("the proxy did not close within 10 s");
    let sent = tokio::time::timeout(STEP, async {
        for _ in 0..TRAILING / PIECE {
            stream.write_all(&[b'x'; PIECE]).await?;
            stream.flush().await?;
        }
        stream.shutdown().await
    })
    .await
    .expect("sending the trailing bytes took longer than 10 s");
    Seen {
        read,
        reply: String::from_utf8_lossy(&reply).into_owned(),
        sent,
    }
}

/// Asserts the client saw the whole refusal, a clean close, and no reset.
fn assert_refused_cleanly(seen: Seen) {
    let Seen { read, reply, sent } = seen;
    let parsed = Reply::parse(&reply);
    assert_eq!(parsed.status, 400, "{reply}");
    assert_eq!(parsed.header("connection"), Some("close"), "{reply}");
    assert_eq!(
        parsed.body, "400 Bad Request\n",
        "the whole response: {reply}"
    );
    assert!(read.is_ok(), "the close was not clean: {read:?}");
    assert!(
        sent.is_ok(),
        "the bytes after the refusal met a reset: {sent:?}"
    );
}

#[tokio::test]
async fn a_refusal_over_tls_is_read_whole_and_closed_with_close_notify() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new();
    let leaf = authority.issue(dir.path(), "horizon", &["horizon.example"]);
    let tripwire = Tripwire::start().await;
    let mut vip = http_vip(&[tripwire.address]);
    vip.tls = Some(tls(&[&leaf], Mode::Http));
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let stream = connect(&authority.client(&["http/1.1"]), address, "horizon.example")
        .await
        .unwrap();
    // `read_to_end` on a TLS stream ends with `Ok` only after a `close_notify`: a socket
    // closed without one is an `UnexpectedEof` error, a reset a `ConnectionReset`.
    assert_refused_cleanly(refused_exchange(stream).await);
    assert_eq!(tripwire.seen(), (0, Vec::new()), "nothing reached a server");
    service.stop().await;
}

#[tokio::test]
async fn a_refusal_in_cleartext_is_read_whole_and_closed_without_reset() {
    let tripwire = Tripwire::start().await;
    let service = Service::start(http_vip(&[tripwire.address])).unwrap();
    let stream = tokio::net::TcpStream::connect(service.local_addrs()[0])
        .await
        .unwrap();
    assert_refused_cleanly(refused_exchange(stream).await);
    assert_eq!(tripwire.seen(), (0, Vec::new()), "nothing reached a server");
    service.stop().await;
}
