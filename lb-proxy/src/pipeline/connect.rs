//! Connections to servers, and the socket options of both sides of a session.
//!
//! A server connection is made from the VIP's source address when one is set (any port), or
//! from the client's own address with `source = "client"` ([`super::transparent`]), with
//! `TCP_NODELAY` (the proxy adds no delay of its own) and keep-alive when configured, then
//! with the TLS handshake when the VIP has `server_tls`; the whole, handshake included, within
//! the connect timeout. Client connections get the same socket options on accept.
//!
//! Defaults: no source address (the system's choice), no keep-alive (see
//! [`lb_core::model::KeepAlive`] for the probe timings when it is on), no TLS.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use lb_core::model::{KeepAlive, Source, Vip};
use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpSocket, TcpStream};

use super::transparent;
use crate::Error;
use crate::tls::{Originator, ServerStream};

/// How a VIP connects to its servers.
#[derive(Debug, Clone)]
pub(crate) struct Dialer {
    /// Where connections come from (`None`: the system's choice).
    pub(crate) source: Option<Source>,
    /// Longest wait for the connection to be established.
    pub(crate) timeout: Duration,
    /// Keep-alive on server connections.
    pub(crate) keepalive: Option<KeepAlive>,
    /// TLS to the servers (`server_tls`).
    pub(crate) tls: Option<Arc<Originator>>,
}

impl Dialer {
    /// The dialer of `vip`; fails, naming the VIP, when its `server_tls` files cannot be
    /// loaded or, with `source = "client"`, when the transparent option cannot be set.
    pub(crate) fn new(vip: &Vip) -> Result<Self, Error> {
        transparent::probe(vip)?;
        Ok(Dialer {
            source: vip.source,
            timeout: vip.timeouts.connect,
            keepalive: vip.server_keepalive,
            tls: Originator::new(vip)?,
        })
    }

    /// Whether connections come from the client's address (`source = "client"`).
    pub(crate) fn is_transparent(&self) -> bool {
        self.source == Some(Source::Client)
    }

    /// Whether a connection for a client at `client` can be made to `server` at all (with
    /// `source = "client"`, both must be of one family; see [`transparent::reachable`]).
    pub(crate) fn reachable(&self, client: IpAddr, server: SocketAddr) -> io::Result<()> {
        match self.is_transparent() {
            true => transparent::reachable(client, server),
            false => Ok(()),
        }
    }

    /// A connection to `address` for a client at `client`, or why there is none (a timeout
    /// is `TimedOut`, with the routing hint when the source is the client's address and the
    /// TCP handshake itself timed out; a refused certificate names rustls' reason).
    pub(crate) async fn connect(
        &self,
        address: SocketAddr,
        client: IpAddr,
    ) -> io::Result<ServerStream> {
        let mut answered = false;
        let establish = self.establish(address, client, &mut answered);
        match tokio::time::timeout(self.timeout, establish).await {
            Ok(connected) => connected,
            Err(_) if self.is_transparent() && !answered => {
                Err(transparent::missing_route(client, address, self.timeout))
            }
            Err(_) => Err(io::Error::from(io::ErrorKind::TimedOut)),
        }
    }

    /// Connects, then sets the socket options and shakes hands; `answered` is set once the
    /// server has answered the TCP handshake.
    async fn establish(
        &self,
        address: SocketAddr,
        client: IpAddr,
        answered: &mut bool,
    ) -> io::Result<ServerStream> {
        let socket = if address.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        match self.source {
            None => {}
            Some(Source::Address(source)) => socket.bind(SocketAddr::new(source, 0))?,
            Some(Source::Client) => transparent::bind(&socket, client, address)?,
        }
        let stream = socket.connect(address).await?;
        *answered = true;
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
