//! Connections to servers, and the socket options of both sides of a session.
//!
//! A server connection is made from the VIP's source address when one is set (any port), with
//! `TCP_NODELAY` (the proxy adds no delay of its own) and keep-alive when configured, then
//! with the TLS handshake when the VIP has `server_tls`; the whole, handshake included, within
//! the connect timeout. Client connections get the same socket options on accept.
//!
//! Defaults: no source address, no keep-alive (see [`lb_core::model::KeepAlive`] for the
//! probe timings when it is on), no TLS.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use lb_core::model::KeepAlive;
use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpSocket, TcpStream};

use crate::tls::{Originator, ServerStream};

/// How a VIP connects to its servers.
#[derive(Debug, Clone)]
pub(crate) struct Dialer {
    /// Local address to connect from.
    pub(crate) source: Option<IpAddr>,
    /// Longest wait for the connection to be established.
    pub(crate) timeout: Duration,
    /// Keep-alive on server connections.
    pub(crate) keepalive: Option<KeepAlive>,
    /// TLS to the servers (`server_tls`).
    pub(crate) tls: Option<Arc<Originator>>,
}

impl Dialer {
    /// A connection to `address`, or why there is none (a timeout is `TimedOut`, a refused
    /// certificate names rustls' reason).
    pub(crate) async fn connect(&self, address: SocketAddr) -> io::Result<ServerStream> {
        tokio::time::timeout(self.timeout, self.establish(address))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
    }

    async fn establish(&self, address: SocketAddr) -> io::Result<ServerStream> {
        let socket = if address.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(source) = self.source {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        let stream = socket.connect(address).await?;
        tune(&stream, self.keepalive)?;
        ServerStream::establish(self.tls.as_deref(), address.ip(), stream).await
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
