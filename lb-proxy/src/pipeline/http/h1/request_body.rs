//! A request body read from the client connection as the server takes it, decoded by
//! [`BodyDecoder`]. The body holds the connection while it is read and gives it back (to
//! [`Home`]) when it ends or is dropped, saying whether it was read whole: a connection whose
//! request body was left unread cannot carry another request. A client that asked for
//! `100 Continue` gets it when the body is first wanted.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite};

use super::Conn;
use crate::pipeline::http::BoxError;
use crate::pipeline::http::body_decoder::{BodyDecoder, Framing};

/// Where a request body puts the connection back, with whether it was read whole.
pub(crate) type Home<S> = Arc<Mutex<Option<(Conn<S>, bool)>>>;

/// The interim response a client waiting with `Expect: 100-continue` gets.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The body of a request, reading its client connection.
pub(crate) struct RequestBody<S> {
    conn: Option<Conn<S>>,
    decoder: BodyDecoder,
    /// How much of `100 Continue` is written, while it is due.
    interim: Option<usize>,
    home: Home<S>,
}

impl<S> RequestBody<S> {
    /// The body framed by `framing` on `conn`, which goes back to `home` at its end.
    pub(crate) fn new(
        conn: Conn<S>,
        framing: Framing,
        expects_continue: bool,
        home: Home<S>,
    ) -> Self {
        RequestBody {
            conn: Some(conn),
            decoder: BodyDecoder::new(framing),
            interim: expects_continue.then_some(0),
            home,
        }
    }

    fn give_back(&mut self) {
        if let Some(conn) = self.conn.take() {
            let whole = self.decoder.is_done();
            *self.home.lock().unwrap_or_else(|p| p.into_inner()) = Some((conn, whole));
        }
    }
}

impl<S> Drop for RequestBody<S> {
    fn drop(&mut self) {
        self.give_back();
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Body for RequestBody<S> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let Some(conn) = this.conn.as_mut() else {
            return Poll::Ready(None);
        };
        if let Some(written) = &mut this.interim {
            while *written < CONTINUE.len() {
                match ready!(Pin::new(&mut conn.io).poll_write(cx, &CONTINUE[*written..])) {
                    Ok(0) => return Poll::Ready(Some(Err("the client stopped reading".into()))),
                    Ok(count) => *written += count,
                    Err(error) => return Poll::Ready(Some(Err(error.into()))),
                }
            }
            if let Err(error) = ready!(Pin::new(&mut conn.io).poll_flush(cx)) {
                return Poll::Ready(Some(Err(error.into())));
            }
            this.interim = None;
        }
        let frame = ready!(this.decoder.poll_frame(conn, cx));
        if this.decoder.is_done() {
            this.give_back();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.decoder.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        self.decoder.size_hint()
    }
}
