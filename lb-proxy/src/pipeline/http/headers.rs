//! Hop-by-hop headers: what concerns one connection only and is never passed on (RFC 9110
//! section 7.6.1): `Connection` and every field it names, `Keep-Alive`, `Proxy-Connection`,
//! `TE`, `Trailer`, `Transfer-Encoding` (each side is framed on its own) and `Upgrade`. An
//! upgrade being passed through keeps `Connection: upgrade` and its `Upgrade` field.

use http::{HeaderMap, HeaderName, HeaderValue, Version, header};

use crate::pipeline::http::field_value::elements;

/// Whether a request or response asks for a protocol upgrade.
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// How many fields are hop-by-hop whatever `Connection` says.
const HOP_BY_HOP_COUNT: usize = 7;

/// The fields that are hop-by-hop whether or not `Connection` names them.
static HOP_BY_HOP: [HeaderName; HOP_BY_HOP_COUNT] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Whether the field named `name` (any case) is hop-by-hop whatever `Connection` says: the
/// names of [`HOP_BY_HOP`] by length, so that most names are told apart by their length.
pub(crate) fn is_hop_by_hop(name: &[u8]) -> bool {
    let same_length: &[&[u8]] = match name.len() {
        2 => &[b"te"],
        7 => &[b"trailer", b"upgrade"],
        10 => &[b"connection", b"keep-alive"],
        16 => &[b"proxy-connection"],
        17 => &[b"transfer-encoding"],
        _ => return false,
    };
    same_length.iter().any(|hop| hop.eq_ignore_ascii_case(name))
}

/// What the `Connection` fields of a message say: whether the connection closes or is kept
/// alive, and which other fields they name (those concern this connection only too).
#[derive(Debug, Default)]
pub(crate) struct ConnectionOptions<'h> {
    close: bool,
    keep_alive: bool,
    named: Vec<&'h [u8]>,
}

impl<'h> ConnectionOptions<'h> {
    /// Takes in the value of one `Connection` field.
    pub(crate) fn read(&mut self, value: &'h [u8]) {
        for option in elements(value) {
            if option.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if option.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else {
                self.named.push(option);
            }
        }
    }

    /// Whether the connection stays open after the message: in HTTP/1.0 only with
    /// `keep-alive`, in HTTP/1.1 unless `close`.
    pub(crate) fn persistent(&self, version: Version) -> bool {
        if version == Version::HTTP_10 {
            self.keep_alive
        } else {
            !self.close
        }
    }

    /// Whether `Connection` names the field `name` (any case).
    pub(crate) fn names(&self, name: &[u8]) -> bool {
        self.named
            .iter()
            .any(|named| named.eq_ignore_ascii_case(name))
    }
}

/// Removes the hop-by-hop fields; with `keep_upgrade`, the upgrade survives.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // One pass over the names finds the fields to remove: each removal costs a lookup, and
    // most messages carry one such field (`Connection`) or none.
    let mut present = [false; HOP_BY_HOP_COUNT];
    for name in headers.keys() {
        if let Some(index) = HOP_BY_HOP.iter().position(|hop| hop == name) {
            present[index] = true;
        }
    }
    if !present.contains(&true) {
        // Fields named by `Connection` only count when it is there.
        return;
    }
    let upgrade = keep_upgrade
        .then(|| headers.get(header::UPGRADE).cloned())
        .flatten();
    // The values are shared bytes: copying them out of the map copies no text.
    let listed: Vec<HeaderValue> = headers
        .get_all(header::CONNECTION)
        .iter()
        .cloned()
        .collect();
    for token in listed
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| {
            !HOP_BY_HOP
                .iter()
                .any(|hop| hop.as_str().eq_ignore_ascii_case(token))
        })
    {
        // Removing by name text parses it on the stack: no allocation per token.
        headers.remove(token);
    }
    for (name, present) in HOP_BY_HOP.iter().zip(present) {
        if present {
            headers.remove(name);
        }
    }
    if let Some(upgrade) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, upgrade);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_names_are_told_in_any_case() {
        for name in &HOP_BY_HOP {
            let name = name.as_str();
            assert!(is_hop_by_hop(name.as_bytes()), "{name}");
            assert!(
                is_hop_by_hop(name.to_ascii_uppercase().as_bytes()),
                "{name}"
            );
        }
        for name in ["host", "tee", "upgraded", "content-length", "x-connection"] {
            assert!(!is_hop_by_hop(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn connection_scoped_fields_never_pass() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret, Upgrade"),
        );
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::HOST, HeaderValue::from_static("a"));
        assert!(is_upgrade(&headers));
        let mut plain = headers.clone();
        strip_hop_by_hop(&mut plain, false);
        assert_eq!(plain.len(), 1, "{plain:?}");
        strip_hop_by_hop(&mut headers, true);
        assert_eq!(headers[header::UPGRADE], "websocket");
        assert_eq!(headers[header::CONNECTION], "upgrade");
        assert!(!headers.contains_key("x-secret"));
    }

    #[test]
    fn end_to_end_fields_pass_untouched() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("a"));
        headers.insert("x-secret", HeaderValue::from_static("1"));
        let before = headers.clone();
        strip_hop_by_hop(&mut headers, false);
        assert_eq!(headers, before);
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, X-Secret"),
        );
        strip_hop_by_hop(&mut headers, false);
        assert_eq!(headers.keys().collect::<Vec<_>>(), [header::HOST]);
    }
}
