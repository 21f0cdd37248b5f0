//! The relay every mode ends in once a client and a server are joined (a TCP session, an
//! upgraded HTTP connection): splice(2) between two cleartext sockets ([`crate::forward`]),
//! buffers through [`crate::tls::relay`] with TLS on either side. The caller sends the bytes
//! still in front of the client's stream ([`super::prefixed`]) first, with its own preamble
//! (a splice reads the socket, not the prefix), and counts the bytes of the outcome for the
//! server and its VIP.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio_util::either::Either;

use super::downstream::ClientStream;
use crate::forward::{Outcome, Transfer, forward};
use crate::sessions::CloseSignal;
use crate::tls::{self, ServerStream};

/// Copies between `client` and `server` until the session ends (see [`crate::forward`] for
/// when it does); the outcome says how many bytes went each way, for the caller to count. Not
/// an `async fn`: a session's task holds the splice future itself, with no frame of the
/// relay's own around it.
pub(crate) fn relay<'a>(
    client: &'a mut ClientStream,
    server: &'a mut ServerStream,
    idle_limit: Duration,
    closed: &'a mut CloseSignal,
) -> impl Future<Output = Outcome> + Send + 'a {
    debug_assert!(
        !matches!(client, ClientStream::Plain(socket) if !socket.prefix().is_empty()),
        "the client's prefix goes to the server before the relay"
    );
    // The buffered relays are boxed: a cleartext session's task should not be as large.
    let buffered: Pin<Box<dyn Future<Output = Outcome> + Send + 'a>> = match (client, server) {
        (ClientStream::Plain(client), ServerStream::Plain(server)) => {
            let splice = forward(
                client.get_ref(),
                server,
                Transfer::Splice,
                idle_limit,
                closed,
            );
            return Either::Left(splice);
        }
        (ClientStream::Tls(client), server) => {
            Box::pin(tls::relay(&mut **client, server, idle_limit, closed))
        }
        (ClientStream::Plain(client), ServerStream::Tls(server)) => {
            Box::pin(tls::relay(client, server, idle_limit, closed))
        }
    };
    Either::Right(buffered)
}
