//! The client side of a `tcp` session: the accepted socket, or the TLS session over it when
//! the VIP terminates TLS.

use std::io;

use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::{Rewind, Terminator};

/// A client connection ready to forward.
#[derive(Debug)]
pub(crate) enum ClientStream {
    /// Cleartext: forwarded with splice.
    Plain(TcpStream),
    /// TLS terminated: plaintext forwarded through buffers.
    Tls(Box<TlsStream<Rewind<TcpStream>>>),
}

impl ClientStream {
    /// Terminates TLS on `client` when `terminator` is set, `early` being bytes already read
    /// from it (with a PROXY header); answers the stream and the early bytes still to forward.
    pub(crate) async fn establish(
        terminator: Option<&Terminator>,
        client: TcpStream,
        early: Vec<u8>,
    ) -> io::Result<(ClientStream, Vec<u8>)> {
        match terminator {
            None => Ok((ClientStream::Plain(client), early)),
            Some(terminator) => {
                let session = terminator.accept(Rewind::new(early, client)).await?;
                Ok((ClientStream::Tls(Box::new(session)), Vec::new()))
            }
        }
    }
}
