//! Persistence through a VIP: last-successful (no failback) and source-IP stickiness.

mod common;

use common::*;
use lb_core::model::{Health, Persistence, SchedulerKind, ServerId};
use lb_proxy::Service;

#[tokio::test]
async fn last_successful_follows_a_failure_and_never_fails_back() {
    let (_servers, mut vip) = echo_pair(SchedulerKind::First).await;
    vip.persistence = Persistence::LastSuccessful {
        clear_on_drain: false,
    };
    let service = Service::start(vip).unwrap();
    let mut first = client(&service).await;
    assert_eq!(greeting(&mut first).await, "a");
    service.set_health(ServerId(1), Health::Down).unwrap();
    for _ in 0..2 {
        let mut client = client(&service).await;
        assert_eq!(greeting(&mut client).await, "b");
    }
    service.set_health(ServerId(1), Health::Up).unwrap();
    for _ in 0..3 {
        let mut client = client(&service).await;
        assert_eq!(greeting(&mut client).await, "b", "no failback to a");
    }
    service.stop().await;
}

#[tokio::test]
async fn source_ip_keeps_a_client_on_its_server_over_round_robin() {
    let (servers, mut vip) = echo_pair(SchedulerKind::RoundRobin).await;
    vip.persistence = Persistence::source_ip();
    let service = Service::start(vip).unwrap();
    let mut first = client(&service).await;
    let name = greeting(&mut first).await;
    for _ in 0..5 {
        let mut client = client(&service).await;
        assert_eq!(greeting(&mut client).await, name);
    }
    let stuck = if name == "a" {
        &servers[0]
    } else {
        &servers[1]
    };
    assert_eq!(stuck.accepted(), 6);
    service.stop().await;
}
