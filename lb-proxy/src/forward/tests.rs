//! The copy engine over loopback socket pairs, with splice and with buffers.

use lb_core::model::ServerId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::sessions::Sessions;

const SERVER: ServerId = ServerId(1);

/// Two connected pairs: (client, proxy's client side) and (proxy's server side, server).
async fn pairs() -> ((TcpStream, TcpStream), (TcpStream, TcpStream)) {
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (connected, accepted) = tokio::join!(
            TcpStream::connect(listener.local_addr().unwrap()),
            listener.accept()
        );
        (connected.unwrap(), accepted.unwrap().0)
    }
    (pair().await, pair().await)
}

const LIMIT: Duration = Duration::from_secs(30);

/// Awaits `future` for at most 10 s.
async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("took longer than 10 s")
}

async fn half_close_keeps_the_other_way_open(transfer: Transfer) {
    let ((mut client, proxy_client), (proxy_server, mut server)) = pairs().await;
    let payload: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    let sessions = Sessions::new([SERVER]);
    let mut close = sessions.subscribe(SERVER);
    let proxy = forward(&proxy_client, &proxy_server, transfer, LIMIT, &mut close);
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
    let sessions = Sessions::new([SERVER]);
    let ((_client, proxy_client), (proxy_server, _server)) = pairs().await;
    let mut close = sessions.subscribe(SERVER);
    sessions.close(SERVER);
    let outcome = within(forward(
        &proxy_client,
        &proxy_server,
        Transfer::Splice,
        LIMIT,
        &mut close,
    ))
    .await;
    assert!(matches!(outcome.end, End::Closed), "{outcome:?}");

    let ((client, proxy_client), (proxy_server, _server)) = pairs().await;
    socket2::SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    let mut close = sessions.subscribe(SERVER);
    let outcome = within(forward(
        &proxy_client,
        &proxy_server,
        Transfer::Splice,
        LIMIT,
        &mut close,
    ))
    .await;
    assert!(matches!(outcome.end, End::Failed(_)), "{outcome:?}");
}

#[tokio::test]
async fn a_close_during_steady_traffic_ends_the_session() {
    let ((mut client, proxy_client), (proxy_server, mut server)) = pairs().await;
    let sessions = Sessions::new([SERVER]);
    let mut close = sessions.subscribe(SERVER);
    let proxy = forward(
        &proxy_client,
        &proxy_server,
        Transfer::Splice,
        LIMIT,
        &mut close,
    );
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
    let ((mut client, proxy_client), (proxy_server, mut server)) = pairs().await;
    let sessions = Sessions::new([SERVER]);
    let mut close = sessions.subscribe(SERVER);
    let limit = Duration::from_secs(10);
    let start = tokio::time::Instant::now();
    let proxy = forward(
        &proxy_client,
        &proxy_server,
        Transfer::Splice,
        limit,
        &mut close,
    );
    let traffic = async {
        tokio::time::sleep(Duration::from_secs(6)).await;
        client.write_all(b"x").await.unwrap();
        let mut received = [0; 1];
        server.read_exact(&mut received).await.unwrap();
    };
    let (outcome, ()) = tokio::join!(proxy, traffic);
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
    let ((mut client, proxy_client), (proxy_server, mut server)) = pairs().await;
    let sessions = Sessions::new([SERVER]);
    let mut close = sessions.subscribe(SERVER);
    let proxy = forward(
        &proxy_client,
        &proxy_server,
        Transfer::Splice,
        LIMIT,
        &mut close,
    );
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
