//! The relay every mode ends in once a client and a server are joined (a TCP session, an
//! upgraded HTTP connection): splice(2) between two cleartext sockets ([`crate::forward`]),
//! buffers through [`crate::tls::relay`] with TLS on either side. The caller sends the bytes
//! still in front of the client's stream ([`super::prefixed`]) first, with its own preamble
//! (a splice reads the socket, not the prefix). When the relay ends, the bytes
//! it moved are handed to the caller's count, for the server and its VIP.

use std::time::Duration;

use super::downstream::ClientStream;
use crate::forward::{Outcome, Transfer, forward};
use crate::sessions::CloseSignal;
use crate::tls::{self, ServerStream};

/// Copies between `client` and `server` until the session ends (see [`crate::forward`] for
/// when it does), then calls `count` with the bytes moved to and from the server.
pub(crate) async fn relay(
    client: &mut ClientStream,
    server: &mut ServerStream,
    idle_limit: Duration,
    closed: &mut CloseSignal,
    count: impl FnOnce(u64, u64),
) -> Outcome {
    debug_assert!(
        !matches!(client, ClientStream::Plain(socket) if !socket.prefix().is_empty()),
        "the client's prefix goes to the server before the relay"
    );
    let outcome = match (client, server) {
        (ClientStream::Plain(client), ServerStream::Plain(server)) => {
            forward(
                client.get_ref(),
                server,
                Transfer::Splice,
                idle_limit,
                closed,
            )
            .await
        }
        // Boxed: a cleartext session's task should not be as large as the buffered relays.
        (ClientStream::Tls(client), server) => {
            Box::pin(tls::relay(&mut **client, server, idle_limit, closed)).await
        }
        (ClientStream::Plain(client), ServerStream::Tls(server)) => {
            Box::pin(tls::relay(client, server, idle_limit, closed)).await
        }
    };
    count(outcome.client_to_server, outcome.server_to_client);
    outcome
}
