//! Upgraded connections (WebSocket, noVNC consoles): once the server answers 101, the client
//! and server sockets are joined and bytes are copied both ways by the TCP forwarding engine
//! ([`crate::forward`]: splice, half-close honoured), or through buffers with TLS on either
//! side ([`crate::tls::relay`]), under the tunnel timeout; the server's
//! session signal closes the tunnel (maintenance, down with `shutdown_sessions_on_down`).
//! Bytes either side had sent past the 101 exchange are passed on first. The tunnel counts as
//! a connection open to its server until it ends.

use std::time::Duration;

use bytes::BytesMut;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::debug;

use super::TlsClient;
use super::io::{ClientIo, SharedSocket};
use crate::forward::{Transfer, forward};
use crate::selection::OpenConnection;
use crate::sessions::CloseSignal;
use crate::tls::{self, ServerStream};

/// Joins the two sides of an accepted upgrade until the tunnel ends.
pub(crate) async fn tunnel(
    client: OnUpgrade,
    (mut server_stream, server_early): (ServerStream, BytesMut),
    idle_limit: Duration,
    mut closed: CloseSignal,
    _open: OpenConnection,
) {
    let Ok(client) = client.await else {
        debug!("upgrade abandoned before the tunnel was set up");
        return;
    };
    let outcome = match take::<ClientIo<SharedSocket>>(client) {
        Ok((client_io, client_early)) => {
            let mut client_socket = client_io.into_stream();
            if server_stream.write_all(&client_early).await.is_err()
                || write_all(&client_socket.0, &server_early).await.is_err()
            {
                return;
            }
            match &mut server_stream {
                ServerStream::Plain(server) => {
                    forward(
                        &client_socket.0,
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
        Err(client) => {
            let Ok((client_io, client_early)) = take::<ClientIo<TlsClient>>(client) else {
                debug!("upgraded client connection of an unexpected kind");
                return;
            };
            let mut client_stream = client_io.into_stream();
            if server_stream.write_all(&client_early).await.is_err()
                || client_stream.write_all(&server_early).await.is_err()
            {
                return;
            }
            tls::relay(
                &mut client_stream,
                &mut server_stream,
                idle_limit,
                &mut closed,
            )
            .await
        }
    };
    debug!(end = ?outcome.end, up = outcome.client_to_server, down = outcome.server_to_client, "tunnel ended");
}

/// The stream under an upgraded connection and the bytes read past the upgrade.
fn take<T>(upgraded: Upgraded) -> Result<(T, bytes::Bytes), Upgraded>
where
    TokioIo<T>: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
{
    let parts = upgraded.downcast::<TokioIo<T>>()?;
    Ok((parts.io.into_inner(), parts.read_buf))
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
