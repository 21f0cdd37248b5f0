//! The TCP connect check.

use lb_core::model::{Check, CheckKind};
use lb_health::{Step, check_address, probe_for};

use crate::conversation::{check, server};

#[test]
fn a_connect_check_passes_once_connected_without_sending() {
    let mut probe = probe_for(&check(CheckKind::Tcp), server());
    assert_eq!(probe.start(), Step::Done(Ok(())));
}

#[test]
fn the_check_port_overrides_the_traffic_port() {
    let galera = Check {
        port: Some(9200),
        ..check(CheckKind::Tcp)
    };
    assert_eq!(
        check_address(&galera, server()),
        "192.0.2.11:9200".parse().unwrap()
    );
    assert_eq!(check_address(&check(CheckKind::Tcp), server()), server());
    let v6 = "[2001:db8::11]:6379".parse().unwrap();
    assert_eq!(
        check_address(&galera, v6),
        "[2001:db8::11]:9200".parse().unwrap()
    );
}
