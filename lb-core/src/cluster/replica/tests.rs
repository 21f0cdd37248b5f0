use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::model::AdminState;

const RETENTION: u64 = MIN_TOMBSTONE_RETENTION_MS;

fn last(vip: &str) -> Key {
    Key::LastSuccessful { vip: vip.into() }
}

fn server(name: &str) -> Value {
    Value::Server(name.into())
}

fn nobody(_: &str) -> bool {
    false
}

#[test]
fn a_newer_update_is_applied_and_reports_the_previous_value() {
    let mut a = Replica::new(1, RETENTION);
    let mut b = Replica::new(2, RETENTION);
    let first = a.record(last("db"), server("s1"), 1000);
    assert_eq!(
        b.apply(&first, 1000, nobody),
        Applied::Applied { previous: None }
    );
    let second = a.record(last("db"), server("s2"), 1001);
    let previous = Some(server("s1"));
    assert_eq!(
        b.apply(&second, 1001, nobody),
        Applied::Applied { previous }
    );
    assert_eq!(b.get(&last("db")), Some((second.version, &server("s2"))));
    assert_eq!(a.digest(1001), b.digest(1001));
}

#[test]
fn replays_and_older_updates_are_stale() {
    let mut a = Replica::new(1, RETENTION);
    let mut b = Replica::new(2, RETENTION);
    let first = a.record(last("db"), server("s1"), 1000);
    let second = a.record(last("db"), server("s2"), 1000);
    assert!(matches!(
        b.apply(&second, 1000, nobody),
        Applied::Applied { .. }
    ));
    assert_eq!(b.apply(&second, 1000, nobody), Applied::Stale);
    assert_eq!(b.apply(&first, 1000, nobody), Applied::Stale);
    assert_eq!(b.get(&last("db")), Some((second.version, &server("s2"))));
}

#[test]
fn a_local_change_after_applying_is_newer_even_with_a_slow_wall_clock() {
    let mut a = Replica::new(1, RETENTION);
    let mut b = Replica::new(2, RETENTION);
    let remote = a.record(last("db"), server("s1"), 50_000);
    b.apply(&remote, 1000, nobody);
    let local = b.record(last("db"), server("s2"), 1000);
    assert!(local.version > remote.version);
    assert_eq!(
        a.apply(&local, 50_000, nobody),
        Applied::Applied {
            previous: Some(server("s1"))
        }
    );
}

#[test]
fn the_holder_overrules_a_newer_last_successful_and_the_peer_takes_its_value() {
    let mut holder = Replica::new(1, RETENTION);
    let mut peer = Replica::new(2, RETENTION);
    holder.record(last("db"), server("s1"), 1000);
    let theirs = peer.record(last("db"), server("s2"), 2000);
    let Applied::Overruled(answer) = holder.apply(&theirs, 2000, |vip| vip == "db") else {
        panic!("the holder applied the peer's value");
    };
    assert_eq!(answer.value, server("s1"));
    assert!(answer.version > theirs.version);
    assert_eq!(
        holder.get(&last("db")),
        Some((answer.version, &server("s1")))
    );
    let previous = Some(server("s2"));
    assert_eq!(
        peer.apply(&answer, 2000, nobody),
        Applied::Applied { previous }
    );
    assert_eq!(holder.digest(2000), peer.digest(2000));
}

#[test]
fn the_holder_takes_an_equal_value_or_one_for_an_empty_entry() {
    let mut holder = Replica::new(1, RETENTION);
    let mut peer = Replica::new(2, RETENTION);
    let holds = |vip: &str| vip == "db";
    let theirs = peer.record(last("db"), server("s2"), 1000);
    assert!(matches!(
        holder.apply(&theirs, 1000, holds),
        Applied::Applied { .. }
    ));
    let same = peer.record(last("db"), server("s2"), 1001);
    assert!(matches!(
        holder.apply(&same, 1001, holds),
        Applied::Applied { .. }
    ));
    holder.record(last("db"), Value::Deleted, 1002);
    let after_delete = peer.record(last("db"), server("s3"), 1003);
    assert!(matches!(
        holder.apply(&after_delete, 1003, holds),
        Applied::Applied { previous: None }
    ));
}

#[test]
fn the_holder_rule_is_only_for_last_successful() {
    let mut holder = Replica::new(1, RETENTION);
    let mut peer = Replica::new(2, RETENTION);
    let key = Key::ServerState {
        vip: "db".into(),
        server: "s1".into(),
    };
    let drain = Value::ServerState {
        state: AdminState::Drain,
        weight: 100,
    };
    holder.record(key.clone(), Value::Deleted, 1000);
    let theirs = peer.record(key, drain, 2000);
    assert!(matches!(
        holder.apply(&theirs, 2000, |_| true),
        Applied::Applied { previous: None }
    ));
}

#[test]
fn a_tombstone_stops_a_late_older_update_until_its_retention_ends() {
    let mut a = Replica::new(1, RETENTION);
    let mut b = Replica::new(2, RETENTION);
    let old = b.record(last("db"), server("s1"), 1000);
    a.apply(&old, 1000, nobody);
    let delete = a.record(last("db"), Value::Deleted, 2000);
    assert!(delete.version > old.version);
    assert_eq!(a.apply(&old, 3000, nobody), Applied::Stale);
    assert_eq!(a.snapshot(3000), vec![delete.clone()]);
    a.expire(2000 + RETENTION - 1);
    assert_eq!(a.get(&last("db")), Some((delete.version, &Value::Deleted)));
    a.expire(2000 + RETENTION);
    assert_eq!(a.get(&last("db")), None);
}

#[test]
fn expired_source_ip_entries_become_tombstones_then_leave() {
    let mut a = Replica::new(1, RETENTION);
    let key = Key::SourceIp {
        vip: "web".into(),
        client: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
    };
    let value = Value::SourceIp {
        server: "s1".into(),
        expires_at: 5000,
    };
    let empty = a.digest(1000);
    a.record(key.clone(), value, 1000);
    assert_ne!(a.digest(4999), empty);
    assert_eq!(a.snapshot(4999).len(), 1);
    assert_eq!(a.digest(5000), empty);
    let deleted = vec![Update {
        key: key.clone(),
        version: a.get(&key).expect("recorded").0,
        value: Value::Deleted,
    }];
    assert_eq!(a.snapshot(5000), deleted);
    a.expire(4999);
    assert!(matches!(a.get(&key), Some((_, Value::SourceIp { .. }))));
    a.expire(5000);
    assert!(matches!(a.get(&key), Some((_, Value::Deleted))));
    assert_eq!(a.snapshot(5000), deleted);
    assert_eq!(a.apply(&deleted[0], 5000, nobody), Applied::Stale);
    a.expire(5000 + RETENTION);
    assert!(a.get(&key).is_none());
}

#[test]
fn the_digest_ignores_insertion_order_and_source_ip_expiry() {
    let mut a = Replica::new(1, RETENTION);
    let client = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let updates = [
        a.record(last("db"), server("s1"), 1000),
        a.record(
            Key::SourceIp {
                vip: "web".into(),
                client,
            },
            Value::SourceIp {
                server: "s2".into(),
                expires_at: 9000,
            },
            1000,
        ),
    ];
    let mut b = Replica::new(2, RETENTION);
    for update in updates.iter().rev() {
        let mut late = update.clone();
        if let Value::SourceIp { expires_at, .. } = &mut late.value {
            *expires_at += 3;
        }
        b.apply(&late, 1000, nobody);
    }
    assert_eq!(a.digest(1000), b.digest(1000));
    b.record(last("db"), server("s2"), 1000);
    assert_ne!(a.digest(1000), b.digest(1000));
}
