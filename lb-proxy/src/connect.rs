//! Connections to servers, and the socket options of both sides of a session.
//!
//! A server connection is made from the VIP's source address when one is set (any port), within
//! the connect timeout, with `TCP_NODELAY` (the proxy adds no delay of its own) and keep-alive
//! when configured. Client connections get the same options on accept.
//!
//! Defaults: no source address, no keep-alive (see [`lb_core::model::KeepAlive`] for the
//! probe timings when it is on).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use lb_core::model::KeepAlive;
use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpSocket, TcpStream};

/// How a VIP connects to its servers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialer {
    /// Local address to connect from.
    pub(crate) source: Option<IpAddr>,
    /// Longest wait for the connection to be established.
    pub(crate) timeout: Duration,
    /// Keep-alive on server connections.
    pub(crate) keepalive: Option<KeepAlive>,
}

impl Dialer {
    /// A connection to `address`, or why there is none (a timeout is `TimedOut`).
    pub(crate) async fn connect(&self, address: SocketAddr) -> io::Result<TcpStream> {
        let socket = if address.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(source) = self.source {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        let stream = tokio::time::timeout(self.timeout, socket.connect(address))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        tune(&stream, self.keepalive)?;
        Ok(stream)
    }
}

/// Sets `TCP_NODELAY`, and keep-alive when asked, on either side of a session.
pub(crate) fn tune(stream: &TcpStream, keepalive: Option<KeepAlive>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    if let Some(keepalive) = keepalive {
        let params = TcpKeepalive::new()
            .with_time(keepalive.idle)
            .with_interval(keepalive.interval)
            .with_retries(keepalive.count);
        SockRef::from(stream).set_tcp_keepalive(&params)?;
    }
    Ok(())
}
