//! The server side of a session: the connected socket, or the TLS session over it when the VIP
//! has `server_tls` (see [`super::Originator`]). Reads and writes go to whichever it is,
//! vectored writes included (hyper's HTTP/1 client uses them).

use std::io::{self, IoSlice};
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::Originator;

/// A server connection ready to carry traffic.
#[derive(Debug)]
pub(crate) enum ServerStream {
    /// Cleartext: forwarded with splice when the client side is cleartext too.
    Plain(TcpStream),
    /// TLS to the server: plaintext forwarded through buffers.
    Tls(Box<TlsStream<TcpStream>>),
}

impl ServerStream {
    /// `stream`, connected to the server at `server`, with TLS when `originator` is set (the
    /// handshake is done here; the caller bounds the wait).
    pub(crate) async fn establish(
        originator: Option<&Originator>,
        server: IpAddr,
        stream: TcpStream,
    ) -> io::Result<ServerStream> {
        match originator {
            None => Ok(ServerStream::Plain(stream)),
            Some(originator) => {
                let session = originator.handshake(server, stream).await?;
                Ok(ServerStream::Tls(Box::new(session)))
            }
        }
    }

    /// Whether nothing has arrived since the last read (on an idle connection, nothing but
    /// the server's close may). Costs no system call unless the socket is readable. In
    /// cleartext it registers no waker; a TLS session can only tell by a read, polled with a
    /// waker that does nothing.
    pub(crate) fn is_quiet(&mut self) -> bool {
        match self {
            ServerStream::Plain(stream) => stream
                .try_read(&mut [0; 1])
                .is_err_and(|error| error.kind() == io::ErrorKind::WouldBlock),
            ServerStream::Tls(stream) => {
                let mut cx = Context::from_waker(Waker::noop());
                let mut probe = [0; 1];
                let mut probe = ReadBuf::new(&mut probe);
                Pin::new(stream).poll_read(&mut cx, &mut probe).is_pending()
            }
        }
    }
}

impl AsyncRead for ServerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            ServerStream::Tls(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Plain(stream) => Pin::new(stream).poll_write(cx, bytes),
            ServerStream::Tls(stream) => Pin::new(stream).poll_write(cx, bytes),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        slices: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, slices),
            ServerStream::Tls(stream) => Pin::new(stream).poll_write_vectored(cx, slices),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ServerStream::Plain(stream) => stream.is_write_vectored(),
            ServerStream::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            ServerStream::Tls(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            ServerStream::Tls(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}
