//! Test support: real processes (redis-server, mariadbd, nginx, `lb run`) started on loopback
//! ports in temporary directories, awaited through their own log lines, and stopped on drop.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different part of this module

pub mod admin;
pub mod backend;
pub mod lb;
pub mod mariadb;
pub mod nginx;
pub mod process;
pub mod redis;
pub mod webdriver;
pub mod wrk;

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .unwrap()
        .port()
}

/// `127.0.0.1:port`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The longest any awaited event may take before a test fails.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);
