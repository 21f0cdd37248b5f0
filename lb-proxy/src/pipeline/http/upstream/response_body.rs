//! A response body read from its server connection as the client takes it, decoded by
//! [`BodyDecoder`]. Once the body has ended, a connection the server keeps open, with nothing
//! read past the body, goes back to the pool.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use super::connection::Connection;
use super::response::Framing;
use super::{PoolKey, Upstreams};
use crate::pipeline::http::BoxError;
use crate::pipeline::http::body_decoder::BodyDecoder;

/// The body of a response, reading its connection.
#[derive(Debug)]
pub(crate) struct ResponseBody {
    connection: Option<Connection>,
    decoder: BodyDecoder,
    /// Where the connection goes once the body has ended, if it can be reused.
    reuse: Option<(Arc<Upstreams>, PoolKey)>,
}

impl ResponseBody {
    /// The body framed by `framing` on `connection`, which goes back to `pool` under `key`
    /// when the body ends, if `keep_alive`.
    pub(crate) fn new(
        connection: Connection,
        framing: Framing,
        keep_alive: bool,
        pool: &Arc<Upstreams>,
        key: PoolKey,
    ) -> Self {
        let decoder = BodyDecoder::new(framing);
        let mut body = ResponseBody {
            connection: Some(connection),
            decoder,
            reuse: keep_alive.then(|| (Arc::clone(pool), key)),
        };
        if decoder.is_done() {
            body.end();
        }
        body
    }

    /// The body has ended: its connection goes back to the pool if it can be reused.
    fn end(&mut self) {
        let connection = self.connection.take();
        if let (Some(connection), Some((pool, key))) = (connection, self.reuse.take()) {
            if connection.read.is_empty() {
                pool.give_back(key, connection);
            }
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let Some(connection) = this.connection.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = ready!(this.decoder.poll_frame(connection, cx));
        if this.decoder.is_done() {
            this.end();
        } else if let Some(Err(_)) = frame {
            // A broken body leaves the connection unusable.
            this.connection = None;
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
