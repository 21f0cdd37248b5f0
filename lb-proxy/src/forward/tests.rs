//! The copy engine over loopback socket pairs, with splice and with buffers.

use std::sync::Arc;

use lb_core::model::ServerId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::sessions::{CloseSignal, Sessions};

const SERVER: ServerId = ServerId(1);

/// The proxy's side of a session: its two sockets and the close signal of [`SERVER`]'s
/// sessions.
struct Proxy {
    client_side: TcpStream,
    server_side: TcpStream,
    sessions: Arc<Sessions>,
    close: CloseSignal,
}

impl Proxy {
    /// Forwards until the session ends.
    async fn forward(&mut self, transfer: Transfer, idle_limit: Duration) -> Outcome {
        let (client, server) = (&self.client_side, &self.server_side);
        forward(client, server, transfer, idle_limit, &mut self.close).await
    }
}

/// A session ready to forward, `(client, proxy, server)`: two connected loopback pairs.
async fn session() -> (TcpStream, Proxy, TcpStream) {
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (connected, accepted) = tokio::join!(
            TcpStream::connect(listener.local_addr().unwrap()),
            listener.accept()
        );
        (connected.unwrap(), accepted.unwrap().0)
    }
    let ((client, client_side), (server_side, server)) = (pair().await, pair().await);
    let sessions = Arc::new(Sessions::new([SERVER]));
    let close = sessions.subscribe(SERVER);
    let proxy = Proxy {
        client_side,
        server_side,
        sessions,
        close,
    };
    (client, proxy, server)
}

const LIMIT: Duration = Duration::from_secs(30);

/// Awaits `future` for at most 10 s.
async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("took longer than 10 s")
}

async fn half_close_keeps_the_other_way_open(transfer: Transfer) {
    let (mut client, mut proxy, mut server) = session().await;
    let payload: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    let proxy = proxy.forward(transfer, LIMIT);
    let peers = async {
        client.write_all(&payload).await.unwrap();
        client.shutdown().await.unwrap();
        let mut received = Vec::new();
        server.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, payload, "client to server, then end of stream");
        server
            .write_all(b"reply after the client's FIN")
            .await
            .unwrap();
        server.shutdown().await.unwrap();
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply, b"reply after the client's FIN");
    };
    let (outcome, ()) = within(async { tokio::join!(proxy, peers) }).await;
    assert!(matches!(outcome.end, End::Finished), "{outcome:?}");
    assert_eq!(outcome.client_to_server, 300_000);
    assert_eq!(outcome.server_to_client, 28);
}

#[tokio::test]
async fn splice_honours_half_close_and_counts_bytes() {
    half_close_keeps_the_other_way_open(Transfer::Splice).await;
}

#[tokio::test]
async fn buffers_honour_half_close_and_count_bytes() {
    half_close_keeps_the_other_way_open(Transfer::Buffered).await;
}

#[tokio::test]
async fn an_outside_close_ends_the_session_and_a_reset_fails_it() {
    let (_client, mut proxy, _server) = session().await;
    proxy.sessions.close(SERVER);
    let outcome = within(proxy.forward(Transfer::Splice, LIMIT)).await;
    assert!(matches!(outcome.end, End::Closed), "{outcome:?}");

    let (client, mut proxy, _server) = session().await;
    socket2::SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    let outcome = within(proxy.forward(Transfer::Splice, LIMIT)).await;
    assert!(matches!(outcome.end, End::Failed(_)), "{outcome:?}");
}

#[tokio::test]
async fn a_close_during_steady_traffic_ends_the_session() {
    let (mut client, mut proxy, mut server) = session().await;
    let sessions = Arc::clone(&proxy.sessions);
    let proxy = proxy.forward(Transfer::Splice, LIMIT);
    let traffic = async {
        let mut echoed = [0; 4];
        for round in 0..u32::MAX {
            client.write_all(b"ping").await.unwrap();
            server.read_exact(&mut echoed).await.unwrap();
            if round == 100 {
                sessions.close(SERVER);
            }
        }
    };
    let outcome = within(async {
        tokio::select! {
            outcome = proxy => outcome,
            () = traffic => panic!("the session outlived its close"),
        }
    })
    .await;
    assert!(matches!(outcome.end, End::Closed), "{outcome:?}");
    assert!(outcome.client_to_server >= 404, "{outcome:?}");
}

#[tokio::test(start_paused = true)]
async fn a_session_ends_once_nothing_has_moved_for_the_idle_limit() {
    let (mut client, mut proxy, mut server) = session().await;
    let start = tokio::time::Instant::now();
    let proxy = proxy.forward(Transfer::Splice, Duration::from_secs(10));
    let traffic = async {
        // Idle on purpose: 6 s without a byte, less than the limit.
        tokio::time::sleep(Duration::from_secs(6)).await;
        client.write_all(b"x").await.unwrap();
        let mut received = [0; 1];
        server.read_exact(&mut received).await.unwrap();
    };
    // Bounded in paused time: a session that never ends fails the test at 60 s.
    let (outcome, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(proxy, traffic)
    })
    .await
    .expect("the idle session outlived 60 s");
    assert!(matches!(outcome.end, End::Idle), "{outcome:?}");
    assert_eq!(outcome.client_to_server, 1);
    let lasted = start.elapsed();
    assert!(
        lasted >= Duration::from_secs(16) && lasted < Duration::from_secs(17),
        "the limit counts from the last byte: {lasted:?}"
    );
}

/// Small messages go through buffers, streams by splice, and a direction switches both ways.
#[tokio::test]
async fn mixed_small_and_bulk_exchanges_arrive_intact() {
    let (mut client, mut proxy, mut server) = session().await;
    let proxy = proxy.forward(Transfer::Splice, LIMIT);
    let sizes = [10usize, 200_000, 3, 70_000, 1, 16_384, 5];
    let message = |size: usize, seed: usize| -> Vec<u8> {
        (0..size).map(|i| (i * 31 + seed) as u8).collect()
    };
    let peers = async {
        for (round, &size) in sizes.iter().enumerate() {
            let reply_size = sizes[sizes.len() - 1 - round];
            let request = message(size, round);
            let reply = message(reply_size, round + 100);
            let (_, received) = tokio::join!(client.write_all(&request), async {
                let mut received = vec![0; size];
                server.read_exact(&mut received).await.unwrap();
                received
            });
            assert!(received == request, "request {round} intact");
            let (_, received) = tokio::join!(server.write_all(&reply), async {
                let mut received = vec![0; reply_size];
                client.read_exact(&mut received).await.unwrap();
                received
            });
            assert!(received == reply, "reply {round} intact");
        }
        client.shutdown().await.unwrap();
        server.shutdown().await.unwrap();
    };
    let (outcome, ()) = within(async { tokio::join!(proxy, peers) }).await;
    assert!(matches!(outcome.end, End::Finished), "{outcome:?}");
    let total = sizes.iter().sum::<usize>() as u64;
    assert_eq!(
        (outcome.client_to_server, outcome.server_to_client),
        (total, total)
    );
}
