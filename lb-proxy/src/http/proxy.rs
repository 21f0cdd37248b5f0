//! One request, from the client's head to the server's response head.
//!
//! The request loses its hop-by-hop fields, gets the forwarding headers and, with cookie
//! persistence, loses the persistence cookie (`indirect`); its target is sent in origin form
//! over HTTP/1.1. Servers are tried in the selection's order (cookie, then the VIP's other
//! persistence, then the scheduler): a request that could not be sent at all (the connect
//! failed or timed out, or a kept-alive connection had closed) is retried on the next server,
//! up to `retries` times; nothing is retried once any of it was sent. Outcomes: the server's
//! response; 503 when no server is usable; 502 when every attempt failed or the server broke
//! the exchange; 504 when the response head took longer than the server timeout.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderValue, Request, Response, StatusCode, Uri, Version, header};
use hyper::body::{Body, Incoming};
use tracing::warn;

use super::body::Relay;
use super::forwarded::{self, Hop};
use super::headers::{is_upgrade, strip_hop_by_hop};
use super::reply::status_response;
use super::tunnel::tunnel;
use super::upstream::{Sender, dial};
use super::{HttpVip, ProxyBody};
use crate::selection::{Selection, Target};
use crate::service::Shared;
use crate::stats::Counters;

/// Why an attempt got no response.
enum Failure {
    /// Nothing was sent: the request comes back for another server.
    NotSent(Request<ProxyBody>, String),
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
            tls: false,
            trusted,
        };
        Client { shared, vip, hop }
    }

    /// Forwards `request` and answers with the response the client gets.
    pub(crate) async fn handle(&self, mut request: Request<Incoming>) -> Response<ProxyBody> {
        let settings = &self.shared.settings;
        let upgrade = is_upgrade(request.headers());
        let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
        let (mut parts, body) = request.into_parts();
        strip_hop_by_hop(&mut parts.headers, upgrade);
        forwarded::apply(&mut parts.headers, self.hop);
        let pool = self.shared.pool.load_full();
        let names = self.shared.names.load_full();
        let visit = self.vip.cookie.as_ref().map(|cookie| cookie.on_request(&mut parts.headers, &names, &pool));
        parts.uri = origin_form(&parts.uri);
        parts.version = Version::HTTP_11;
        let mut request = Request::from_parts(parts, Relay::new(body, settings.timeouts.client).boxed());
        let mut selection = Selection::new(pool, &self.shared.stick, self.hop.client.ip(), self.shared.now());
        if let Some(server) = visit.as_ref().and_then(|visit| visit.server()) {
            selection.prefer(server);
        }
        let mut tried = false;
        for attempt in 0..=settings.retries {
            let Some(target) = selection.next() else {
                break;
            };
            tried = true;
            let failure = match self.exchange(&target, request).await {
                Ok((mut response, sender)) => {
                    let server_upgrade = hyper::upgrade::on(&mut response);
                    let open = selection.connected(&target);
                    Counters::bump(&self.shared.counters.established);
                    let mut response = self.respond(&target, response, sender, open);
                    if let (Some(cookie), Some(visit)) = (&self.vip.cookie, &visit) {
                        cookie.on_response(visit, target.id, response.headers_mut(), self.hop.tls);
                    }
                    match client_upgrade {
                        Some(client) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
                            let closed = self.shared.sessions.subscribe(target.id);
                            tokio::spawn(tunnel(client, server_upgrade, settings.timeouts.tunnel, closed));
                        }
                        Some(_) => {
                            // The guard stopped checking at the upgrade request: end here.
                            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                        }
                        None => {}
                    }
                    return response;
                }
                Err(Failure::NotSent(back, error)) => {
                    request = back;
                    Counters::bump(&self.shared.counters.connect_failures);
                    warn!(vip = %settings.name, server = %self.shared.server_name(&target), attempt, %error, "connect failed");
                    continue;
                }
                Err(failure) => failure,
            };
            let server = self.shared.server_name(&target);
            return match failure {
                Failure::TimedOut => {
                    warn!(vip = %settings.name, %server, "server timeout: 504");
                    status_response(StatusCode::GATEWAY_TIMEOUT)
                }
                Failure::Broken(error) => {
                    warn!(vip = %settings.name, %server, %error, "server failed: 502");
                    status_response(StatusCode::BAD_GATEWAY)
                }
                Failure::NotSent(..) => unreachable!("retried above"),
            };
        }
        Counters::bump(&self.shared.counters.no_server);
        if tried {
            warn!(vip = %settings.name, client = %self.hop.client, "every server attempt failed: 502");
            status_response(StatusCode::BAD_GATEWAY)
        } else {
            warn!(vip = %settings.name, client = %self.hop.client, "no server usable: 503");
            status_response(StatusCode::SERVICE_UNAVAILABLE)
        }
    }

    /// Sends `request` to `target` on a kept-alive connection, else on a new one.
    async fn exchange(
        &self,
        target: &Target,
        mut request: Request<ProxyBody>,
    ) -> Result<(Response<Incoming>, Sender), Failure> {
        while let Some(sender) = self.vip.upstreams.take(target.address) {
            match self.send(sender, request).await {
                Err(Failure::NotSent(back, _)) => request = back,
                other => return other,
            }
        }
        let observer = self.shared.observer.as_ref();
        match dial(&self.shared.settings.dialer, target.address).await {
            Ok(sender) => {
                if let Some(observer) = observer {
                    observer.succeeded(target.id);
                }
                self.send(sender, request).await
            }
            Err(error) => {
                if let Some(observer) = observer {
                    observer.failed(target.id, &error);
                }
                Err(Failure::NotSent(request, error.to_string()))
            }
        }
    }

    async fn send(&self, mut sender: Sender, request: Request<ProxyBody>) -> Result<(Response<Incoming>, Sender), Failure> {
        let limit = self.shared.settings.timeouts.server;
        match tokio::time::timeout(limit, sender.try_send_request(request)).await {
            Err(_) => Err(Failure::TimedOut),
            Ok(Ok(response)) => Ok((response, sender)),
            Ok(Err(mut error)) => match error.take_message() {
                Some(back) => Err(Failure::NotSent(back, error.into_error().to_string())),
                None => Err(Failure::Broken(error.into_error())),
            },
        }
    }

    /// The client's response: hop-by-hop fields removed, the body relayed, the server
    /// connection back to the pool once the body has been read.
    fn respond(
        &self,
        target: &Target,
        response: Response<Incoming>,
        sender: Sender,
        open: crate::selection::OpenConnection,
    ) -> Response<ProxyBody> {
        let (mut parts, body) = response.into_parts();
        let switching = parts.status == StatusCode::SWITCHING_PROTOCOLS;
        strip_hop_by_hop(&mut parts.headers, switching);
        let upstreams = Arc::clone(&self.vip.upstreams);
        let address = target.address;
        let mut relay = Relay::new(body, self.shared.settings.timeouts.server).holding(open);
        if !switching {
            if relay.is_end_stream() {
                upstreams.give_back(address, sender);
            } else {
                relay = relay.on_end(Box::new(move || upstreams.give_back(address, sender)));
            }
            let mut closed = self.shared.sessions.subscribe(target.id);
            relay = relay.closed_by(Box::pin(async move { closed.closed().await }));
        }
        Response::from_parts(parts, relay.boxed())
    }
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
