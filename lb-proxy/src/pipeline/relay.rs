//! The relay every mode ends in once a client and a server are joined (a TCP session, an
//! upgraded HTTP connection): splice(2) between two cleartext sockets ([`crate::forward`]),
//! buffers through [`crate::tls::relay`] with TLS on either side. Bytes still in front of the
//! client's stream ([`super::prefixed`]) go to the server first. When the relay ends, the bytes
//! it moved are counted for the server and its VIP ([`ByteTally`]).

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::downstream::ClientStream;
use super::selection::ByteTally;
use crate::forward::{End, Outcome, Transfer, forward};
use crate::sessions::CloseSignal;
use crate::tls::{self, ServerStream};

/// Copies between `client` and `server` until the session ends (see [`crate::forward`] for
/// when it does), then counts its bytes in `tally`.
pub(crate) async fn relay(
    client: &mut ClientStream,
    server: &mut ServerStream,
    idle_limit: Duration,
    closed: &mut CloseSignal,
    tally: &ByteTally,
) -> Outcome {
    let outcome = match (client, server) {
        (ClientStream::Plain(client), ServerStream::Plain(server)) => {
            let early = client.prefix().len() as u64;
            if early > 0 {
                if let Err(error) = server.write_all(client.prefix()).await {
                    return failed(error);
                }
            }
            let mut outcome = forward(
                client.get_ref(),
                server,
                Transfer::Splice,
                idle_limit,
                closed,
            )
            .await;
            outcome.client_to_server += early;
            outcome
        }
        // Boxed: a cleartext session's task should not be as large as the buffered relays.
        (ClientStream::Tls(client), server) => {
            Box::pin(tls::relay(&mut **client, server, idle_limit, closed)).await
        }
        (ClientStream::Plain(client), ServerStream::Tls(server)) => {
            Box::pin(tls::relay(client, server, idle_limit, closed)).await
        }
    };
    tally.add(outcome.client_to_server, outcome.server_to_client);
    outcome
}

/// The outcome of a relay that failed before moving anything.
fn failed(error: std::io::Error) -> Outcome {
    Outcome {
        end: End::Failed(error),
        client_to_server: 0,
        server_to_client: 0,
    }
}
