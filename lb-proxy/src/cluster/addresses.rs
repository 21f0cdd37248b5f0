//! The IP addresses this host holds, followed as they come and go: keepalived adds a VIP's
//! address to the node that wins the election and removes it from the one that loses, and lb
//! learns it here.
//!
//! The kernel's rtnetlink address groups (IPv4 and IPv6 `IFADDR`) wake the watcher the moment
//! an address is added or removed; it then reads the whole list again (`getifaddrs`). A poll
//! every [`POLL`] covers a missed or overflowed notification, and hosts where the netlink
//! socket cannot be opened (then the poll alone, and a warning). The watcher is a thread
//! blocked in `recv`, not a task: tokio cannot wait on a raw netlink socket without `unsafe`.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, RecvFlags, SocketFlags, SocketType};
use tokio::sync::watch;
use tracing::warn;

/// How often the list is read again without a notification.
pub(crate) const POLL: Duration = Duration::from_millis(500);

/// rtnetlink multicast groups: `RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR`.
const ADDRESS_GROUPS: u32 = 0x10 | 0x100;

/// The addresses held now; `watch` it for changes.
pub(crate) type Addresses = watch::Receiver<BTreeSet<IpAddr>>;

/// Starts following this host's addresses: the receiver holds the current set (read once
/// before this returns) and changes with it. The watcher, a thread of its own blocked on the
/// netlink socket, ends within [`POLL`] of the last receiver being dropped.
pub(crate) fn watch() -> Addresses {
    let (sender, receiver) = watch::channel(read());
    let spawned = std::thread::Builder::new()
        .name("lb-addresses".into())
        .spawn(move || follow(&sender));
    if let Err(error) = spawned {
        warn!(%error, "cannot follow this host's addresses: VIPs held are read once");
    }
    receiver
}

/// Every address of every interface, loopback included; empty (and a warning) when the list
/// cannot be read.
fn read() -> BTreeSet<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces.iter().map(if_addrs::Interface::ip).collect(),
        Err(error) => {
            warn!(%error, "cannot read this host's addresses");
            BTreeSet::new()
        }
    }
}

fn follow(sender: &watch::Sender<BTreeSet<IpAddr>>) {
    let notifications = subscribe()
        .inspect_err(|error| {
            warn!(%error, every = ?POLL, "no address notifications from the kernel: polling");
        })
        .ok();
    let mut buffer = vec![0u8; 16 * 1024];
    while !sender.is_closed() {
        match &notifications {
            // Returns on a notification, or after POLL without one (the receive timeout).
            Some(socket) => {
                let _ = rustix::net::recv(socket, &mut buffer[..], RecvFlags::empty());
                // Drain the burst (keepalived adds several addresses at once) before reading.
                while rustix::net::recv(socket, &mut buffer[..], RecvFlags::DONTWAIT).is_ok() {}
            }
            None => std::thread::sleep(POLL),
        }
        sender.send_if_modified(|held| {
            let now = read();
            let changed = *held != now;
            *held = now;
            changed
        });
    }
}

/// A netlink socket on which a receive returns when an address is added or removed, or after
/// [`POLL`] without one.
fn subscribe() -> std::io::Result<OwnedFd> {
    let socket = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        None,
    )?;
    rustix::net::bind(&socket, &SocketAddrNetlink::new(0, ADDRESS_GROUPS))?;
    rustix::net::sockopt::set_socket_timeout(
        &socket,
        rustix::net::sockopt::Timeout::Recv,
        Some(POLL),
    )?;
    Ok(socket)
}
