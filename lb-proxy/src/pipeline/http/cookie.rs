//! Cookie persistence in HTTP mode, on top of the codec of `lb-core`
//! ([`lb_core::persistence::cookie`]).
//!
//! On a request: the VIP's cookie, if valid and naming a server that takes sticky traffic,
//! sends the request there first; with `indirect` (the default) it is removed from the
//! `Cookie` header so the server never sees it. On the response: a client that had no valid
//! cookie, or was served by another server (its own was down), gets a `Set-Cookie` naming
//! the server that answered; one whose cookie's idle time should move forward gets it
//! refreshed. With `nocache` (the default), a response setting the cookie is marked
//! `Cache-Control: private` (`public` and `s-maxage` dropped) so shared caches never store
//! one client's cookie for another. `Secure` is added on TLS connections.
//!
//! The codec is keyed by the VIP's `cookie_secret`, or by a random secret drawn once per
//! process (cookies then survive reloads but not restarts); it is rebuilt whenever the
//! server list changes.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use http::{HeaderMap, HeaderValue, header};
use lb_core::model::{Persistence, Server, ServerId, Vip};
use lb_core::persistence::cookie::{CookieCodec, CookieSettings, ServerCookie};
use lb_core::pool::Pool;

type Names = Arc<BTreeMap<ServerId, Arc<str>>>;

/// The cookie persistence of one VIP.
#[derive(Debug)]
pub(crate) struct CookiePersistence {
    vip: String,
    settings: CookieSettings,
    indirect: bool,
    nocache: bool,
    secret: u128,
    built: ArcSwap<(Names, CookieCodec)>,
}

/// What a request's cookie said, for its response.
#[derive(Debug)]
pub(crate) struct Visit {
    codec: Arc<(Names, CookieCodec)>,
    found: Option<ServerCookie>,
    now: u64,
}

impl Visit {
    /// The server the request should go to first.
    pub(crate) fn server(&self) -> Option<ServerId> {
        self.found.map(|cookie| cookie.server)
    }
}

impl CookiePersistence {
    /// The cookie persistence of `vip`, if it has one.
    pub(crate) fn new(vip: &Vip) -> Option<Self> {
        let settings = CookieSettings::from_model(&vip.persistence)?;
        let Persistence::Cookie {
            indirect, nocache, ..
        } = vip.persistence
        else {
            return None;
        };
        let secret = vip.http.cookie_secret.unwrap_or_else(process_secret);
        // Built for real at the first request, with the server names then current.
        let names = Names::default();
        let codec = build(&vip.name, &settings, secret, &names);
        Some(CookiePersistence {
            vip: vip.name.clone(),
            settings,
            indirect,
            nocache,
            secret,
            built: ArcSwap::from_pointee((names, codec)),
        })
    }

    /// Reads (and with `indirect` removes) the cookie of a request at the current time.
    pub(crate) fn on_request(&self, headers: &mut HeaderMap, names: &Names, pool: &Pool) -> Visit {
        let codec = self.codec(names);
        let now = unix_now();
        let mut found = None;
        let values: Vec<HeaderValue> = headers.get_all(header::COOKIE).iter().cloned().collect();
        for value in &values {
            if found.is_none() {
                found = codec.1.sticky(value.as_bytes(), now, pool).map(|(_, c)| c);
            }
        }
        if self.indirect && !values.is_empty() {
            headers.remove(header::COOKIE);
            for value in values {
                let kept = codec.1.strip(value.as_bytes());
                if let Some(kept) = kept.and_then(|k| HeaderValue::from_bytes(&k).ok()) {
                    headers.append(header::COOKIE, kept);
                }
            }
        }
        Visit { codec, found, now }
    }

    /// Sets or refreshes the cookie on the response of `served`.
    pub(crate) fn on_response(
        &self,
        visit: &Visit,
        served: ServerId,
        headers: &mut HeaderMap,
        tls: bool,
    ) {
        let codec = &visit.codec.1;
        let cookie = match visit.found {
            Some(found) if found.server == served => codec.refresh(&found, visit.now),
            _ => Some(codec.issue(served, visit.now)),
        };
        let Some(mut value) = cookie.and_then(|cookie| codec.set_cookie(&cookie)) else {
            return;
        };
        if tls {
            value.push_str("; Secure");
        }
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.append(header::SET_COOKIE, value);
            if self.nocache {
                mark_private(headers);
            }
        }
    }

    fn codec(&self, names: &Names) -> Arc<(Names, CookieCodec)> {
        let built = self.built.load_full();
        if Arc::ptr_eq(&built.0, names) {
            return built;
        }
        let fresh = Arc::new((
            Arc::clone(names),
            build(&self.vip, &self.settings, self.secret, names),
        ));
        self.built.store(Arc::clone(&fresh));
        fresh
    }
}

fn build(vip: &str, settings: &CookieSettings, secret: u128, names: &Names) -> CookieCodec {
    // The codec reads ids and names only.
    let unused = SocketAddr::from(([0, 0, 0, 0], 0));
    let servers: Vec<Server> = names
        .iter()
        .map(|(&id, name)| Server::new(id, name.as_ref(), unused))
        .collect();
    CookieCodec::new(vip, settings.clone(), secret, &servers)
}

/// `Cache-Control: private`, keeping the other directives but `public` and `s-maxage`.
fn mark_private(headers: &mut HeaderMap) {
    let mut directives: Vec<String> = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|directive| directive.trim().to_owned())
        .filter(|d| !d.is_empty())
        .filter(|d| {
            let name = d.split('=').next().unwrap_or_default().to_ascii_lowercase();
            name != "public" && name != "s-maxage"
        })
        .collect();
    if !directives.iter().any(|d| d.eq_ignore_ascii_case("private")) {
        directives.insert(0, "private".to_owned());
    }
    if let Ok(value) = HeaderValue::try_from(directives.join(", ")) {
        headers.insert(header::CACHE_CONTROL, value);
    }
}

/// A secret drawn once per process, from the standard library's random SipHash keys (seeded
/// by the operating system).
fn process_secret() -> u128 {
    static SECRET: OnceLock<u128> = OnceLock::new();
    *SECRET.get_or_init(|| {
        let draw = || u128::from(RandomState::new().hash_one(0u8));
        draw() << 64 | draw()
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nocache_makes_the_response_private_for_shared_caches() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        );
        headers.append(
            header::CACHE_CONTROL,
            HeaderValue::from_static("s-maxage=600"),
        );
        mark_private(&mut headers);
        assert_eq!(headers[header::CACHE_CONTROL], "private, max-age=60");
        let mut none = HeaderMap::new();
        mark_private(&mut none);
        assert_eq!(none[header::CACHE_CONTROL], "private");
    }
}
