//! The `Cookie` and `Set-Cookie` header helpers for the inserted persistence cookie.
//!
//! Header values are taken as bytes (HTTP allows any octet in a cookie value) and parsed
//! leniently but totally: pairs are split on `;`, spaces and tabs around names and values are
//! dropped, one pair of double quotes around a value is removed, a pair without `=` is never
//! ours, and cookie names compare exactly (they are case-sensitive). Nothing here panics.

/// Whether `name` may be used as a cookie name: a non-empty HTTP token (RFC 9110 `tchar`s).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// The `Set-Cookie` value that inserts `name=value` for the whole site, hidden from scripts.
/// The caller appends `; Secure` on TLS listeners.
pub fn set_cookie(name: &str, value: &str) -> String {
    format!("{name}={value}; Path=/; HttpOnly")
}

/// The value of the first cookie called `name` in a `Cookie` header value, unquoted.
pub fn find<'h>(header: &'h [u8], name: &str) -> Option<&'h [u8]> {
    pairs(header).find_map(|pair| match pair.split {
        Some((pair_name, value)) if pair_name == name.as_bytes() => Some(unquote(value)),
        _ => None,
    })
}

/// The `Cookie` header value without any cookie called `name` (for `indirect` mode, so the
/// server never sees it): the other cookies joined by `; `, or `None` if none is left.
pub fn strip(header: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut kept = Vec::with_capacity(header.len());
    for pair in pairs(header) {
        if matches!(pair.split, Some((pair_name, _)) if pair_name == name.as_bytes()) {
            continue;
        }
        if !kept.is_empty() {
            kept.extend_from_slice(b"; ");
        }
        kept.extend_from_slice(pair.whole);
    }
    (!kept.is_empty()).then_some(kept)
}

/// One `;`-separated, non-empty piece of a `Cookie` header.
struct Pair<'h> {
    /// The piece, trimmed.
    whole: &'h [u8],
    /// Its trimmed name and value, if it has an `=`.
    split: Option<(&'h [u8], &'h [u8])>,
}

fn pairs(header: &[u8]) -> impl Iterator<Item = Pair<'_>> {
    header
        .split(|&byte| byte == b';')
        .map(trim)
        .filter(|whole| !whole.is_empty())
        .map(|whole| Pair {
            whole,
            split: whole
                .iter()
                .position(|&byte| byte == b'=')
                .map(|at| (trim(&whole[..at]), trim(&whole[at + 1..]))),
        })
}

fn trim(bytes: &[u8]) -> &[u8] {
    let blank = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |at| at + 1);
    &bytes[start..end]
}

fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_among_several_cookies_with_spaces_and_quotes() {
        let header = b"a=1;  SERVERID = \"abc\" ;b=2";
        assert_eq!(find(header, "SERVERID"), Some(&b"abc"[..]));
        assert_eq!(find(b"SERVERID=x; SERVERID=y", "SERVERID"), Some(&b"x"[..]));
        assert_eq!(find(b"serverid=x; SERVERIDX=y; SERVERID", "SERVERID"), None);
        assert_eq!(find(b"SERVERID=\"", "SERVERID"), Some(&b"\""[..]));
        assert_eq!(find(b"", "SERVERID"), None);
    }

    #[test]
    fn strips_every_copy_and_keeps_the_rest_in_order() {
        let header = b"a=1; SERVERID=x;b=\"2\" ; SERVERID=y; flag";
        assert_eq!(
            strip(header, "SERVERID").as_deref(),
            Some(&b"a=1; b=\"2\"; flag"[..])
        );
        assert_eq!(strip(b" SERVERID=x ; ;", "SERVERID"), None);
    }

    #[test]
    fn builds_set_cookie_and_checks_names() {
        assert_eq!(
            set_cookie("SERVERID", "ab12"),
            "SERVERID=ab12; Path=/; HttpOnly"
        );
        assert!(is_valid_name("SERVERID"));
        assert!(!is_valid_name("SERVER ID"));
        assert!(!is_valid_name("a=b"));
        assert!(!is_valid_name(""));
    }
}
