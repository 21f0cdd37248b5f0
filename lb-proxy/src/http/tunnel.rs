//! Upgraded connections (WebSocket, noVNC consoles): once the server answers 101 and the 101
//! has been passed on, the client and server connections are joined and bytes are copied
//! both ways by the TCP forwarding engine ([`crate::forward`]: splice, half-close honoured),
//! or through buffers with TLS on either side ([`crate::tls::relay`]), under the tunnel
//! timeout; the server's session signal closes the tunnel (maintenance, down with
//! `shutdown_sessions_on_down`). Bytes either side had sent past the 101 exchange are passed
//! on first. The tunnel counts as a connection open to its server until it ends.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::debug;

use super::TlsClient;
use crate::forward::{Transfer, forward};
use crate::selection::OpenConnection;
use crate::sessions::CloseSignal;
use crate::tls::{self, ServerStream};

/// The server side of a tunnel: the connection that answered 101, the bytes read past the
/// 101, and what the tunnel holds and obeys.
#[derive(Debug)]
pub(crate) struct ServerSide {
    pub(crate) stream: ServerStream,
    pub(crate) early: BytesMut,
    pub(crate) idle_limit: Duration,
    pub(crate) closed: CloseSignal,
    pub(crate) open: OpenConnection,
}

/// The client side of a tunnel.
pub(crate) enum ClientEnd {
    /// A cleartext socket: spliced to a cleartext server.
    Plain(TcpStream),
    /// A TLS session.
    Tls(Box<TlsClient>),
}

/// A client stream that can be one end of a tunnel.
pub(crate) trait TunnelEnd {
    /// The stream as a tunnel end.
    fn into_end(self) -> ClientEnd;
}

impl TunnelEnd for TcpStream {
    fn into_end(self) -> ClientEnd {
        ClientEnd::Plain(self)
    }
}

impl TunnelEnd for TlsClient {
    fn into_end(self) -> ClientEnd {
        ClientEnd::Tls(Box::new(self))
    }
}

/// Joins `client` (which sent `client_early` past its upgrade request) and `server` until the
/// tunnel ends.
pub(crate) async fn join(client: ClientEnd, client_early: BytesMut, server: ServerSide) {
    let ServerSide {
        stream: mut server_stream,
        early: server_early,
        idle_limit,
        mut closed,
        open: _open,
    } = server;
    if server_stream.write_all(&client_early).await.is_err() {
        return;
    }
    let outcome = match client {
        ClientEnd::Plain(mut client_socket) => {
            if client_socket.write_all(&server_early).await.is_err() {
                return;
            }
            match &mut server_stream {
                ServerStream::Plain(server) => {
                    forward(
                        &client_socket,
                        server,
                        Transfer::Splice,
                        idle_limit,
                        &mut closed,
                    )
                    .await
                }
                ServerStream::Tls(server) => {
                    tls::relay(&mut client_socket, server, idle_limit, &mut closed).await
                }
            }
        }
        ClientEnd::Tls(mut client_stream) => {
            let client_stream = &mut *client_stream;
            if client_stream.write_all(&server_early).await.is_err() {
                return;
            }
            tls::relay(client_stream, &mut server_stream, idle_limit, &mut closed).await
        }
    };
    debug!(end = ?outcome.end, up = outcome.client_to_server, down = outcome.server_to_client, "tunnel ended");
}
