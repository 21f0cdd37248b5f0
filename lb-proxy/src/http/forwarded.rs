//! The forwarding headers servers read to learn who the client is: `X-Forwarded-For`,
//! `X-Forwarded-Proto`, `X-Forwarded-Port` and RFC 7239 `Forwarded`.
//!
//! From an untrusted peer (anyone outside the VIP's `trusted_forwarders`, the default), every
//! such header the client sent is dropped and replaced by the proxy's own: the client address,
//! the scheme and port it connected to. From a trusted peer (another proxy in front), the
//! values it sent are kept in front of the proxy's own: the client address is always the
//! right-most `X-Forwarded-For` element and the last `Forwarded` element, and a proto or port
//! it set is kept.

use std::net::SocketAddr;

use http::{HeaderMap, HeaderName, HeaderValue, header};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// Who connected, and where to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hop {
    /// The client's address as this proxy sees it.
    pub(crate) client: SocketAddr,
    /// The address the client connected to.
    pub(crate) local: SocketAddr,
    /// Whether the client connection is TLS.
    pub(crate) tls: bool,
    /// Whether the client is a trusted proxy whose forwarding headers are kept.
    pub(crate) trusted: bool,
}

/// Rewrites the forwarding headers of a request for the server.
pub(crate) fn apply(headers: &mut HeaderMap, hop: Hop) {
    let proto = if hop.tls { "https" } else { "http" };
    let client_ip = hop.client.ip().to_canonical();
    let prior_for = joined(headers, &X_FORWARDED_FOR, hop.trusted);
    let prior_forwarded = joined(headers, &header::FORWARDED, hop.trusted);
    let node = match client_ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("\"[{v6}]\""),
    };
    let element = format!("for={node};proto={proto}");
    set(
        headers,
        X_FORWARDED_FOR,
        append(prior_for, &client_ip.to_string()),
    );
    set(
        headers,
        header::FORWARDED,
        append(prior_forwarded, &element),
    );
    for (name, value) in [
        (X_FORWARDED_PROTO, proto.to_owned()),
        (X_FORWARDED_PORT, hop.local.port().to_string()),
    ] {
        if !hop.trusted || !headers.contains_key(&name) {
            set(headers, name, Some(value));
        }
    }
}

/// The values of `name`, joined by `, ` when kept; removed from `headers` either way.
fn joined(headers: &mut HeaderMap, name: &HeaderName, keep: bool) -> Option<String> {
    let values: Vec<HeaderValue> = match headers.entry(name) {
        header::Entry::Occupied(entry) => entry.remove_entry_mult().1.collect(),
        header::Entry::Vacant(_) => return None,
    };
    let kept: Vec<&str> = values
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .collect();
    (keep && !kept.is_empty()).then(|| kept.join(", "))
}

fn append(prior: Option<String>, own: &str) -> Option<String> {
    Some(match prior {
        Some(prior) => format!("{prior}, {own}"),
        None => own.to_owned(),
    })
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: Option<String>) {
    if let Some(value) = value.and_then(|v| HeaderValue::try_from(v).ok()) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(trusted: bool) -> Hop {
        Hop {
            client: "192.0.2.9:5555".parse().unwrap(),
            local: "198.51.100.1:8080".parse().unwrap(),
            tls: false,
            trusted,
        }
    }

    fn spoofed() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        headers.append("x-forwarded-for", HeaderValue::from_static("2.2.2.2"));
        headers.append("x-forwarded-proto", HeaderValue::from_static("https"));
        headers.append("forwarded", HeaderValue::from_static("for=1.1.1.1"));
        headers
    }

    #[test]
    fn an_untrusted_clients_values_are_replaced() {
        let mut headers = spoofed();
        apply(&mut headers, hop(false));
        assert_eq!(headers["x-forwarded-for"], "192.0.2.9");
        assert_eq!(headers.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-port"], "8080");
        assert_eq!(headers["forwarded"], "for=192.0.2.9;proto=http");
    }

    #[test]
    fn a_trusted_proxys_values_stay_in_front_of_the_client_address() {
        let mut headers = spoofed();
        apply(&mut headers, hop(true));
        assert_eq!(headers["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 192.0.2.9");
        assert_eq!(headers["x-forwarded-proto"], "https");
        assert_eq!(
            headers["forwarded"],
            "for=1.1.1.1, for=192.0.2.9;proto=http"
        );
        let mut v6 = HeaderMap::new();
        let mut six = hop(false);
        six.client = "[2001:db8::1]:1".parse().unwrap();
        apply(&mut v6, six);
        assert_eq!(v6["forwarded"], "for=\"[2001:db8::1]\";proto=http");
    }
}
