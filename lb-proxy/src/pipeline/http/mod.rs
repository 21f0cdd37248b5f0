//! HTTP mode: HTTP/1.1 clients served by lb's own loop ([`h1`]) and HTTP/2 clients by hyper,
//! requests forwarded by lb's own HTTP/1.1 client on a keep-alive pool of connections to
//! servers ([`upstream`]); a request is handled from end to end in its client connection's
//! task, with no hand-off between tasks. In cleartext HTTP/2 is spoken with prior knowledge;
//! on a VIP with TLS ([`crate::tls`]) ALPN chooses (`h2`, else HTTP/1.1), servers are told the
//! client used https and the persistence cookie is `Secure`.
//!
//! Per client connection ([`serve`]), once the connection pipeline has set the client up
//! (admission, the PROXY header whose addresses then stand for the client's everywhere, TLS:
//! see [`crate::pipeline::downstream`]), the protocol ([`preface`]): the HTTP/1.1 loop over a [guarded](guard) socket ([`io`]) so that
//! malformed or ambiguous requests are refused before anything is forwarded, or hyper's
//! HTTP/2 server (whose framing leaves no such ambiguity; its `h2` layer refuses
//! connection-specific fields and bodies that disagree with `content-length`). Per request
//! ([`proxy`]): persistence (cookie, source-ip, last-successful) then the scheduler pick a
//! server, with retries while nothing was sent ([`crate::pipeline::upstream`]); forwarding headers ([`forwarded`]); bodies
//! streamed both ways ([`body`], framed and decoded by [`body_decoder`] and [`fields`]); server
//! connections kept alive and spoken to ([`upstream`]); the proxy's own responses
//! ([`reply`]); the phases where filters act on a request and its response ([`phases`]:
//! redirects, rewrites and header rules from [`rules`], cookie persistence from [`cookie`]);
//! upgrades ([`tunnel`], joined by the pipeline's relay).
//!
//! Defaults: a client has `timeouts.http_request` (10 s) to send its first bytes and then each
//! HTTP/1 request head, which is also how long an idle HTTP/1 keep-alive connection, or an
//! HTTP/2 connection without an open stream ([`open_requests`], closed with a GOAWAY), stays
//! open; a body (either way) fails after the client or server timeout without a frame; a write
//! to an HTTP/1 client fails after it has stalled for the client timeout; HTTP/1 heads up to
//! 32 KiB and 100 fields ([`guard`]; `max_header_bytes` and `max_header_fields` in a VIP's
//! `http` table); HTTP/2: 128 concurrent streams, a header list up to the same byte limit, a
//! ping every client timeout (a client that does not answer is closed).
//!
//! Lifecycle: accept → admission → requests until the client closes, a timeout, a refusal
//! (the error response is written, the stream shut down, with a TLS `close_notify` on a TLS
//! VIP, and drained, all within a second, so that the client reads the response rather than
//! a reset: [`io`]) or the service stopping.

mod access;
mod body;
mod body_decoder;
mod cookie;
mod field_value;
pub(crate) mod fields;
mod forwarded;
// Its types are public for the fuzz targets (feature `fuzzing`).
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub(crate) mod guard;
mod h1;
mod headers;
mod io;
mod open_requests;
mod phases;
mod preface;
mod proxy;
mod reply;
mod rules;
mod tunnel;
pub(crate) mod upstream;

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::{HttpService, service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use lb_core::model::{Network, Vip};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tracing::{debug, warn};

#[cfg(feature = "fuzzing")]
pub use h1::{RequestEnds, request_ends};

use crate::forward::Watchdog;
use crate::pipeline::ClientStream;
use crate::pipeline::downstream::{self, ClientSocket, Downstream};
use crate::pipeline::generation::Shared;
use crate::sessions::CloseSignal;
use crate::stats::Counters;
use cookie::CookiePersistence;
use guard::{GuardLimits, RequestGuard, Violation};
use io::ClientIo;
use open_requests::{CountedBody, OpenRequests};
use preface::{Protocol, sniff};
use proxy::{Client, ClientProtocol};
use rules::Rules;

/// Errors of relayed bodies.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of every request and response the proxy sends.
pub(crate) type ProxyBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// Streams an HTTP/2 client may have open at once.
const H2_MAX_STREAMS: u32 = 128;

/// What the connections of one `http` VIP share.
#[derive(Debug)]
pub(crate) struct HttpVip {
    guard: GuardLimits,
    cookie: Option<CookiePersistence>,
    trusted_forwarders: Vec<Network>,
    rules: Rules,
    /// Neither rules nor cookie persistence change the fields of responses: for HTTP/1.1
    /// clients they pass as the bytes of their lines.
    response_fields_untouched: bool,
    /// Neither rules nor cookie persistence read or change requests: an untrusted HTTP/1.1
    /// client's fields pass to the server as the bytes of their lines.
    request_fields_untouched: bool,
}

impl HttpVip {
    /// The HTTP state of `vip`.
    pub(crate) fn new(vip: &Vip) -> Self {
        let cookie = CookiePersistence::new(vip);
        let rules = Rules::new(&vip.name, &vip.http);
        HttpVip {
            guard: vip.http.head_limits.into(),
            response_fields_untouched: cookie.is_none() && !rules.change_responses(),
            request_fields_untouched: cookie.is_none() && !rules.change_requests(),
            cookie,
            trusted_forwarders: vip.http.trusted_forwarders.clone(),
            rules,
        }
    }
}

/// Serves HTTP on `socket`, accepted from `peer`, until it is done or the service stops.
pub(crate) async fn serve(shared: Arc<Shared>, socket: TcpStream, peer: SocketAddr) {
    let Some(vip) = shared.settings.http.clone() else {
        debug_assert!(false, "an http connection on a VIP without HTTP state");
        return;
    };
    let settings = &shared.settings;
    let mut stopped = shared.sessions.subscribe_all();
    let Downstream {
        slot: _slot,
        stream,
        addresses,
    } = tokio::select! {
        established = downstream::establish(&shared, socket, peer) => match established {
            Ok(downstream) => downstream,
            Err(_) => return,
        },
        () = stopped.closed() => return,
    };
    let peer = addresses.source;
    let trusted = vip.trusted_forwarders.iter().any(|n| n.contains(peer.ip()));
    let guard = vip.guard;
    let proxy = Arc::new(Client::new(
        Arc::clone(&shared),
        vip,
        peer,
        addresses.destination,
        trusted,
    ));
    let open_requests = OpenRequests::new();
    let requests = Arc::clone(&open_requests);
    let h2_proxy = Arc::clone(&proxy);
    let service = service_fn(move |request| {
        let proxy = Arc::clone(&h2_proxy);
        let open = requests.open();
        async move {
            let response = proxy
                .handle(request, ClientProtocol::Http2, None)
                .await
                .response;
            proxy.counters().count_response(response.status().as_u16());
            Ok::<_, Infallible>(response.map(|body| CountedBody::new(body, open)))
        }
    });
    let serving = Serving {
        shared: &shared,
        proxy: &proxy,
        peer,
        guard,
        open_requests: &open_requests,
    };
    let served = match stream {
        ClientStream::Plain(mut client) => {
            let protocol = tokio::select! {
                sniffed = tokio::time::timeout(settings.timeouts.http_request, sniff(&mut client)) => sniffed,
                () = stopped.closed() => return,
            };
            match protocol {
                Ok(Ok(Protocol::Http1)) => http1_over(client, &serving, &mut stopped).await,
                Ok(Ok(Protocol::Http2)) => {
                    http2_over(client, service, &serving, &mut stopped).await
                }
                Ok(Ok(Protocol::Closed)) | Ok(Err(_)) | Err(_) => Ok(()),
            }
        }
        ClientStream::Tls(client) => {
            if client.get_ref().1.alpn_protocol() == Some(b"h2") {
                http2_over(*client, service, &serving, &mut stopped).await
            } else {
                http1_over(*client, &serving, &mut stopped).await
            }
        }
    };
    match served {
        Ok(()) => {}
        Err(Some(error)) => debug!(vip = %settings.name, %peer, %error, "client connection ended"),
        Err(None) => Counters::bump(&shared.counters.closed_by_admin),
    }
}

/// What serving one client connection needs besides its stream, its service and its stop
/// signal.
struct Serving<'a> {
    shared: &'a Shared,
    proxy: &'a Client,
    peer: SocketAddr,
    guard: GuardLimits,
    open_requests: &'a Arc<OpenRequests>,
}

/// Serves HTTP/1.1 on `client`, behind the request guard ([`h1`]), until the connection ends
/// or the service stops; a refusal is counted and logged.
async fn http1_over<S>(
    client: S,
    serving: &Serving<'_>,
    stopped: &mut CloseSignal,
) -> Result<(), Option<BoxError>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static + Into<ClientStream> + ClientSocket,
{
    let settings = &serving.shared.settings;
    let refused = Arc::new(OnceLock::new());
    let io = ClientIo::new(
        client,
        RequestGuard::new(serving.guard),
        Arc::clone(&refused),
        settings.timeouts.client,
    );
    let mut serve = pin!(h1::serve(io, serving.proxy, settings.timeouts.http_request));
    let mut closed = pin!(stopped.closed());
    // The stop signal is polled only when it wakes the task, not on every request.
    let mut watchdog = None;
    let served = poll_fn(|cx| {
        if let Poll::Ready(served) = serve.as_mut().poll(cx) {
            return Poll::Ready(served.map_err(Some));
        }
        let watchdog = watchdog.get_or_insert_with(|| Watchdog::new(cx));
        watchdog
            .poll(cx, |cx| closed.as_mut().poll(cx))
            .map(|()| Err(None))
    })
    .await;
    log_refusal(&refused, serving.shared, serving.peer);
    served
}

/// Serves HTTP/2 on `io` until the connection ends or the service stops; the connection is
/// shut down gracefully once no stream has been open for the request-head timeout
/// ([`open_requests`]).
async fn http2_over<S, Svc>(
    io: S,
    service: Svc,
    serving: &Serving<'_>,
    stopped: &mut CloseSignal,
) -> Result<(), Option<BoxError>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    Svc: HttpService<Incoming, ResBody = CountedBody<ProxyBody>, Error = Infallible>,
    Svc::Future: Send + 'static,
{
    let settings = &serving.shared.settings;
    let connection = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_STREAMS)
        .max_header_list_size(serving.guard.max_head as u32)
        .keep_alive_interval(settings.timeouts.client)
        .serve_connection(TokioIo::new(io), service);
    let mut connection = pin!(connection);
    let closed_when_idle = async {
        tokio::select! {
            served = connection.as_mut() => return served,
            () = serving.open_requests.idle_for(settings.timeouts.http_request) => {
                connection.as_mut().graceful_shutdown();
            }
        }
        connection.await
    };
    until_stopped(closed_when_idle, stopped)
        .await
        .map_err(|error| error.map(Into::into))
}

/// Counts and logs the refusal of the guard, if it refused.
fn log_refusal(refused: &OnceLock<Violation>, shared: &Shared, peer: SocketAddr) {
    if let Some(violation) = refused.get() {
        shared.counters.count_response(violation.status());
        warn!(vip = %shared.settings.name, %peer, status = violation.status(), reason = violation.reason(), "request refused");
    }
}

/// Runs `connection` until it ends (`Err(Some)` if it failed) or the service stops
/// (`Err(None)`).
async fn until_stopped(
    connection: impl Future<Output = Result<(), hyper::Error>>,
    stopped: &mut CloseSignal,
) -> Result<(), Option<hyper::Error>> {
    tokio::select! {
        served = connection => served.map_err(Some),
        () = stopped.closed() => Err(None),
    }
}
