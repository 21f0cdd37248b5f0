//! Connection caps with a bounded wait queue and a queue timeout.

mod common;

use std::time::Duration;

use common::*;
use lb_core::model::SchedulerKind;
use lb_proxy::{GlobalLimit, Service};

#[tokio::test]
async fn a_connection_over_the_cap_is_served_once_a_slot_frees() {
    let server = Echo::start("echo").await;
    let mut vip = vip(SchedulerKind::First, &[server.address]);
    vip.max_connections = 1;
    vip.timeouts.queue = Duration::from_secs(8);
    let service = Service::start(vip).unwrap();
    let mut first = client(&service).await;
    assert_eq!(greeting(&mut first).await, "echo");
    let mut waiting = client(&service).await;
    until_stats(&service, |stats| stats.queued == 1).await;
    assert_eq!(
        server.accepted(),
        1,
        "the waiting client has not reached the server"
    );
    drop(first);
    assert_eq!(greeting(&mut waiting).await, "echo");
    assert_eq!(echo(&mut waiting, "served").await, "served");
    let stats = service.stats();
    assert_eq!(
        (stats.queued, stats.queue_timeouts, stats.queue_full),
        (0, 0, 0)
    );
    service.stop().await;
}

#[tokio::test]
async fn a_connection_over_the_cap_is_closed_after_the_queue_timeout_or_at_once_if_the_queue_is_full()
 {
    let server = Echo::start("echo").await;
    let mut vip = vip(SchedulerKind::First, &[server.address]);
    vip.max_connections = 1;
    vip.timeouts.queue = Duration::from_millis(300);
    let service = Service::start(vip).unwrap();
    let mut first = client(&service).await;
    assert_eq!(greeting(&mut first).await, "echo");
    let mut waiting = client(&service).await;
    until_stats(&service, |stats| stats.queued == 1).await;
    let mut refused = client(&service).await;
    assert!(closed_cleanly(&mut refused).await, "queue of one is full");
    assert!(closed_cleanly(&mut waiting).await, "queue timeout");
    let stats = service.stats();
    assert_eq!((stats.queue_full, stats.queue_timeouts), (1, 1));
    assert_eq!(echo(&mut first, "still here").await, "still here");
    assert_eq!(server.accepted(), 1);
    service.stop().await;
}

#[tokio::test]
async fn a_shared_global_cap_holds_across_services() {
    let server = Echo::start("echo").await;
    let global = GlobalLimit::new(1);
    let mut one = vip(SchedulerKind::First, &[server.address]);
    one.timeouts.queue = Duration::from_millis(200);
    let two = one.clone();
    let first_service = Service::start_with(one, global.clone()).unwrap();
    let second_service = Service::start_with(two, global.clone()).unwrap();
    let mut first = client(&first_service).await;
    assert_eq!(greeting(&mut first).await, "echo");
    let mut second = client(&second_service).await;
    assert!(closed_cleanly(&mut second).await);
    assert_eq!(second_service.stats().queue_timeouts, 1);
    drop(first);
    until_stats(&first_service, |stats| stats.servers[0].active == 0).await;
    let mut third = client(&second_service).await;
    assert_eq!(greeting(&mut third).await, "echo");
    first_service.stop().await;
    second_service.stop().await;
}
