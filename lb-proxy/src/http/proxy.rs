//! One request, from the client's head to the server's response head.
//!
//! An absolute-form target's authority replaces `Host`. The request loses its hop-by-hop fields, gets the forwarding headers and, with cookie
//! persistence, loses the persistence cookie (`indirect`); its target is sent in origin form
//! over HTTP/1.1. Servers are tried in the selection's order (cookie, then the VIP's other
//! persistence, then the scheduler): a request that could not be sent at all (the connect
//! failed or timed out, or a kept-alive connection had closed) is retried on the next server,
//! up to `retries` times; nothing is retried once any of it was sent. Outcomes: the server's
//! response; 503 when no server is usable; 502 when every attempt failed or the server broke
//! the exchange; 504 when the response head took longer than the server timeout after the
//! request body was sent whole.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Request, Response, StatusCode, Uri, Version, header};
use hyper::body::{Body, Incoming};
use tokio::sync::watch;
use tracing::warn;

use super::access::HttpAccess;
use super::body::{OnEnd, Relay};
use super::forwarded::{Forwarding, Hop};
use super::headers::{is_upgrade, strip_hop_by_hop};
use super::reply::{empty_body, status_response};
use super::tunnel::tunnel;
use super::upstream::{Sender, dial};
use super::{HttpVip, ProxyBody};
use crate::selection::{OpenConnection, Selection, Target};
use crate::service::Shared;
use crate::stats::Counters;

/// Why an attempt got no response.
enum Failure {
    /// Nothing was sent: the request comes back for another server.
    NotSent(Box<Request<ProxyBody>>, String),
    /// The exchange broke after the request was (at least partly) sent.
    Broken(hyper::Error),
    /// No response head within the server timeout.
    TimedOut,
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
        Client {
            shared,
            vip,
            hop,
            forwarding,
            client_text: peer.to_string().into(),
        }
    }

    /// The service's counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// Forwards `request` and answers with the response the client gets.
    pub(crate) async fn handle(&self, mut request: Request<Incoming>) -> Response<ProxyBody> {
        let settings = &self.shared.settings;
        let rules = &self.vip.rules;
        let mut access = HttpAccess::received(
            &self.shared,
            &self.client_text,
            request.method(),
            request.uri(),
        );
        if let Some(host) = authority_host(request.uri()) {
            // RFC 9112 section 3.2.2: an absolute-form target's authority replaces `Host`.
            request.headers_mut().insert(header::HOST, host);
        }
        if let Some(redirect) = rules.redirect(request.uri(), request.headers()) {
            access.answered(None, redirect.status());
            return redirect;
        }
        let upgrade = is_upgrade(request.headers());
        let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
        let (mut parts, body) = request.into_parts();
        strip_hop_by_hop(&mut parts.headers, upgrade);
        self.forwarding.apply(&mut parts.headers);
        let pool = self.shared.pool.load_full();
        let names = self.shared.names.load_full();
        let visit = self
            .vip
            .cookie
            .as_ref()
            .map(|cookie| cookie.on_request(&mut parts.headers, &names, &pool));
        parts.uri = origin_form(&parts.uri);
        rules.rewrite(&settings.name, &mut parts.uri);
        rules.on_request(&mut parts.headers);
        parts.version = Version::HTTP_11;
        let (body, sent) = upload(body, settings.timeouts.client);
        let mut request = Request::from_parts(parts, body);
        let mut selection = Selection::new(
            pool,
            &self.shared.stick,
            self.hop.client.ip(),
            self.shared.now(),
        );
        if let Some(server) = visit.as_ref().and_then(|visit| visit.server()) {
            selection.prefer(server);
        }
        let mut tried = false;
        for attempt in 0..=settings.retries {
            let Some(target) = selection.next() else {
                break;
            };
            tried = true;
            let failure = match self.exchange(&target, request, sent.as_ref()).await {
                Ok((mut response, sender)) => {
                    let open = selection.connected(&target);
                    Counters::bump(&self.shared.counters.established);
                    let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
                    let held = match client_upgrade {
                        Some(client) if switching => {
                            let server = hyper::upgrade::on(&mut response);
                            let closed = self.shared.sessions.subscribe(target.id);
                            let limit = settings.timeouts.tunnel;
                            tokio::spawn(tunnel(client, server, limit, closed, open));
                            None
                        }
                        _ => Some(open),
                    };
                    access.answered(Some(&target), response.status());
                    let mut response = self.respond(&target, response, sender, held, access);
                    if let (Some(cookie), Some(visit)) = (&self.vip.cookie, &visit) {
                        cookie.on_response(visit, target.id, response.headers_mut(), self.hop.tls);
                    }
                    rules.on_response(response.headers_mut());
                    if upgrade && !switching {
                        // The guard stopped checking at the upgrade request: end here.
                        let close = HeaderValue::from_static("close");
                        response.headers_mut().insert(header::CONNECTION, close);
                    }
                    return response;
                }
                Err(Failure::NotSent(back, error)) => {
                    request = *back;
                    Counters::bump(&self.shared.counters.connect_failures);
                    warn!(vip = %settings.name, server = %self.shared.server_name(&target), attempt, %error, "connect failed");
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
            return status_response(status);
        }
        Counters::bump(&self.shared.counters.no_server);
        let status = if tried {
            warn!(vip = %settings.name, client = %self.hop.client, "every server attempt failed: 502");
            StatusCode::BAD_GATEWAY
        } else {
            warn!(vip = %settings.name, client = %self.hop.client, "no server usable: 503");
            StatusCode::SERVICE_UNAVAILABLE
        };
        access.answered(None, status);
        status_response(status)
    }

    /// Sends `request` to `target` on a kept-alive connection, else on a new one.
    async fn exchange(
        &self,
        target: &Target,
        mut request: Request<ProxyBody>,
        sent: Option<&watch::Receiver<bool>>,
    ) -> Result<(Response<Incoming>, Sender), Failure> {
        while let Some(sender) = self.vip.upstreams.take(target.address).await {
            match self.send(sender, request, sent).await {
                Err(Failure::NotSent(back, _)) => request = *back,
                other => return other,
            }
        }
        let observer = self.shared.observer.as_ref();
        match dial(&self.shared.settings.dialer, target.address).await {
            Ok(sender) => {
                if let Some(observer) = observer {
                    observer.succeeded(target.id);
                }
                self.send(sender, request, sent).await
            }
            Err(error) => {
                if let Some(observer) = observer {
                    observer.failed(target.id, &error);
                }
                Err(Failure::NotSent(Box::new(request), error.to_string()))
            }
        }
    }

    /// Sends `request` on `sender`; the server timeout runs once the request body has been
    /// sent whole (`sent`; at once without a body), a slow upload being bounded by the client
    /// timeout instead.
    async fn send(
        &self,
        mut sender: Sender,
        request: Request<ProxyBody>,
        sent: Option<&watch::Receiver<bool>>,
    ) -> Result<(Response<Incoming>, Sender), Failure> {
        let limit = self.shared.settings.timeouts.server;
        let exchange = sender.try_send_request(request);
        tokio::pin!(exchange);
        let early = match sent {
            None => None,
            Some(sent) => {
                let mut sent = sent.clone();
                tokio::select! {
                    outcome = &mut exchange => Some(outcome),
                    _ = sent.wait_for(|sent| *sent) => None,
                }
            }
        };
        let outcome = match early {
            Some(outcome) => outcome,
            None => match tokio::time::timeout(limit, exchange).await {
                Err(_) => return Err(Failure::TimedOut),
                Ok(outcome) => outcome,
            },
        };
        match outcome {
            Ok(response) => Ok((response, sender)),
            Err(mut error) => match error.take_message() {
                Some(back) => Err(Failure::NotSent(
                    Box::new(back),
                    error.into_error().to_string(),
                )),
                None => Err(Failure::Broken(error.into_error())),
            },
        }
    }

    /// The client's response: hop-by-hop fields removed, the body relayed (its access line
    /// written when it ends), the server connection back to the pool once it has been read.
    fn respond(
        &self,
        target: &Target,
        response: Response<Incoming>,
        sender: Sender,
        open: Option<OpenConnection>,
        access: HttpAccess,
    ) -> Response<ProxyBody> {
        let (mut parts, body) = response.into_parts();
        let switching = parts.status == StatusCode::SWITCHING_PROTOCOLS;
        strip_hop_by_hop(&mut parts.headers, switching);
        let mut relay = Relay::new(body, self.shared.settings.timeouts.server)
            .holding(open)
            .logging(access);
        if !switching {
            let upstreams = Arc::clone(&self.vip.upstreams);
            if relay.is_end_stream() {
                upstreams.give_back(target.address, sender);
            } else {
                relay = relay.on_end(OnEnd::Reusable(upstreams, target.address, sender));
            }
            relay = relay.closed_by(self.shared.sessions.subscribe(target.id));
        }
        Response::from_parts(parts, relay.boxed())
    }
}

/// The request body to send, and what tells when it has been sent whole (`None` when there
/// is no body).
fn upload(body: Incoming, idle_limit: Duration) -> (ProxyBody, Option<watch::Receiver<bool>>) {
    if body.is_end_stream() {
        return (empty_body(), None);
    }
    let (uploaded, sent) = watch::channel(false);
    let relay = Relay::new(body, idle_limit).on_end(OnEnd::Uploaded(uploaded));
    (relay.boxed(), Some(sent))
}

/// The `host[:port]` of an absolute-form target, without any user information.
fn authority_host(uri: &Uri) -> Option<HeaderValue> {
    let authority = uri.authority()?;
    let host = match authority.port() {
        Some(port) => format!("{}:{port}", authority.host()),
        None => authority.host().to_owned(),
    };
    HeaderValue::try_from(host).ok()
}

/// The path and query of `uri` (origin form), `/` if it has none.
fn origin_form(uri: &Uri) -> Uri {
    match uri.path_and_query() {
        Some(path) if uri.scheme().is_some() || uri.authority().is_some() => {
            Uri::from(path.clone())
        }
        Some(_) => uri.clone(),
        None => Uri::from_static("/"),
    }
}
