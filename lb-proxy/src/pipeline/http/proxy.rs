//! One request, from the client's head to the server's response head.
//!
//! The request passes its head phase ([`super::phases`]: `Host`, redirects, hop-by-hop
//! fields, forwarding headers, cookie persistence, rewrites, header rules) and goes over
//! HTTP/1.1; the response passes its head phase on the way back. Servers are tried in the
//! selection's order (cookie, then the VIP's other persistence, then the scheduler): a request that could not be sent at all (the connect
//! failed or timed out, or a kept-alive connection had closed) is retried on the next server,
//! up to `retries` times; nothing is retried once any of it was sent. Outcomes: the server's
//! response; 503 when no server is usable; 502 when every attempt failed or the server broke
//! the exchange; 504 when the response head took longer than the server timeout after the
//! request body was sent whole.
//!
//! Fields travel as header maps unless nothing reads or changes them. When neither rules
//! nor cookie persistence change responses, an HTTP/1.1 client's response keeps the server's
//! field lines as they came ([`FieldForm::Lines`]). When nothing reads or changes requests
//! either (no request rules, rewrites or redirects) and the client is not a trusted
//! forwarder, an HTTP/1.1 request in origin form that asks for no upgrade goes to the server
//! as the client's lines, less the hop-by-hop and forwarding ones, followed by the proxy's
//! forwarding lines. HTTP/2 clients always get header maps.
//!
//! With `source = "client"`, a request takes only an idle connection made from its client's
//! address (the one the PROXY header names, where `accept_proxy_from` applies), and a new
//! connection is made from that address: a server connection never carries another client's
//! requests.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Empty;
use hyper::body::Body;
use tracing::warn;

use super::access::HttpAccess;
use super::body::Relay;
use super::fields::FieldLines;
use super::forwarded::{Forwarding, Hop};
use super::phases::Phases;
use super::reply::{empty_body, status_response};
use super::tunnel::ServerSide;
use super::upstream::{Connection, Failure, FieldForm, Head, PoolKey, ResponseBody};
use super::{BoxError, HttpVip, ProxyBody};
use crate::pipeline::generation::Shared;
use crate::pipeline::selection::{OpenConnection, Target};
use crate::pipeline::upstream::Attempts;
use crate::stats::Counters;

/// The protocol of the client connection a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientProtocol {
    /// HTTP/1.0 or HTTP/1.1, served by lb's own loop.
    Http1,
    /// HTTP/2, served by hyper.
    Http2,
}

/// What the client gets for a request.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The response; with `lines`, its `headers` hold only the fields the proxy adds.
    pub(crate) response: Response<ProxyBody>,
    /// The server's field lines, passed on as they came ([`FieldForm::Lines`]).
    pub(crate) lines: Option<FieldLines>,
    /// The server side of the tunnel to join once a 101 has been passed on.
    pub(crate) tunnel: Option<ServerSide>,
}

impl From<Response<ProxyBody>> for Answer {
    /// A response made by the proxy.
    fn from(response: Response<ProxyBody>) -> Self {
        Answer {
            response,
            lines: None,
            tunnel: None,
        }
    }
}

/// One client connection's view of its VIP.
#[derive(Debug)]
pub(crate) struct Client {
    shared: Arc<Shared>,
    vip: Arc<HttpVip>,
    hop: Hop,
    forwarding: Forwarding,
    /// The client's address as access lines write it, made once.
    client_text: Arc<str>,
    /// The address this client's server connections come from, when it is the client's
    /// (`source = "client"`): only connections made from it may carry its requests.
    pooled_as: Option<IpAddr>,
}

impl Client {
    /// A client connected from `peer` to `local`; `trusted` if its forwarding headers are kept.
    pub(crate) fn new(
        shared: Arc<Shared>,
        vip: Arc<HttpVip>,
        peer: SocketAddr,
        local: SocketAddr,
        trusted: bool,
    ) -> Self {
        let hop = Hop {
            client: peer,
            local,
            tls: shared.settings.tls.is_some(),
            trusted,
        };
        let forwarding = Forwarding::new(hop);
        let transparent = shared.settings.dialer.is_transparent();
        Client {
            pooled_as: transparent.then(|| peer.ip().to_canonical()),
            shared,
            vip,
            hop,
            forwarding,
            client_text: peer.to_string().into(),
        }
    }

    /// The lines the proxy adds to this client's HTTP/1.1 requests (its forwarding headers)
    /// when their fields may pass to servers as the client's own lines: nothing reads or
    /// changes them (no request rules, rewrites, redirects or cookie persistence) and the
    /// client is not a trusted forwarder (whose forwarding headers are kept and joined).
    pub(crate) fn added_request_lines(&self) -> Option<&[u8]> {
        (self.vip.request_fields_untouched && !self.hop.trusted).then(|| self.forwarding.lines())
    }

    /// The filters this client's requests pass (see [`super::phases`]).
    fn phases(&self) -> Phases<'_> {
        Phases {
            vip_name: &self.shared.settings.name,
            vip: &self.vip,
            forwarding: &self.forwarding,
            tls: self.hop.tls,
        }
    }

    /// The service's counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// Forwards `request` (whose fields are `lines` when the client's lines pass as they
    /// are) and answers with what the client gets: the response, and the server side of the
    /// tunnel to join when the client asked for an upgrade and the server switched (the
    /// caller passes the 101 on, then joins the tunnel).
    pub(crate) async fn handle<B>(
        &self,
        request: Request<B>,
        protocol: ClientProtocol,
        lines: Option<&FieldLines>,
    ) -> Answer
    where
        B: Body<Data = Bytes> + Unpin + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let settings = &self.shared.settings;
        let mut access = HttpAccess::received(
            &self.shared,
            &self.client_text,
            request.method(),
            request.uri(),
        );
        let (mut parts, body) = request.into_parts();
        let pool = self.shared.pool.load_full();
        let names = self.shared.names.load_full();
        let phases = self.phases();
        let passed = match phases.request_head(&mut parts, lines.is_some(), &names, &pool) {
            Ok(passed) => passed,
            Err(answer) => {
                access.answered(None, answer.status());
                return (*answer).into();
            }
        };
        let body = upload(body, settings.timeouts.client);
        let mut request = Request::from_parts(parts, body);
        let mut attempts = Attempts::new(&self.shared, pool, self.hop.client.ip());
        if let Some(server) = passed.visit.as_ref().and_then(|visit| visit.server()) {
            attempts.prefer(server);
        }
        let form = if protocol == ClientProtocol::Http1 && self.vip.response_fields_untouched {
            FieldForm::Lines
        } else {
            FieldForm::Map
        };
        while let Some(target) = attempts.next() {
            let failure = match self
                .exchange(&attempts, &target, request, lines, form)
                .await
            {
                Ok((mut head, connection, whole)) => {
                    let lines = head.lines.take();
                    let open = attempts.connected(&target);
                    let status = head.parts.status;
                    let switching = status == StatusCode::SWITCHING_PROTOCOLS;
                    access.answered(Some(&target), status);
                    let (mut response, tunnel) = if passed.upgrade && switching {
                        let (stream, early) = connection.into_parts();
                        let server = ServerSide {
                            stream,
                            early,
                            idle_limit: settings.timeouts.tunnel,
                            closed: self.shared.sessions.subscribe(target.id),
                            open,
                            tally: target.tally(&self.shared.counters),
                        };
                        (upgraded(head, access), Some(server))
                    } else {
                        let response = self.respond(&target, head, connection, whole, open, access);
                        (response, None)
                    };
                    phases.response_head(&passed, target.id, switching, response.headers_mut());
                    return Answer {
                        response,
                        lines,
                        tunnel,
                    };
                }
                Err(Failure::NotSent(back, error)) => {
                    request = *back;
                    attempts.failed(&target, &error);
                    continue;
                }
                Err(failure) => failure,
            };
            let server = self.shared.server_name(&target);
            let status = match failure {
                Failure::TimedOut => {
                    warn!(vip = %settings.name, %server, "server timeout: 504");
                    StatusCode::GATEWAY_TIMEOUT
                }
                Failure::Broken(error) => {
                    warn!(vip = %settings.name, %server, %error, "server failed: 502");
                    StatusCode::BAD_GATEWAY
                }
                Failure::NotSent(..) => unreachable!("retried above"),
            };
            access.answered(Some(&target), status);
            return status_response(status).into();
        }
        Counters::bump(&self.shared.counters.no_server);
        let status = if attempts.tried() {
            warn!(vip = %settings.name, client = %self.hop.client, "every server attempt failed: 502");
            StatusCode::BAD_GATEWAY
        } else {
            warn!(vip = %settings.name, client = %self.hop.client, "no server usable: 503");
            StatusCode::SERVICE_UNAVAILABLE
        };
        access.answered(None, status);
        status_response(status).into()
    }

    /// Sends `request` to `target` on a kept-alive connection, else on a new one, its bytes
    /// counted for `target`.
    async fn exchange(
        &self,
        attempts: &Attempts<'_>,
        target: &Target,
        mut request: Request<ProxyBody>,
        lines: Option<&FieldLines>,
        form: FieldForm,
    ) -> Result<(Head, Connection, bool), Failure> {
        let limit = self.shared.settings.timeouts.server;
        while let Some(connection) = self.shared.upstreams.take(self.pool_key(target)) {
            let connection = connection.counted_for(target, &self.shared.counters);
            match connection.send(request, lines, form).await {
                Err(Failure::NotSent(back, _)) => request = *back,
                other => return other,
            }
        }
        match attempts.connect(target).await {
            Ok(stream) => {
                let tally = target.tally(&self.shared.counters);
                let connection = Connection::new(stream, limit, tally);
                connection.send(request, lines, form).await
            }
            Err(error) => Err(Failure::NotSent(Box::new(request), error.to_string())),
        }
    }

    /// The idle connections to `target` this client's requests may take.
    fn pool_key(&self, target: &Target) -> PoolKey {
        PoolKey {
            server: target.address,
            client: self.pooled_as,
        }
    }

    /// The client's response (its hop-by-hop fields left out by the parser), the body relayed
    /// from `connection` (its access line written when it ends; the connection back to the
    /// pool once it has been read, if the server keeps it open and the request was written
    /// `whole`).
    fn respond(
        &self,
        target: &Target,
        head: Head,
        connection: Connection,
        whole: bool,
        open: OpenConnection,
        access: HttpAccess,
    ) -> Response<ProxyBody> {
        let Head {
            parts,
            framing,
            keep_alive,
            ..
        } = head;
        let body = ResponseBody::new(
            connection,
            framing,
            keep_alive && whole,
            &self.shared.upstreams,
            self.pool_key(target),
        );
        let relay = Relay::new(body, self.shared.settings.timeouts.server)
            .holding(open)
            .logging(access)
            .closed_by(self.shared.sessions.subscribe(target.id));
        Response::from_parts(parts, relay.boxed())
    }
}

/// The client's 101 response, the tunnel having taken the connection; the access line is
/// written once the response has been sent.
fn upgraded(head: Head, access: HttpAccess) -> Response<ProxyBody> {
    let body = Relay::new(Empty::<Bytes>::new(), Duration::MAX).logging(access);
    Response::from_parts(head.parts, body.boxed())
}

/// The request body to send, failing after `idle_limit` without a frame from the client.
fn upload<B>(body: B, idle_limit: Duration) -> ProxyBody
where
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<BoxError>,
{
    if body.is_end_stream() {
        return empty_body();
    }
    Relay::new(body, idle_limit).boxed()
}
