//! The client side of a connection, set up the same way for every mode before the mode's own
//! work starts:
//! 1. admission under the VIP and global caps: a slot, or a wait in the bounded queue up to
//!    the queue timeout, else the client is closed (`queue_full`, `queue_timeout`);
//! 2. socket options (`TCP_NODELAY`, `client_keepalive`);
//! 3. from a peer in `accept_proxy_from`, the PROXY header, within the client timeout: its
//!    addresses then stand for the client's everywhere (persistence, forwarding headers, the
//!    PROXY header sent on, logs), and the bytes that came with it are kept in front of the
//!    stream ([`Prefixed`]); a missing or malformed header closes the client
//!    (`bad_proxy_header`);
//! 4. on a VIP with `tls`, the handshake (within the client timeout on `tcp` VIPs, the
//!    request-head timeout on `http` VIPs); a failed one closes the client (`tls_handshake`).
//!
//! Each refusal is counted in the service's counters and logged once, here.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tracing::{debug, warn};

use super::connect::tune;
use super::prefixed::Prefixed;
use crate::access_log::Termination;
use crate::limits::{Refused, Slot};
use crate::pipeline::generation::Shared;
use crate::proxy_header::{self, ClientAddresses};
use crate::stats::Counters;

/// A client connection with TLS terminated.
pub(crate) type TlsClient = TlsStream<Prefixed<TcpStream>>;

/// A client connection ready for its mode.
#[derive(Debug)]
pub(crate) enum ClientStream {
    /// Cleartext: the socket, with what was read ahead of the mode in front.
    Plain(Prefixed<TcpStream>),
    /// TLS terminated: plaintext.
    Tls(Box<TlsClient>),
}

/// A client stream over a TCP socket, which can be watched for the client's going away
/// without reading from the stream.
pub(crate) trait ClientSocket {
    /// The client's socket.
    fn socket(&self) -> &TcpStream;
}

impl ClientSocket for Prefixed<TcpStream> {
    fn socket(&self) -> &TcpStream {
        self.get_ref()
    }
}

impl ClientSocket for TlsClient {
    fn socket(&self) -> &TcpStream {
        self.get_ref().0.get_ref()
    }
}

impl From<Prefixed<TcpStream>> for ClientStream {
    fn from(stream: Prefixed<TcpStream>) -> Self {
        ClientStream::Plain(stream)
    }
}

impl From<TlsClient> for ClientStream {
    fn from(stream: TlsClient) -> Self {
        ClientStream::Tls(Box::new(stream))
    }
}

/// An admitted client, set up.
#[derive(Debug)]
pub(crate) struct Downstream {
    /// Its place under the connection caps, held as long as the connection.
    pub(crate) slot: Slot,
    /// The stream to serve.
    pub(crate) stream: ClientStream,
    /// The client's addresses as servers should see them.
    pub(crate) addresses: ClientAddresses,
}

/// Steps 1 to 4 of the module doc for `socket`, accepted from `peer`: the client set up, or
/// why it was closed.
pub(crate) async fn establish(
    shared: &Shared,
    mut socket: TcpStream,
    peer: SocketAddr,
) -> Result<Downstream, Termination> {
    let settings = &shared.settings;
    let counters = &shared.counters;
    Counters::bump(&counters.accepted);
    let slot = match shared.limits.admit(settings.timeouts.queue).await {
        Ok(slot) => slot,
        Err(refused) => {
            let (counter, termination) = match refused {
                Refused::QueueFull => (&counters.queue_full, Termination::QueueFull),
                Refused::QueueTimeout => (&counters.queue_timeouts, Termination::QueueTimeout),
            };
            Counters::bump(counter);
            debug!(vip = %settings.name, %peer, ?refused, "connection refused by the caps");
            return Err(termination);
        }
    };
    let setup_failed = |what: &str, error: io::Error| {
        debug!(vip = %settings.name, %peer, %error, "{what}");
        Termination::SetupFailed(error.to_string())
    };
    let destination = socket
        .local_addr()
        .map_err(|error| setup_failed("client socket address", error))?;
    tune(&socket, settings.client_keepalive)
        .map_err(|error| setup_failed("client socket options", error))?;
    let mut addresses = ClientAddresses {
        source: peer,
        destination,
    };
    let mut early = Vec::new();
    if settings
        .accept_proxy_from
        .iter()
        .any(|net| net.contains(peer.ip()))
    {
        match proxy_header::receive(&mut socket, addresses, settings.timeouts.client).await {
            Ok(received) => (addresses, early) = (received.addresses, received.data),
            Err(error) => {
                Counters::bump(&counters.bad_proxy_headers);
                warn!(vip = %settings.name, %peer, %error, "bad PROXY header from a trusted peer");
                return Err(Termination::BadProxyHeader);
            }
        }
    }
    let socket = Prefixed::new(&early, socket);
    let stream = match &settings.tls {
        None => ClientStream::Plain(socket),
        Some(terminator) => match terminator.accept(socket).await {
            Ok(session) => ClientStream::from(session),
            Err(error) => {
                Counters::bump(&counters.tls_handshake_failures);
                debug!(vip = %settings.name, %peer, %error, "TLS handshake failed");
                return Err(Termination::SetupFailed(error.to_string()));
            }
        },
    };
    Ok(Downstream {
        slot,
        stream,
        addresses,
    })
}
