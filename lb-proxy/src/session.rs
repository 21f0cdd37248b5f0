//! One client connection, from accept to close.
//!
//! Lifecycle:
//! 1. admission under the VIP and global caps (waits in the bounded queue up to the queue
//!    timeout, else the client is closed);
//! 2. from a trusted peer (`accept_proxy_from`), the PROXY header, within the client timeout;
//! 3. a server: persistence, then the scheduler; a failed connect (refused, unreachable, over
//!    the connect timeout, or a failed TLS handshake with `server_tls`) is retried on another
//!    server not tried yet, up to `retries` times; when none is left the client is closed
//!    without a byte;
//! 4. the preamble to the server: the PROXY header (`send_proxy`) and any client data read
//!    with the client's own header;
//! 5. forwarding until the session ends (see [`crate::forward`], or [`crate::tls::relay`]
//!    with TLS on either side); the server's session registry can close it from outside;
//! 6. counters and the access log line (see [`crate::access_log`]). Stopping the service
//!    ends a session at whatever step it is.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::{debug, warn};

use crate::access_log::{TcpAccess, Termination};
use crate::connect::tune;
use crate::forward::{End, Transfer, forward};
use crate::limits::{Refused, Slot};
use crate::proxy_header::{self, ClientAddresses};
use crate::selection::{OpenConnection, Selection, Target};
use crate::service::Shared;
use crate::sessions::CloseSignal;
use crate::stats::Counters;
use crate::tls::{self, ClientStream, ServerStream};

/// Serves `client`, accepted from `peer`, until it is done or the service stops.
pub(crate) async fn serve(shared: Arc<Shared>, client: TcpStream, peer: SocketAddr) {
    // Boxed: the steps before forwarding take more room than forwarding itself, and an idle
    // session should only hold what forwarding needs.
    let mut access = TcpAccess::accepted(peer);
    let setup = Box::pin(async {
        let mut stopped = shared.sessions.subscribe_all();
        tokio::select! {
            established = establish(&shared, client, peer, &mut access) => established,
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
    let (idle_limit, closed) = (settings.idle_limit, &mut connected.closed);
    // The relays are boxed: a plain TCP session's task should not be as large as they are.
    let outcome = match (&mut session.client, &mut connected.server) {
        (ClientStream::Plain(client), ServerStream::Plain(server)) => {
            forward(client, server, Transfer::Splice, idle_limit, closed).await
        }
        (ClientStream::Tls(client), server) => {
            Box::pin(tls::relay(client, server, idle_limit, closed)).await
        }
        (ClientStream::Plain(client), ServerStream::Tls(server)) => {
            Box::pin(tls::relay(client, server, idle_limit, closed)).await
        }
    };
    counters
        .client_to_server_bytes
        .fetch_add(outcome.client_to_server, Ordering::Relaxed);
    counters
        .server_to_client_bytes
        .fetch_add(outcome.server_to_client, Ordering::Relaxed);
    connected
        .open
        .transferred(outcome.client_to_server, outcome.server_to_client);
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

/// A session ready to forward, and what lives as long as it.
struct Established {
    _slot: Slot,
    client: ClientStream,
    connected: Connected,
}

/// Steps 1 to 4: `None` when the client was closed on the way (`access` says why).
async fn establish(
    shared: &Shared,
    mut client: TcpStream,
    peer: SocketAddr,
    access: &mut TcpAccess,
) -> Option<Established> {
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
            access.termination = Some(termination);
            debug!(vip = %settings.name, %peer, ?refused, "connection refused by the caps");
            return None;
        }
    };
    let mut addresses = ClientAddresses {
        source: peer,
        destination: client.local_addr().ok()?,
    };
    let mut client_data = Vec::new();
    if settings
        .accept_proxy_from
        .iter()
        .any(|net| net.contains(peer.ip()))
    {
        match proxy_header::receive(&mut client, addresses, settings.timeouts.client).await {
            Ok(received) => {
                addresses = received.addresses;
                access.client = addresses.source;
                client_data = received.data;
            }
            Err(error) => {
                Counters::bump(&counters.bad_proxy_headers);
                access.termination = Some(Termination::BadProxyHeader);
                warn!(vip = %settings.name, %peer, %error, "bad PROXY header from a trusted peer");
                return None;
            }
        }
    }
    if let Err(error) = tune(&client, settings.client_keepalive) {
        debug!(vip = %settings.name, %peer, %error, "client socket options");
        access.termination = Some(Termination::SetupFailed(error.to_string()));
        return None;
    }
    let terminator = settings.tls.as_ref();
    let (client, client_data) = match ClientStream::establish(terminator, client, client_data).await
    {
        Ok(established) => established,
        Err(error) => {
            Counters::bump(&counters.tls_handshake_failures);
            debug!(vip = %settings.name, %peer, %error, "TLS handshake failed");
            access.termination = Some(Termination::SetupFailed(error.to_string()));
            return None;
        }
    };
    let Some(mut connected) = connect(shared, addresses).await else {
        Counters::bump(&counters.no_server);
        access.termination = Some(Termination::NoServer);
        warn!(vip = %settings.name, client = %addresses.source, "no server could take the connection");
        return None;
    };
    Counters::bump(&counters.established);
    access.connected(shared.server_name(&connected.target));
    let mut preamble = settings
        .send_proxy
        .map(|version| proxy_header::header_for(version, addresses))
        .unwrap_or_default();
    preamble.extend_from_slice(&client_data);
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
    open: OpenConnection,
    closed: CloseSignal,
}

/// Tries servers until one accepts, at most `retries + 1` of them.
async fn connect(shared: &Shared, addresses: ClientAddresses) -> Option<Connected> {
    let settings = &shared.settings;
    let mut selection = Selection::new(
        shared.pool.load_full(),
        &shared.stick,
        addresses.source.ip(),
        shared.now(),
    );
    for attempt in 0..=settings.retries {
        let target = selection.next()?;
        let closed = shared.sessions.subscribe(target.id);
        match settings.dialer.connect(target.address).await {
            Ok(server) => {
                if let Some(observer) = &shared.observer {
                    observer.succeeded(target.id);
                }
                let open = selection.connected(&target);
                return Some(Connected {
                    server,
                    target,
                    open,
                    closed,
                });
            }
            Err(error) => {
                Counters::bump(&shared.counters.connect_failures);
                if let Some(observer) = &shared.observer {
                    observer.failed(target.id, &error);
                }
                warn!(
                    vip = %settings.name,
                    server = %shared.server_name(&target),
                    address = %target.address,
                    attempt,
                    %error,
                    "connect failed"
                );
            }
        }
    }
    None
}
