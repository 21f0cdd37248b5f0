//! Two nodes of a clustered pair in one process, on loopback: what one node's connections and
//! admin changes decide reaches the other node's live tables over the authenticated link, and
//! a stranger without the secret, or replaying a recorded session, changes nothing.
//!
//! Both nodes run on this host, so both hold every VIP (split brain, as the status says): the
//! holder-wins rule stays out of play here and plain last-writer-wins applies. The network
//! namespace tests of `lb-bin` cover VIPs that move.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use lb_core::cluster::replica::{Key, Update, Value, Version, node_id};
use lb_core::cluster::wire::{Event, Message, Session};
use lb_core::cluster::{Cluster as Settings, Peer, Table};
use lb_core::model::{AdminState, Health, Persistence, SchedulerKind, ServerId, Vip};
use lb_proxy::cluster::{Cluster, ClusterStatus, ClusterVip, SyncState};
use lb_proxy::persistence::PersistenceEntries;
use lb_proxy::{Service, ServiceHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

const SECRET: &str = "a secret both nodes share, long enough";

/// A free loopback port (bound, then released).
async fn free_address() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

struct Node {
    cluster: Cluster,
    writer: Arc<ServiceHandle>,
    sticky: Arc<ServiceHandle>,
}

/// One node: a `last-successful` VIP `writer` (scheduler `first`) and a `source-ip` VIP
/// `sticky` (round robin) over the same servers, replicating to `peer`.
async fn node(
    name: &str,
    listen: SocketAddr,
    peer: (&str, SocketAddr),
    servers: &[SocketAddr],
    secret: &std::path::Path,
    tables: &[Table],
) -> Node {
    let mut writer = vip(SchedulerKind::First, servers);
    writer.name = "writer".into();
    writer.persistence = Persistence::LastSuccessful {
        clear_on_drain: false,
    };
    let mut sticky = vip(SchedulerKind::RoundRobin, servers);
    sticky.name = "sticky".into();
    sticky.persistence = Persistence::source_ip();
    let vips: Vec<(Vip, Arc<ServiceHandle>)> = [writer, sticky]
        .into_iter()
        .map(|vip| {
            let service = Arc::new(Service::start(vip.clone()).unwrap());
            (vip, service)
        })
        .collect();
    let mut settings = Settings::new(
        name,
        listen,
        Peer {
            name: peer.0.into(),
            address: peer.1,
        },
        secret,
    );
    settings.tables = tables.to_vec();
    let cluster_vips = vips
        .iter()
        .map(|(config, service)| ClusterVip {
            config: config.clone(),
            service: Arc::clone(service),
        })
        .collect();
    let cluster = Cluster::start(&settings, cluster_vips).await.unwrap();
    Node {
        cluster,
        writer: Arc::clone(&vips[0].1),
        sticky: Arc::clone(&vips[1].1),
    }
}

/// Waits (polling every 10 ms, at most [`STEP`]) until `test` holds for what `read` returns.
async fn until<T: std::fmt::Debug>(
    what: &str,
    mut read: impl AsyncFnMut() -> T,
    test: impl Fn(&T) -> bool,
) -> T {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let value = read().await;
        if test(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still {value:?} after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn status(node: &Node) -> ClusterStatus {
    node.cluster.status().await.unwrap()
}

/// A client of `service` from loopback address `from`.
async fn client_from(service: &ServiceHandle, from: &str) -> BufReader<TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    BufReader::new(
        within(socket.connect(service.local_addrs()[0]))
            .await
            .unwrap(),
    )
}

struct Pair {
    _servers: Vec<Echo>,
    a: Node,
    b: Node,
    _dir: tempfile::TempDir,
}

async fn pair(tables: &[Table]) -> Pair {
    let servers = vec![
        Echo::start("s1").await,
        Echo::start("s2").await,
        Echo::start("s3").await,
    ];
    let addresses: Vec<SocketAddr> = servers.iter().map(|s| s.address).collect();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let (a_listen, b_listen) = (free_address().await, free_address().await);
    let a = node("a", a_listen, ("b", b_listen), &addresses, &secret, tables).await;
    let b = node("b", b_listen, ("a", a_listen), &addresses, &secret, tables).await;
    for node in [&a, &b] {
        until(
            "the link",
            || status(node),
            |s| s.peer.connected && s.sync == SyncState::Synced,
        )
        .await;
    }
    Pair {
        _servers: servers,
        a,
        b,
        _dir: dir,
    }
}

#[tokio::test]
async fn the_writer_client_entries_and_admin_states_reach_the_peer() {
    let pair = pair(&Table::ALL).await;
    let (a, b) = (&pair.a, &pair.b);
    // The writer: s1 first, then s2 once s1 fails on node a; s1 back changes nothing.
    let mut first = client(&a.writer).await;
    assert_eq!(greeting(&mut first).await, "s1");
    a.writer.set_health(ServerId(1), Health::Down).unwrap();
    let mut second = client(&a.writer).await;
    assert_eq!(greeting(&mut second).await, "s2");
    a.writer.set_health(ServerId(1), Health::Up).unwrap();
    until(
        "b's writer",
        async || b.writer.persistence_entries(),
        |e| *e == PersistenceEntries::LastSuccessful(Some(ServerId(2))),
    )
    .await;
    let mut on_b = client(&b.writer).await;
    assert_eq!(
        greeting(&mut on_b).await,
        "s2",
        "node b sends writes where node a did"
    );

    // Source-IP entries: ten clients spread by round robin on node a stick on node b.
    let mut placed = Vec::new();
    for i in 1..=10 {
        let from = format!("127.0.1.{i}");
        let mut client = client_from(&a.sticky, &from).await;
        placed.push((from, greeting(&mut client).await));
    }
    until(
        "b's source-ip table",
        async || b.sticky.persistence_entries(),
        |e| matches!(e, PersistenceEntries::SourceIp(leases) if leases.len() == 10),
    )
    .await;
    for (from, server) in &placed {
        let mut client = client_from(&b.sticky, from).await;
        assert_eq!(&greeting(&mut client).await, server, "{from} on node b");
    }

    // An operator drains s3 and sets s2's weight on node a: node b follows.
    a.sticky
        .set_admin_state(ServerId(3), AdminState::Drain)
        .unwrap();
    a.sticky.set_weight(ServerId(2), 7).unwrap();
    until(
        "b's servers",
        async || b.sticky.servers(),
        |servers| servers[2].admin == AdminState::Drain && servers[1].weight == 7,
    )
    .await;

    // Clearing the table on node a deletes the entries on node b too.
    a.sticky.clear_persistence();
    until(
        "b's cleared table",
        async || b.sticky.persistence_entries(),
        |e| matches!(e, PersistenceEntries::SourceIp(leases) if leases.is_empty()),
    )
    .await;
    let (sa, sb) = (status(a).await, status(b).await);
    until("equal digests", || status(b), |s| s.digest == sa.digest).await;
    assert!(sb.vips.iter().all(|v| v.local && v.split_brain), "{sb:#?}");
    assert!(sb.vips.iter().all(|v| v.drift.is_empty()), "{sb:#?}");
    assert_eq!(sb.counters.auth_failures, 0);
}

#[tokio::test]
async fn with_replication_off_the_peer_learns_nothing() {
    let pair = pair(&[]).await;
    let mut first = client(&pair.a.writer).await;
    assert_eq!(greeting(&mut first).await, "s1");
    pair.a.writer.set_health(ServerId(1), Health::Down).unwrap();
    let mut second = client(&pair.a.writer).await;
    assert_eq!(greeting(&mut second).await, "s2");
    // Heartbeats still flow: a second of them, and node b's writer is still unset.
    let heard = status(&pair.b).await.counters.connects;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let b = status(&pair.b).await;
    assert!(b.peer.connected && b.counters.connects == heard);
    assert_eq!(b.counters.updates_applied, 0);
    assert_eq!(
        pair.b.writer.persistence_entries(),
        PersistenceEntries::LastSuccessful(None)
    );
}

/// Reads from `stream` into `session` until `wanted` says stop, at most [`STEP`]; answers the
/// HELLO with the AUTH it brings, and records what it sent in `sent`.
async fn read_until(
    stream: &mut TcpStream,
    session: &mut Session,
    sent: &mut Vec<u8>,
    mut wanted: impl FnMut(&Event) -> bool,
) {
    let mut input = Vec::new();
    loop {
        let mut buffer = [0u8; 4096];
        let read = within(stream.read(&mut buffer)).await.unwrap();
        assert!(read > 0, "the node closed the link");
        input.extend_from_slice(&buffer[..read]);
        while let Some((event, used)) = session.receive(&input, wall_ms()).unwrap() {
            input.drain(..used);
            if let Event::Hello { auth, .. } = &event {
                stream.write_all(auth).await.unwrap();
                sent.extend_from_slice(auth);
            }
            if wanted(&event) {
                return;
            }
        }
    }
}

fn wall_ms() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::try_from(since.as_millis()).unwrap()
}

#[tokio::test]
async fn a_wrong_secret_and_a_replayed_session_are_refused_counted_and_change_nothing() {
    let pair = pair(&Table::ALL).await;
    let a_listen: SocketAddr = status(&pair.b).await.peer.address.parse().unwrap();
    // A stranger calling itself `b`, without the secret: refused at AUTH.
    let mut stranger = TcpStream::connect(a_listen).await.unwrap();
    let (mut session, hello) = Session::new("b", b"not the secret, not at all", [7; 16]).unwrap();
    stranger.write_all(&hello).await.unwrap();
    let mut sent = Vec::new();
    read_until(&mut stranger, &mut session, &mut sent, |e| {
        matches!(e, Event::Hello { .. })
    })
    .await;
    until(
        "a wrong secret counted",
        || status(&pair.a),
        |s| s.counters.auth_failures == 1,
    )
    .await;
    assert_eq!(
        pair.a.writer.persistence_entries(),
        PersistenceEntries::LastSuccessful(None)
    );

    // The peer's own session, recorded: HELLO, AUTH, then an update naming s3 the writer.
    let mut recorded = Vec::new();
    let mut stream = TcpStream::connect(a_listen).await.unwrap();
    let (mut session, hello) = Session::new("b", SECRET.as_bytes(), [9; 16]).unwrap();
    stream.write_all(&hello).await.unwrap();
    recorded.extend_from_slice(&hello);
    read_until(&mut stream, &mut session, &mut recorded, |e| {
        *e == Event::Authenticated
    })
    .await;
    let update = Update {
        key: Key::LastSuccessful {
            vip: "writer".into(),
        },
        version: Version {
            millis: wall_ms() + 1_000,
            counter: 0,
            node: node_id("b"),
        },
        value: Value::Server("s3".into()),
    };
    let frame = session
        .encode(&Message::Updates(vec![update]), wall_ms())
        .unwrap();
    stream.write_all(&frame).await.unwrap();
    recorded.extend_from_slice(&frame);
    until(
        "the update applied",
        async || pair.a.writer.persistence_entries(),
        |e| *e == PersistenceEntries::LastSuccessful(Some(ServerId(3))),
    )
    .await;
    drop(stream);
    let applied = status(&pair.a).await.counters.updates_applied;

    // Replayed byte for byte on a new connection: the AUTH is bound to the old nonces.
    pair.a.writer.learn_last_successful(Some(ServerId(1)));
    let mut replay = TcpStream::connect(a_listen).await.unwrap();
    replay.write_all(&recorded).await.unwrap();
    let mut rest = Vec::new();
    let _ = within(replay.read_to_end(&mut rest)).await;
    let a = until(
        "the replay counted",
        || status(&pair.a),
        |s| s.counters.auth_failures == 2,
    )
    .await;
    assert_eq!(
        a.counters.updates_applied, applied,
        "nothing applied from the replay"
    );
    assert_eq!(
        pair.a.writer.persistence_entries(),
        PersistenceEntries::LastSuccessful(Some(ServerId(1)))
    );
}
