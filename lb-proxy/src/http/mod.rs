//! HTTP mode: HTTP/1.1 reverse proxying on hyper, with a keep-alive pool to servers.
//!
//! Per client connection ([`serve`]): admission under the caps (as in TCP mode), then hyper's
//! HTTP/1.1 server over a [guarded](guard) socket ([`io`]) so that malformed or ambiguous
//! requests are refused before anything is forwarded. Per request ([`proxy`]): persistence
//! (cookie, source-ip, last-successful) then the scheduler pick a server, with retries while
//! nothing was sent; forwarding headers ([`forwarded`]); bodies streamed both ways ([`body`]);
//! server connections kept alive ([`upstream`]); the proxy's own responses ([`reply`]).
//!
//! Defaults: a client has `timeouts.http_request` (10 s) to send each request head, which is
//! also how long an idle keep-alive connection stays open; a body (either way) fails after
//! the client or server timeout without a frame; a write to a client fails after it has
//! stalled for the client timeout; heads up to 32 KiB and 100 fields ([`guard`]).
//!
//! Lifecycle: accept → admission → requests until the client closes, a timeout, a refusal
//! (the error response is written, the socket shut down and drained for a second so that the
//! client reads it) or the service stopping.

mod body;
mod cookie;
mod forwarded;
pub(crate) mod guard;
mod io;
mod proxy;
mod reply;
mod tunnel;
mod headers;
mod upstream;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use lb_core::model::{Network, Vip};
use tokio::net::TcpStream;
use tracing::{debug, warn};

use crate::connect::tune;
use crate::limits::Refused;
use crate::service::Shared;
use crate::stats::Counters;
use cookie::CookiePersistence;
use guard::{GuardLimits, RequestGuard};
use io::ClientIo;
use proxy::Client;
use upstream::{IDLE_LIMIT, MAX_IDLE_PER_SERVER, Upstreams};

/// Errors of relayed bodies.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of every request and response the proxy sends.
pub(crate) type ProxyBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// How long a refused client's socket is drained before it is closed.
const LINGER: Duration = Duration::from_secs(1);

/// What the connections of one `http` VIP share.
#[derive(Debug)]
pub(crate) struct HttpVip {
    guard: GuardLimits,
    cookie: Option<CookiePersistence>,
    trusted_forwarders: Vec<Network>,
    upstreams: Arc<Upstreams>,
}

impl HttpVip {
    /// The HTTP state of `vip`.
    pub(crate) fn new(vip: &Vip) -> Self {
        HttpVip {
            guard: GuardLimits::default(),
            cookie: CookiePersistence::new(vip),
            trusted_forwarders: vip.http.trusted_forwarders.clone(),
            upstreams: Arc::new(Upstreams::new(
                MAX_IDLE_PER_SERVER,
                IDLE_LIMIT.min(vip.timeouts.server),
            )),
        }
    }
}

/// Serves HTTP on `client`, accepted from `peer`, until it is done or the service stops.
pub(crate) async fn serve(shared: Arc<Shared>, client: TcpStream, peer: SocketAddr) {
    let Some(vip) = shared.settings.http.clone() else {
        debug_assert!(false, "an http connection on a VIP without HTTP state");
        return;
    };
    let settings = &shared.settings;
    let counters = &shared.counters;
    Counters::bump(&counters.accepted);
    let _slot = match shared.limits.admit(settings.timeouts.queue).await {
        Ok(slot) => slot,
        Err(refused) => {
            Counters::bump(match refused {
                Refused::QueueFull => &counters.queue_full,
                Refused::QueueTimeout => &counters.queue_timeouts,
            });
            debug!(vip = %settings.name, %peer, ?refused, "connection refused by the caps");
            return;
        }
    };
    let Ok(local) = client.local_addr() else {
        return;
    };
    if let Err(error) = tune(&client, settings.client_keepalive) {
        debug!(vip = %settings.name, %peer, %error, "client socket options");
        return;
    }
    let stream = Arc::new(client);
    let refused = Arc::new(OnceLock::new());
    let io = ClientIo::new(
        Arc::clone(&stream),
        RequestGuard::new(vip.guard),
        Arc::clone(&refused),
        settings.timeouts.client,
    );
    let trusted = vip.trusted_forwarders.iter().any(|n| n.contains(peer.ip()));
    let client = Arc::new(Client::new(Arc::clone(&shared), vip, peer, local, trusted));
    let service = service_fn(move |request| {
        let client = Arc::clone(&client);
        async move { Ok::<_, Infallible>(client.handle(request).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.timeouts.http_request)
        .max_headers(GuardLimits::default().max_fields)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut stopped = shared.sessions.subscribe_all();
    tokio::select! {
        served = connection => if let Err(error) = served {
            debug!(vip = %settings.name, %peer, %error, "client connection ended");
        },
        () = stopped.closed() => Counters::bump(&counters.closed_by_admin),
    }
    if let Some(violation) = refused.get() {
        warn!(vip = %settings.name, %peer, status = violation.status(), reason = violation.reason(), "request refused");
        linger(&stream).await;
    }
}

/// Shuts the write side and drains what the client still sends for a moment, so that closing
/// does not reset the connection before the client has read the refusal.
async fn linger(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write);
    let drain = async {
        let mut sink = [0u8; 4096];
        while stream.readable().await.is_ok() {
            match stream.try_read(&mut sink) {
                Ok(0) => break,
                Err(error) if error.kind() != std::io::ErrorKind::WouldBlock => break,
                _ => {}
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
