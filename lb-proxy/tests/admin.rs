//! Closing a server's sessions, drain, maintenance, servers marked down or removed.

mod common;

use common::*;
use lb_core::model::{AdminState, Health, SchedulerKind, ServerId};
use lb_proxy::{Service, ServiceHandle};
use tokio::io::BufReader;
use tokio::net::TcpStream;

const A: ServerId = ServerId(1);
const B: ServerId = ServerId(2);

/// Two echo servers `a` (id 1, first) and `b` (id 2) behind a `first` VIP.
async fn two_servers(shutdown_sessions_on_down: bool) -> (ServiceHandle, [Echo; 2]) {
    let (servers, mut vip) = echo_pair(SchedulerKind::First).await;
    vip.shutdown_sessions_on_down = shutdown_sessions_on_down;
    (Service::start(vip).unwrap(), servers)
}

async fn session_to(service: &ServiceHandle, expected: &str) -> BufReader<TcpStream> {
    let mut client = client(service).await;
    assert_eq!(greeting(&mut client).await, expected);
    client
}

#[tokio::test]
async fn close_sessions_closes_every_established_session_of_that_server_only() {
    let (service, _servers) = two_servers(false).await;
    let mut on_a = [
        session_to(&service, "a").await,
        session_to(&service, "a").await,
    ];
    service.set_admin_state(A, AdminState::Drain).unwrap();
    let mut on_b = session_to(&service, "b").await;
    service.close_sessions(A).unwrap();
    for client in &mut on_a {
        assert!(closed_cleanly(client).await);
    }
    assert_eq!(echo(&mut on_b, "unaffected").await, "unaffected");
    assert_eq!(service.stats().closed_by_admin, 2);
    service.set_admin_state(A, AdminState::Ready).unwrap();
    let mut after = session_to(&service, "a").await;
    assert_eq!(
        echo(&mut after, "new sessions work").await,
        "new sessions work"
    );
    assert!(service.close_sessions(ServerId(9)).is_err());
    service.stop().await;
}

#[tokio::test]
async fn closing_established_sessions_closes_every_server_s_and_the_vip_serves_on() {
    let (service, _servers) = two_servers(false).await;
    let mut on_a = session_to(&service, "a").await;
    service.set_admin_state(A, AdminState::Drain).unwrap();
    let mut on_b = session_to(&service, "b").await;
    service.set_admin_state(A, AdminState::Ready).unwrap();
    // The VIP's address left this host (a clustered pair's standby): every session goes.
    service.close_established_sessions();
    assert!(closed_cleanly(&mut on_a).await);
    assert!(closed_cleanly(&mut on_b).await);
    // The address came back: new clients are served as before.
    let mut after = session_to(&service, "a").await;
    assert_eq!(echo(&mut after, "served again").await, "served again");
    service.stop().await;
}

#[tokio::test]
async fn a_drained_server_keeps_its_sessions_and_gets_no_new_ones() {
    let (service, servers) = two_servers(false).await;
    let mut established = session_to(&service, "a").await;
    service.set_admin_state(A, AdminState::Drain).unwrap();
    for _ in 0..3 {
        session_to(&service, "b").await;
    }
    assert_eq!(echo(&mut established, "still served").await, "still served");
    assert_eq!(servers[0].accepted(), 1);
    let stats = service.stats();
    assert_eq!((stats.servers[0].active, stats.servers[0].total), (1, 1));
    service.stop().await;
}

#[tokio::test]
async fn maintenance_closes_the_sessions_and_sends_new_ones_elsewhere() {
    let (service, _servers) = two_servers(false).await;
    let mut established = session_to(&service, "a").await;
    service.set_admin_state(A, AdminState::Maintenance).unwrap();
    assert!(closed_cleanly(&mut established).await);
    session_to(&service, "b").await;
    assert!(
        service
            .set_admin_state(ServerId(9), AdminState::Ready)
            .is_err()
    );
    service.stop().await;
}

#[tokio::test]
async fn a_server_marked_down_loses_its_sessions_only_when_configured() {
    let (keeping, _servers) = two_servers(false).await;
    let mut kept = session_to(&keeping, "a").await;
    keeping.set_health(A, Health::Down).unwrap();
    session_to(&keeping, "b").await;
    assert_eq!(echo(&mut kept, "kept").await, "kept");
    keeping.stop().await;

    let (closing, _servers) = two_servers(true).await;
    let mut closed = session_to(&closing, "a").await;
    closing.set_health(A, Health::Down).unwrap();
    assert!(closed_cleanly(&mut closed).await);
    session_to(&closing, "b").await;
    closing.set_health(A, Health::Up).unwrap();
    session_to(&closing, "a").await;
    closing.stop().await;
}

#[tokio::test]
async fn a_removed_server_loses_its_sessions_and_a_new_one_takes_traffic() {
    let (service, servers) = two_servers(false).await;
    let mut on_a = session_to(&service, "a").await;
    service.set_admin_state(A, AdminState::Drain).unwrap();
    let mut on_b = session_to(&service, "b").await;
    let pool = service.pool();
    let b = pool.member(B).unwrap().address;
    let c = Echo::start("c").await;
    let mut next = vip(SchedulerKind::First, &[c.address, b]).servers;
    next[0].id = ServerId(3);
    next[1].id = B;
    service.set_servers(next);
    assert!(closed_cleanly(&mut on_a).await);
    assert_eq!(echo(&mut on_b, "kept").await, "kept");
    session_to(&service, "c").await;
    assert_eq!(servers[0].accepted(), 1);
    service.stop().await;
}

#[tokio::test]
async fn stop_closes_established_sessions() {
    let (service, _servers) = two_servers(false).await;
    let mut established = session_to(&service, "a").await;
    within(service.stop()).await;
    assert!(closed_cleanly(&mut established).await);
}

/// Polls `waiting` once: whether it is still pending.
async fn still_pending(waiting: std::pin::Pin<&mut impl std::future::Future>) -> bool {
    let mut waiting = waiting;
    std::future::poll_fn(|cx| std::task::Poll::Ready(waiting.as_mut().poll(cx).is_pending())).await
}

#[tokio::test]
async fn a_pool_wait_ends_with_the_change_it_waits_for_and_not_before() {
    let (service, _servers) = two_servers(false).await;
    let a_down = |pool: &lb_core::pool::Pool| {
        pool.member(A).map(|member| member.health) == Some(Health::Down)
    };
    {
        let mut waiting = std::pin::pin!(service.wait_for_pool(a_down));
        assert!(still_pending(waiting.as_mut()).await);
        service.set_weight(A, 5).unwrap();
        service.set_health(B, Health::Down).unwrap();
        assert!(still_pending(waiting.as_mut()).await, "other changes");
        service.set_health(A, Health::Down).unwrap();
        tokio::time::timeout(STEP, waiting)
            .await
            .expect("woken by the change");
    }
    // A state that already holds needs no change.
    tokio::time::timeout(STEP, service.wait_for_pool(a_down))
        .await
        .expect("already down");
    service.stop().await;
}
