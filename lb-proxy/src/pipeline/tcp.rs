//! TCP mode: one client connection, set up ([`super::downstream`]), joined to one server and
//! relayed until it ends. An idle session's task holds only what the relay needs: the setup
//! runs in a future of its own, freed once the session is established.
//!
//! After the client side is set up:
//! 1. a server ([`super::upstream`]): a failed connect (refused, unreachable, over the connect
//!    timeout, or a failed TLS handshake with `server_tls`) is retried on another server not
//!    tried yet, up to `retries` times; when none is left the client is closed without a byte;
//! 2. the preamble to the server, in one write: the PROXY header (`send_proxy`) and any client
//!    data read with the client's own header;
//! 3. the relay ([`super::relay`]) until the session ends; the server's session registry can
//!    close it from outside;
//! 4. counters and the access log line (see [`crate::access_log`]). Stopping the service ends
//!    a session at whatever step it is.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::{debug, warn};

use super::downstream::{self, ClientStream, Downstream};
use super::relay::relay;
use super::selection::{OpenConnection, Target};
use super::upstream::Attempts;
use crate::access_log::{TcpAccess, Termination};
use crate::forward::End;
use crate::limits::Slot;
use crate::pipeline::generation::Shared;
use crate::proxy_header::{self, ClientAddresses};
use crate::sessions::CloseSignal;
use crate::stats::Counters;
use crate::tls::ServerStream;

/// Serves `socket`, accepted from `peer`, until it is done or the service stops.
pub(crate) async fn serve(shared: Arc<Shared>, socket: TcpStream, peer: SocketAddr) {
    let mut access = TcpAccess::accepted(peer);
    // Boxed: setting up takes more room than relaying, and an idle session should only hold
    // what the relay needs.
    let setup = Box::pin(async {
        let mut stopped = shared.sessions.subscribe_all();
        tokio::select! {
            established = establish(&shared, socket, peer, &mut access) => established,
            () = stopped.closed() => None,
        }
    });
    let Some(mut session) = setup.await else {
        access.write(&shared.settings.name);
        return;
    };
    // Subscribed to its server before connecting: a stop from now on reaches it there.
    if shared.sessions.all_closed() {
        access.termination = Some(Termination::Closed);
        access.write(&shared.settings.name);
        return;
    }
    let settings = &shared.settings;
    let counters = &shared.counters;
    let connected = &mut session.connected;
    let outcome = relay(
        &mut session.client,
        &mut connected.server,
        settings.idle_limit,
        &mut connected.closed,
    )
    .await;
    let (up, down) = (outcome.client_to_server, outcome.server_to_client);
    connected.target.count(counters, up, down);
    access.bytes_in = outcome.client_to_server;
    access.bytes_out = outcome.server_to_client;
    access.termination = Some(match outcome.end {
        End::Finished => Termination::Finished,
        End::Idle => {
            Counters::bump(&counters.idle_timeouts);
            Termination::Idle
        }
        End::Closed => {
            Counters::bump(&counters.closed_by_admin);
            Termination::Closed
        }
        End::Failed(error) => {
            let server = shared.server_name(&connected.target);
            debug!(vip = %settings.name, %server, %error, "session failed");
            Termination::Failed(error.to_string())
        }
    });
    access.write(&settings.name);
}

/// A session ready to relay, and what lives as long as it.
struct Established {
    _slot: Slot,
    client: ClientStream,
    connected: Connected,
}

/// The client side, then steps 1 and 2: `None` when the client was closed on the way
/// (`access` says why).
async fn establish(
    shared: &Shared,
    socket: TcpStream,
    peer: SocketAddr,
    access: &mut TcpAccess,
) -> Option<Established> {
    let settings = &shared.settings;
    let Downstream {
        slot,
        stream: mut client,
        addresses,
    } = match downstream::establish(shared, socket, peer).await {
        Ok(downstream) => downstream,
        Err(termination) => {
            access.termination = Some(termination);
            return None;
        }
    };
    access.client = addresses.source;
    let Some(mut connected) = connect(shared, addresses).await else {
        Counters::bump(&shared.counters.no_server);
        access.termination = Some(Termination::NoServer);
        warn!(vip = %settings.name, client = %addresses.source, "no server could take the connection");
        return None;
    };
    access.connected(shared.server_name(&connected.target));
    let mut preamble = settings
        .send_proxy
        .map(|version| proxy_header::header_for(version, addresses))
        .unwrap_or_default();
    if let ClientStream::Plain(socket) = &mut client {
        // Sent with the header, in one write, rather than by the relay.
        preamble.extend_from_slice(&socket.take_prefix());
    }
    if !preamble.is_empty() {
        if let Err(error) = connected.server.write_all(&preamble).await {
            let server = shared.server_name(&connected.target);
            debug!(vip = %settings.name, %server, %error, "preamble");
            access.termination = Some(Termination::SetupFailed(error.to_string()));
            return None;
        }
    }
    Some(Established {
        _slot: slot,
        client,
        connected,
    })
}

/// A server connection and what lives as long as it.
struct Connected {
    server: ServerStream,
    target: Target,
    _open: OpenConnection,
    closed: CloseSignal,
}

/// Tries servers until one accepts, at most `retries + 1` of them.
async fn connect(shared: &Shared, addresses: ClientAddresses) -> Option<Connected> {
    let mut attempts = Attempts::new(shared, shared.pool.load_full(), addresses.source.ip());
    while let Some(target) = attempts.next() {
        let closed = shared.sessions.subscribe(target.id);
        match attempts.connect(&target).await {
            Ok(server) => {
                return Some(Connected {
                    server,
                    _open: attempts.connected(&target),
                    target,
                    closed,
                });
            }
            Err(error) => attempts.failed(&target, &error),
        }
    }
    None
}
