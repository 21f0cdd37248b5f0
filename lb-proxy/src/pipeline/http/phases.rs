//! The phases of an HTTP request where filters act on it, in the order a request meets them,
//! and the built-in filters of each:
//!
//! 1. on accept, before any request: the connection pipeline's admission and client setup
//!    ([`crate::pipeline::downstream`]);
//! 2. on request head ([`Phases::request_head`]), once the guard and the parser have accepted
//!    the head: an absolute-form target's authority replaces `Host`; redirects answer at once;
//!    hop-by-hop fields go; the forwarding headers are set; cookie persistence reads its cookie
//!    (and drops it, `indirect`); the target goes to origin form and is rewritten; header rules;
//! 3. on request body: streamed to the server as the server takes it, read by no built-in
//!    filter;
//! 4. on response head ([`Phases::response_head`]), once a server has answered: cookie
//!    persistence sets or refreshes its cookie; header rules; `Connection: close` after an
//!    upgrade the server refused.
//!
//! A filter that answers in place of the server (a redirect) ends the request in its phase:
//! nothing is forwarded. The proxy's own error responses (502, 503, 504) pass no phase.
//!
//! Defaults: no redirects, rewrites, header rules or cookie persistence, so the phases only
//! strip hop-by-hop fields, set the forwarding headers and put the target in origin form.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response, Uri, Version, header};
use lb_core::model::ServerId;
use lb_core::pool::Pool;

use super::cookie::Visit;
use super::forwarded::Forwarding;
use super::headers::{is_upgrade, strip_hop_by_hop};
use super::{HttpVip, ProxyBody};

/// The filters of one client connection's requests.
#[derive(Debug)]
pub(crate) struct Phases<'a> {
    /// The VIP's name, for the rules' logs.
    pub(crate) vip_name: &'a str,
    /// The VIP's HTTP filters.
    pub(crate) vip: &'a HttpVip,
    /// The client's forwarding headers.
    pub(crate) forwarding: &'a Forwarding,
    /// Whether the client came over TLS.
    pub(crate) tls: bool,
}

/// What the request-head phase hands on to the response-head phase.
#[derive(Debug)]
pub(crate) struct Passed {
    /// The client asked for an upgrade.
    pub(crate) upgrade: bool,
    /// What cookie persistence read of the request.
    pub(crate) visit: Option<Visit>,
}

impl Phases<'_> {
    /// The request-head phase on `parts` (whose forwarding headers are already among the
    /// client's field `lines` when it passes as lines): what it hands on, or the answer of a
    /// filter that answers in place of the server. `names` and `pool` are the snapshots the
    /// request is scheduled with.
    pub(crate) fn request_head(
        &self,
        parts: &mut Parts,
        lines: bool,
        names: &Arc<BTreeMap<ServerId, Arc<str>>>,
        pool: &Pool,
    ) -> Result<Passed, Box<Response<ProxyBody>>> {
        let rules = &self.vip.rules;
        if let Some(host) = authority_host(&parts.uri) {
            // RFC 9112 section 3.2.2: an absolute-form target's authority replaces `Host`.
            parts.headers.insert(header::HOST, host);
        }
        if let Some(redirect) = rules.redirect(&parts.uri, &parts.headers) {
            return Err(Box::new(redirect));
        }
        let upgrade = is_upgrade(&parts.headers);
        strip_hop_by_hop(&mut parts.headers, upgrade);
        if !lines {
            self.forwarding.apply(&mut parts.headers);
        }
        let visit = self
            .vip
            .cookie
            .as_ref()
            .map(|cookie| cookie.on_request(&mut parts.headers, names, pool));
        parts.uri = origin_form(&parts.uri);
        rules.rewrite(self.vip_name, &mut parts.uri);
        rules.on_request(&mut parts.headers);
        parts.version = Version::HTTP_11;
        Ok(Passed { upgrade, visit })
    }

    /// The response-head phase on the `headers` of `server`'s response to a request that
    /// `passed` the request-head phase; `switching` if the server switched protocols.
    pub(crate) fn response_head(
        &self,
        passed: &Passed,
        server: ServerId,
        switching: bool,
        headers: &mut HeaderMap,
    ) {
        if let (Some(cookie), Some(visit)) = (&self.vip.cookie, &passed.visit) {
            cookie.on_response(visit, server, headers, self.tls);
        }
        self.vip.rules.on_response(headers);
        if passed.upgrade && !switching {
            // The guard stopped checking at the upgrade request: end here.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
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
