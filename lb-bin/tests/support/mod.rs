//! Test support: real processes (redis-server, mariadbd, nginx, `lb run`) started on loopback
//! ports in temporary directories, awaited through their own log lines, and stopped on drop.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different part of this module

pub mod admin;
pub mod backend;
pub mod cluster;
pub mod lb;
pub mod mariadb;
pub mod misbehaving;
pub mod netns;
pub mod nginx;
pub mod process;
pub mod redis;
pub mod tcp_load;
pub mod transparent;
pub mod tripleo_cfg;
pub mod webdriver;
pub mod wrk;

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A port on 127.0.0.1 that was free a moment ago, for a listener a test configures (an lb
/// VIP, an admin listener, a redis-server).
///
/// Ports come from below the kernel's ephemeral range (`ip_local_port_range`): a port the
/// kernel hands out, to a bind on port 0 (the tests' own backends) or to an outgoing
/// connection, could otherwise be taken between this call and the listener's bind, by the
/// tests running beside this one. Each port is handed out once per test binary, from an
/// offset that differs between binaries, and only if it can be bound now. Two tests must
/// never get the same port: lb binds with `SO_REUSEPORT`, so two lbs would both listen on it
/// and the kernel would spread one test's connections over both.
pub fn free_port() -> u16 {
    const LOWEST: u32 = 10_000;
    static HANDED_OUT: AtomicU32 = AtomicU32::new(0);
    let span = ephemeral_start().saturating_sub(LOWEST).max(1);
    let offset = std::process::id().wrapping_mul(2_654_435_761) % span;
    for _ in 0..span {
        let next = HANDED_OUT.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(LOWEST + (offset + next) % span).expect("ports fit in u16");
        if TcpListener::bind(local(port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {LOWEST}..{}", LOWEST + span);
}

/// The first port of the kernel's ephemeral range (32768 when it cannot be read).
fn ephemeral_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// `127.0.0.1:port`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The longest any awaited event may take before a test fails.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);
