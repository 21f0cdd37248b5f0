//! Upgraded connections (WebSocket, noVNC consoles): once the server answers 101 and the 101
//! has been passed on, the client and server connections are joined by the pipeline's relay
//! ([`crate::pipeline::relay`]: splice between cleartext sockets, half-close honoured, buffers
//! with TLS on either side) under the tunnel timeout, its bytes counted for the server and the
//! VIP; the server's session signal closes the tunnel (maintenance, down with
//! `shutdown_sessions_on_down`). Bytes either side had sent past the 101 exchange are passed
//! on first. The tunnel counts as a connection open to its server until it ends.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tracing::debug;

use crate::pipeline::ClientStream;
use crate::pipeline::relay::relay;
use crate::pipeline::selection::{ByteTally, OpenConnection};
use crate::sessions::CloseSignal;
use crate::tls::ServerStream;

/// The server side of a tunnel: the connection that answered 101, the bytes read past the
/// 101, and what the tunnel holds and obeys.
#[derive(Debug)]
pub(crate) struct ServerSide {
    pub(crate) stream: ServerStream,
    pub(crate) early: BytesMut,
    pub(crate) idle_limit: Duration,
    pub(crate) closed: CloseSignal,
    pub(crate) open: OpenConnection,
    pub(crate) tally: ByteTally,
}

/// Joins `client` (which sent `client_early` past its upgrade request) and `server` until the
/// tunnel ends.
pub(crate) async fn join(mut client: ClientStream, client_early: BytesMut, server: ServerSide) {
    let ServerSide {
        stream: mut server_stream,
        early: server_early,
        idle_limit,
        mut closed,
        open: _open,
        tally,
    } = server;
    let client_side: &mut (dyn tokio::io::AsyncWrite + Unpin + Send) = match &mut client {
        ClientStream::Plain(socket) => {
            // Read ahead of the HTTP/1 loop, though the loop reads it all before any request.
            let prefix = socket.take_prefix();
            if server_stream.write_all(&prefix).await.is_err() {
                return;
            }
            tally.add(prefix.len() as u64, 0);
            socket
        }
        ClientStream::Tls(session) => &mut **session,
    };
    if server_stream.write_all(&client_early).await.is_err()
        || client_side.write_all(&server_early).await.is_err()
    {
        return;
    }
    tally.add(client_early.len() as u64, server_early.len() as u64);
    let outcome = relay(&mut client, &mut server_stream, idle_limit, &mut closed).await;
    tally.add(outcome.client_to_server, outcome.server_to_client);
    debug!(end = ?outcome.end, up = outcome.client_to_server, down = outcome.server_to_client, "tunnel ended");
}
