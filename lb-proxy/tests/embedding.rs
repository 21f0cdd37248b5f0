//! The embedding API: a VIP started in one call with its health checks, validated first;
//! health checks that follow the servers and settings the service is given; servers changed
//! by name with validation; any handle stops the service.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use lb_core::model::{
    AdminState, CheckKind, Health, HttpCheck, SchedulerKind, Server, ServerId, Vip,
};
use lb_core::pool::Pool;
use lb_proxy::{ChangeError, Error, HealthChecks, RunningVip, Service};
use tokio::net::TcpStream;

#[tokio::test]
async fn an_invalid_vip_is_refused_with_every_problem_named() {
    let mut vip = vip(SchedulerKind::RoundRobin, &[]);
    vip.check.rise = 0;
    let Err(Error::Invalid { vip: name, errors }) = RunningVip::start(vip) else {
        panic!("an invalid VIP started");
    };
    assert_eq!(name, "test");
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(paths, ["vip.servers", "vip.check.rise"], "{errors:?}");
}

#[tokio::test]
async fn one_call_starts_the_vip_with_its_health_checks() {
    let up = Echo::start("up").await;
    let mut vip = vip(
        SchedulerKind::RoundRobin,
        &[up.address, closed_port().await],
    );
    vip.check.interval = Duration::from_millis(50);
    (vip.check.fast_interval, vip.check.down_interval) = (vip.check.interval, vip.check.interval);
    vip.check.fall = 1;
    let running = RunningVip::start(vip).unwrap();
    let down = |id| move |pool: &lb_core::pool::Pool| pool.member(ServerId(id)).unwrap().health;
    within(
        running
            .service
            .wait_for_pool(|pool| down(2)(pool) == Health::Down),
    )
    .await;
    assert_eq!(down(1)(&running.service.pool()), Health::Up);
    for _ in 0..3 {
        let mut client = client(&running.service).await;
        assert_eq!(greeting(&mut client).await, "up", "the checks took s2 out");
    }
    running.stop().await;
}

/// What the pool says of server `id`'s health.
fn health(pool: &Pool, id: u32) -> Option<Health> {
    pool.member(ServerId(id)).map(|member| member.health)
}

/// Checks every 50 ms that take a server down at the first failure.
fn fast_checks(vip: &mut Vip) {
    let every = Duration::from_millis(50);
    (
        vip.check.interval,
        vip.check.fast_interval,
        vip.check.down_interval,
    ) = (every, every, every);
    vip.check.fall = 1;
}

#[tokio::test]
async fn health_checks_follow_the_servers_and_settings_the_service_is_given() {
    let up = Echo::start("up").await;
    let mut vip = vip(SchedulerKind::RoundRobin, &[up.address]);
    fast_checks(&mut vip);
    let service = Arc::new(Service::start(vip.clone()).unwrap());
    let checks = HealthChecks::start(Arc::clone(&service));
    let mut servers = vip.servers.clone();
    servers.push(Server::new(ServerId(2), "dead", closed_port().await));
    service.set_servers(servers);
    within(service.wait_for_pool(|pool| health(pool, 2) == Some(Health::Down))).await;
    assert_eq!(
        checks.health(ServerId(2)),
        Some(Health::Down),
        "a new server"
    );
    assert_eq!(health(&service.pool(), 1), Some(Health::Up));
    // The echo server accepts connections but answers no HTTP: an HTTP check fails.
    vip.check.kind = CheckKind::Http(HttpCheck::default());
    service.reconfigure(&vip).unwrap();
    within(service.wait_for_pool(|pool| health(pool, 1) == Some(Health::Down))).await;
    assert_eq!(
        checks.health(ServerId(1)),
        Some(Health::Down),
        "new settings"
    );
    checks.stop().await;
    service.stop().await;
}

#[tokio::test]
async fn servers_change_by_name_and_bad_changes_are_refused() {
    let (_servers, vip) = echo_pair(SchedulerKind::RoundRobin).await;
    let running = RunningVip::start(vip).unwrap();
    running.set_admin_state("s1", AdminState::Drain).unwrap();
    assert_eq!(running.server("s1").unwrap().admin, AdminState::Drain);
    let unknown = running.set_admin_state("nope", AdminState::Drain);
    assert!(matches!(unknown, Err(ChangeError::UnknownServer { .. })));
    let heavy = running.set_weight("s2", 257);
    assert!(matches!(heavy, Err(ChangeError::Weight { weight: 257 })));
    let by_id = running.service.set_weight(ServerId(2), 300);
    assert!(
        matches!(by_id, Err(Error::Weight { weight: 300, .. })),
        "the handle checks weights too"
    );
    assert_eq!(running.server("s2").unwrap().weight, 100, "nothing changed");
    running.stop().await;
}

#[tokio::test]
async fn any_handle_stops_the_service() {
    let server = Echo::start("a").await;
    let running = RunningVip::start(vip(SchedulerKind::RoundRobin, &[server.address])).unwrap();
    let address = running.service.local_addrs()[0];
    let mut session = client(&running.service).await;
    assert_eq!(greeting(&mut session).await, "a");
    let handle = Arc::clone(&running.service);
    within(handle.stop()).await;
    assert!(closed_cleanly(&mut session).await, "its session was closed");
    assert!(
        TcpStream::connect(address).await.is_err(),
        "nothing listens any more"
    );
    running.stop().await;
}
