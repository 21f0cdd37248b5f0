//! The PROXY protocol on the wire: reading a trusted client's header, and writing the header
//! that tells a server who the client is. The codec itself is [`lb_core::proxy_protocol`].
//!
//! A client whose address is in the VIP's `accept_proxy_from` must send a v1 or v2 header
//! first, within the client timeout; anything else closes it. Bytes read past the header are
//! the client's data: the connection pipeline keeps them in front of the stream (see
//! `pipeline::prefixed`). Reads are bounded by the longest header accepted ([`V2_MAX_LENGTH`]).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use lb_core::model::ProxyVersion;
use lb_core::proxy_protocol::{self, Decoded, Header, V2_MAX_LENGTH};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Bytes asked of the client per read while its header is incomplete.
const READ_CHUNK: usize = 256;

/// The addresses of a client connection, as the server should see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddresses {
    /// The client's address.
    pub(crate) source: SocketAddr,
    /// The address it connected to.
    pub(crate) destination: SocketAddr,
}

/// A trusted client's header, and the data that arrived with it.
#[derive(Debug)]
pub(crate) struct Received {
    /// The addresses to use from now on.
    pub(crate) addresses: ClientAddresses,
    /// Client data read past the header.
    pub(crate) data: Vec<u8>,
}

/// Reads the header a trusted client must start with; `connection` stands when the header
/// carries no address (`LOCAL`, `UNKNOWN`).
pub(crate) async fn receive(
    client: &mut TcpStream,
    connection: ClientAddresses,
    timeout: Duration,
) -> io::Result<Received> {
    let read = async {
        let mut input = Vec::with_capacity(READ_CHUNK);
        loop {
            match proxy_protocol::decode(&input) {
                Ok(Decoded::Complete { header, length }) => {
                    input.drain(..length);
                    return Ok(Received {
                        addresses: addresses(header, connection),
                        data: input,
                    });
                }
                Ok(Decoded::NeedMore) => {
                    debug_assert!(input.len() < V2_MAX_LENGTH, "the codec bounds headers");
                    let start = input.len();
                    input.resize(V2_MAX_LENGTH.min(start + READ_CHUNK), 0);
                    let read = client.read(&mut input[start..]).await?;
                    input.truncate(start + read);
                    if read == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error)),
            }
        }
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
}

/// The addresses a received header names; `connection` when it names none.
fn addresses(header: Header, connection: ClientAddresses) -> ClientAddresses {
    match header {
        Header::Proxied {
            source,
            destination,
        } => ClientAddresses {
            source,
            destination,
        },
        Header::Local => connection,
    }
}

/// The header of `version` for a client with `addresses`.
pub(crate) fn header_for(version: ProxyVersion, addresses: ClientAddresses) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    proxy_protocol::encode(
        version,
        &Header::Proxied {
            source: addresses.source,
            destination: addresses.destination,
        },
        &mut out,
    );
    out
}
