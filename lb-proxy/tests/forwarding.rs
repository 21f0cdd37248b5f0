//! TCP forwarding through a VIP against loopback servers: distribution, retries, half-close,
//! idle timeout, binding.

mod common;

use std::time::Duration;

use common::*;
use lb_core::model::SchedulerKind;
use lb_proxy::{Error, Service};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

#[tokio::test]
async fn round_robin_spreads_connections_evenly_and_echoes_through_the_vip() {
    let servers = [
        Echo::start("a").await,
        Echo::start("b").await,
        Echo::start("c").await,
    ];
    let addresses: Vec<_> = servers.iter().map(|s| s.address).collect();
    let service = Service::start(vip(SchedulerKind::RoundRobin, &addresses)).unwrap();
    let mut seen = Vec::new();
    for round in 0..30 {
        let mut client = client(&service).await;
        seen.push(greeting(&mut client).await);
        assert_eq!(
            echo(&mut client, &format!("ping {round}")).await,
            format!("ping {round}")
        );
    }
    for server in &servers {
        assert_eq!(server.accepted(), 10);
    }
    assert_eq!(&seen[..3], &seen[3..6], "a fixed rotation");
    let stats = service.stats();
    assert_eq!(
        (stats.accepted, stats.established, stats.connect_failures),
        (30, 30, 0)
    );
    service.stop().await;
}

#[tokio::test]
async fn a_refused_connect_is_retried_on_another_server_unseen_by_the_client() {
    let alive = Echo::start("alive").await;
    let dead = closed_port().await;
    let service = Service::start(vip(SchedulerKind::First, &[dead, alive.address])).unwrap();
    for _ in 0..3 {
        let mut client = client(&service).await;
        assert_eq!(greeting(&mut client).await, "alive");
    }
    let stats = service.stats();
    assert_eq!((stats.connect_failures, stats.no_server), (3, 0));
    service.stop().await;
}

#[tokio::test]
async fn when_every_server_fails_the_client_is_closed_cleanly_after_the_retries() {
    let dead = [closed_port().await, closed_port().await];
    let mut vip = vip(SchedulerKind::RoundRobin, &dead);
    vip.retries = 5;
    let service = Service::start(vip).unwrap();
    let mut client = client(&service).await;
    assert!(closed_cleanly(&mut client).await);
    let stats = until_stats(&service, |stats| stats.no_server == 1).await;
    assert_eq!(
        stats.connect_failures, 2,
        "each server tried once, then none left"
    );
    service.stop().await;
}

#[tokio::test]
async fn retries_stop_at_the_configured_count() {
    let mut dead = Vec::new();
    for _ in 0..4 {
        dead.push(closed_port().await);
    }
    let mut vip = vip(SchedulerKind::First, &dead);
    vip.retries = 1;
    let service = Service::start(vip).unwrap();
    let mut client = client(&service).await;
    assert!(closed_cleanly(&mut client).await);
    let stats = until_stats(&service, |stats| stats.no_server == 1).await;
    assert_eq!(stats.connect_failures, 2, "one try and one retry");
    service.stop().await;
}

#[tokio::test]
async fn a_client_that_shuts_its_write_side_still_receives_the_reply() {
    let server = Echo::start("echo").await;
    let service = Service::start(vip(SchedulerKind::First, &[server.address])).unwrap();
    let mut client = client(&service).await;
    assert_eq!(greeting(&mut client).await, "echo");
    client.get_mut().write_all(b"last words").await.unwrap();
    client.get_mut().shutdown().await.unwrap();
    let mut reply = String::new();
    within(tokio::io::AsyncReadExt::read_to_string(
        &mut client,
        &mut reply,
    ))
    .await
    .unwrap();
    assert_eq!(
        reply, "last words",
        "the echo came back after the client's FIN"
    );
    service.stop().await;
}

#[tokio::test]
async fn an_idle_session_is_closed_after_the_idle_limit_and_an_active_one_is_not() {
    let server = Echo::start("echo").await;
    let mut vip = vip(SchedulerKind::First, &[server.address]);
    vip.timeouts.client = Duration::from_millis(400);
    vip.timeouts.server = Duration::from_secs(60);
    let service = Service::start(vip).unwrap();

    let mut active = client(&service).await;
    assert_eq!(greeting(&mut active).await, "echo");
    let started = Instant::now();
    for round in 0..6 {
        // Quiet on purpose, for less than the idle limit each time.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            echo(&mut active, &format!("{round}")).await,
            format!("{round}")
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "outlived the limit"
    );
    drop(active);
    until_stats(&service, |stats| stats.servers[0].active == 0).await;

    let mut idle = client(&service).await;
    assert_eq!(greeting(&mut idle).await, "echo");
    let quiet_since = Instant::now();
    assert!(closed_cleanly(&mut idle).await);
    assert!(quiet_since.elapsed() >= Duration::from_millis(350));
    assert_eq!(service.stats().idle_timeouts, 1);
    service.stop().await;
}

#[tokio::test]
async fn a_taken_address_fails_with_the_vip_and_address_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let mut named = vip(SchedulerKind::First, &[]);
    named.name = "glance_api".to_owned();
    named.listen = vec![address];
    let error = Service::start(named).unwrap_err();
    assert!(matches!(error, Error::Bind { .. }));
    let message = error.to_string();
    assert!(
        message.contains("glance_api") && message.contains(&address.to_string()),
        "{message}"
    );
    let mut nowhere = vip(SchedulerKind::First, &[]);
    nowhere.listen.clear();
    assert!(matches!(
        Service::start(nowhere),
        Err(Error::NoListenAddress { .. })
    ));
}

#[tokio::test]
async fn a_standby_can_listen_on_an_address_it_does_not_hold_and_stop_releases_ports() {
    let mut vip = vip(SchedulerKind::First, &[]);
    vip.listen = vec![
        "192.0.2.10:0".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    ];
    let service = Service::start(vip).unwrap();
    let local = service.local_addrs()[1];
    service.stop().await;
    assert!(
        tokio::net::TcpStream::connect(local).await.is_err(),
        "listener closed on stop"
    );
}
