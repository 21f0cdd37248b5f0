//! The forwarding headers servers read to learn who the client is: `X-Forwarded-For`,
//! `X-Forwarded-Proto`, `X-Forwarded-Port` and RFC 7239 `Forwarded`.
//!
//! From an untrusted peer (anyone outside the VIP's `trusted_forwarders`, the default), every
//! such header the client sent is dropped and replaced by the proxy's own: the client address,
//! the scheme and port it connected to. From a trusted peer (another proxy in front), the
//! values it sent are kept in front of the proxy's own: the client address is always the
//! right-most `X-Forwarded-For` element and the last `Forwarded` element, and a proto or port
//! it set is kept.

use std::net::{IpAddr, SocketAddr};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::pipeline::http::fields;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// Whether the field named `name` (any case) is one of the forwarding headers.
pub(crate) fn is_forwarding(name: &[u8]) -> bool {
    [
        X_FORWARDED_FOR,
        X_FORWARDED_PROTO,
        X_FORWARDED_PORT,
        header::FORWARDED,
    ]
    .iter()
    .any(|forwarding| forwarding.as_str().as_bytes().eq_ignore_ascii_case(name))
}

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

/// The proxy's own forwarding values for one client connection, made once when it connects
/// so that each request only copies them.
#[derive(Debug, Clone)]
pub(crate) struct Forwarding {
    trusted: bool,
    client_ip: HeaderValue,
    element: HeaderValue,
    proto: HeaderValue,
    port: HeaderValue,
    /// The four fields as HTTP/1 lines, for requests whose other fields pass as lines.
    lines: Bytes,
}

impl Forwarding {
    /// The values that tell a server about `hop`.
    pub(crate) fn new(hop: Hop) -> Self {
        let proto = if hop.tls { "https" } else { "http" };
        let client_ip = hop.client.ip().to_canonical();
        let node = match client_ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("\"[{v6}]\""),
        };
        let value = |text: String| {
            HeaderValue::try_from(text).expect("addresses and numbers are valid header values")
        };
        let mut own = Forwarding {
            trusted: hop.trusted,
            client_ip: value(client_ip.to_string()),
            element: value(format!("for={node};proto={proto}")),
            proto: HeaderValue::from_static(proto),
            port: value(hop.local.port().to_string()),
            lines: Bytes::new(),
        };
        let mut set = HeaderMap::new();
        own.apply_own(&mut set);
        let mut lines = BytesMut::new();
        fields::write(&set, &mut lines);
        own.lines = lines.freeze();
        own
    }

    /// The proxy's own forwarding headers as HTTP/1 field lines: what [`Forwarding::apply`]
    /// sets when the client is not trusted.
    pub(crate) fn lines(&self) -> &[u8] {
        &self.lines
    }

    /// Rewrites the forwarding headers of a request for the server.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        // Room for the four fields at once rather than growing the map field by field.
        headers.reserve(4);
        if !self.trusted {
            self.apply_own(headers);
            return;
        }
        let prior_for = joined(headers, &X_FORWARDED_FOR);
        let prior_forwarded = joined(headers, &header::FORWARDED);
        headers.insert(X_FORWARDED_FOR, append(prior_for, &self.client_ip));
        headers.insert(header::FORWARDED, append(prior_forwarded, &self.element));
        for (name, value) in [
            (X_FORWARDED_PROTO, &self.proto),
            (X_FORWARDED_PORT, &self.port),
        ] {
            if !headers.contains_key(&name) {
                headers.insert(name, value.clone());
            }
        }
    }

    /// Sets the proxy's own four fields; `insert` drops every value the client sent.
    fn apply_own(&self, headers: &mut HeaderMap) {
        headers.insert(X_FORWARDED_FOR, self.client_ip.clone());
        headers.insert(header::FORWARDED, self.element.clone());
        headers.insert(X_FORWARDED_PROTO, self.proto.clone());
        headers.insert(X_FORWARDED_PORT, self.port.clone());
    }
}

/// The non-empty values of `name` joined by `, `, if any; removed from `headers`.
fn joined(headers: &mut HeaderMap, name: &HeaderName) -> Option<String> {
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
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// `own` after the `prior` values kept, if any.
fn append(prior: Option<String>, own: &HeaderValue) -> HeaderValue {
    let Some(prior) = prior else {
        return own.clone();
    };
    let own = own.to_str().expect("made from text");
    HeaderValue::try_from(format!("{prior}, {own}"))
        .expect("kept values passed `to_str`: visible ASCII joins into a valid value")
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
    fn the_lines_are_what_an_untrusted_client_gets() {
        let forwarding = Forwarding::new(hop(false));
        let mut headers = spoofed();
        forwarding.apply(&mut headers);
        let mut written = BytesMut::new();
        fields::write(&headers, &mut written);
        let sorted = |lines: &[u8]| {
            let mut lines: Vec<String> = std::str::from_utf8(lines)
                .unwrap()
                .split_terminator("\r\n")
                .map(str::to_owned)
                .collect();
            lines.sort_unstable();
            lines
        };
        assert_eq!(sorted(forwarding.lines()), sorted(&written));
        assert_eq!(
            sorted(forwarding.lines()),
            [
                "forwarded: for=192.0.2.9;proto=http",
                "x-forwarded-for: 192.0.2.9",
                "x-forwarded-port: 8080",
                "x-forwarded-proto: http"
            ]
        );
    }

    #[test]
    fn an_untrusted_clients_values_are_replaced() {
        let mut headers = spoofed();
        Forwarding::new(hop(false)).apply(&mut headers);
        assert_eq!(headers["x-forwarded-for"], "192.0.2.9");
        assert_eq!(headers.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-port"], "8080");
        assert_eq!(headers["forwarded"], "for=192.0.2.9;proto=http");
    }

    #[test]
    fn a_trusted_proxys_values_stay_in_front_of_the_client_address() {
        let mut headers = spoofed();
        Forwarding::new(hop(true)).apply(&mut headers);
        assert_eq!(headers["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 192.0.2.9");
        assert_eq!(headers["x-forwarded-proto"], "https");
        assert_eq!(
            headers["forwarded"],
            "for=1.1.1.1, for=192.0.2.9;proto=http"
        );
        let mut v6 = HeaderMap::new();
        let mut six = hop(false);
        six.client = "[2001:db8::1]:1".parse().unwrap();
        Forwarding::new(six).apply(&mut v6);
        assert_eq!(v6["forwarded"], "for=\"[2001:db8::1]\";proto=http");
    }
}
