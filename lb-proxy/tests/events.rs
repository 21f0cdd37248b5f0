//! A VIP's events (`ServiceHandle::events`): every change made through the handle, in order,
//! once in force; a last-successful entry that moves, is cleared or goes with its server; a
//! source-IP entry made or moved, but not one only used again.

mod common;

use std::net::IpAddr;

use common::*;
use lb_core::model::{AdminState, Health, Persistence, SchedulerKind, ServerId};
use lb_proxy::{Service, VipEvent};
use tokio::sync::broadcast::Receiver;

/// The next event, within a step.
async fn next(events: &mut Receiver<VipEvent>) -> VipEvent {
    within(events.recv()).await.expect("an event")
}

#[tokio::test]
async fn changes_through_the_handle_are_published_in_order_once_in_force() {
    let (_servers, vip) = echo_pair(SchedulerKind::RoundRobin).await;
    let service = Service::start(vip.clone()).unwrap();
    let mut events = service.events();
    let one = ServerId(1);
    service.set_admin_state(one, AdminState::Drain).unwrap();
    service.set_weight(ServerId(2), 20).unwrap();
    service.set_health(one, Health::Down).unwrap();
    service.reconfigure(&vip).unwrap();
    service.set_servers(vip.servers[1..].to_vec());
    let expected = [
        VipEvent::AdminStateChanged {
            server: one,
            state: AdminState::Drain,
        },
        VipEvent::WeightChanged {
            server: ServerId(2),
            weight: 20,
        },
        VipEvent::HealthChanged {
            server: one,
            health: Health::Down,
        },
        VipEvent::Reconfigured,
        VipEvent::ServersChanged {
            servers: vec![ServerId(2)],
        },
    ];
    for event in expected {
        assert_eq!(next(&mut events).await, event);
    }
    assert!(events.is_empty(), "nothing else happened");
    service.stop().await;
}

#[tokio::test]
async fn a_last_successful_entry_that_moves_cleared_or_removed_is_published() {
    let (_servers, mut vip) = echo_pair(SchedulerKind::First).await;
    vip.persistence = Persistence::LastSuccessful {
        clear_on_drain: false,
    };
    let vip_servers = vip.servers.clone();
    let service = Service::start(vip).unwrap();
    let mut events = service.events();
    for expected in ["a", "a"] {
        let mut client = client(&service).await;
        assert_eq!(greeting(&mut client).await, expected);
    }
    let moved_to = |server| VipEvent::LastSuccessfulMoved {
        server: ServerId(server),
    };
    assert_eq!(next(&mut events).await, moved_to(1), "the first connection");
    service.set_health(ServerId(1), Health::Down).unwrap();
    let mut client = client(&service).await;
    assert_eq!(greeting(&mut client).await, "b");
    let health = VipEvent::HealthChanged {
        server: ServerId(1),
        health: Health::Down,
    };
    assert_eq!(next(&mut events).await, health);
    assert_eq!(next(&mut events).await, moved_to(2), "the failover");
    assert_eq!(service.clear_persistence(), 1);
    let cleared = VipEvent::PersistenceCleared { entries: 1 };
    assert_eq!(next(&mut events).await, cleared);
    assert!(
        events.is_empty(),
        "the second connection to a moved nothing"
    );
    let mut again = common::client(&service).await;
    assert_eq!(greeting(&mut again).await, "b");
    assert_eq!(next(&mut events).await, moved_to(2), "after the clear");
    service.set_servers(vec![vip_servers[0].clone()]);
    let servers = VipEvent::ServersChanged {
        servers: vec![ServerId(1)],
    };
    assert_eq!(next(&mut events).await, servers);
    let removed = VipEvent::PersistenceRemoved {
        server: ServerId(2),
        entries: 1,
    };
    assert_eq!(next(&mut events).await, removed, "b's entry went with it");
    service.stop().await;
}

#[tokio::test]
async fn a_source_ip_entry_is_published_when_made_not_when_used_again() {
    let (_servers, mut vip) = echo_pair(SchedulerKind::RoundRobin).await;
    vip.persistence = Persistence::source_ip();
    let service = Service::start(vip).unwrap();
    let mut events = service.events();
    let mut first = None;
    for _ in 0..3 {
        let mut client = client(&service).await;
        let server = greeting(&mut client).await;
        assert_eq!(first.get_or_insert(server.clone()), &server, "sticky");
    }
    let VipEvent::SourceIpRecorded { client, server } = next(&mut events).await else {
        panic!("a source-IP entry was made");
    };
    assert_eq!(client, "127.0.0.1".parse::<IpAddr>().unwrap());
    let expected = if first.as_deref() == Some("a") { 1 } else { 2 };
    assert_eq!(server, ServerId(expected));
    assert!(events.is_empty(), "the entry used again is not published");
    service.stop().await;
}
