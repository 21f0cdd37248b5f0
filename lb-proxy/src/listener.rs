//! Listening sockets for a VIP address.
//!
//! Every listener sets `SO_REUSEADDR` and `SO_REUSEPORT` (a restarted or second balancer binds
//! at once, and the kernel spreads connections over the sockets), and either `IP_TRANSPARENT`
//! (`IPV6_TRANSPARENT`) or, without the privilege it needs (`CAP_NET_ADMIN`), `IP_FREEBIND`
//! (`IPV6_FREEBIND`): both let a standby balancer listen on a floating VIP it does not hold yet
//! (keepalived or Pacemaker moves it later). Transparent is preferred, as HAProxy's
//! `bind ... transparent` does: its connections (which inherit it) can still send their FIN or
//! RST once the VIP has left this host, so a client whose VIP moved learns at once that its
//! session is gone, instead of waiting for its own timeout. The backlog is the VIP's
//! connection cap, at least [`MIN_BACKLOG`] (the kernel caps it at `net.core.somaxconn`).
//!
//! Lifecycle: bound when the service starts; closed when the service stops (its accept task
//! ends and drops it).

use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use crate::Error;

/// The smallest accept backlog used.
pub const MIN_BACKLOG: u32 = 128;

/// Binds `address` for VIP `vip` with the options above; must run inside a Tokio runtime.
pub fn bind(vip: &str, address: SocketAddr, max_connections: u32) -> Result<TcpListener, Error> {
    let bind_error = |source| Error::Bind {
        vip: vip.to_owned(),
        address,
        source,
    };
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(bind_error)?;
    let configure = |socket: Socket| -> std::io::Result<TcpListener> {
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        let transparent = if address.is_ipv4() {
            socket.set_ip_transparent_v4(true)
        } else {
            socket.set_ip_transparent_v6(true)
        };
        if transparent.is_err() {
            if address.is_ipv4() {
                socket.set_freebind_v4(true)?;
            } else {
                socket.set_freebind_v6(true)?;
            }
        }
        socket.set_nonblocking(true)?;
        socket.bind(&address.into())?;
        let backlog = max_connections.max(MIN_BACKLOG).min(i32::MAX as u32) as i32;
        socket.listen(backlog)?;
        TcpListener::from_std(socket.into())
    };
    configure(socket).map_err(bind_error)
}
