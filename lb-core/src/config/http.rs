//! A VIP's `http` table (http VIPs): forwarding-header trust, the cookie secret, header
//! rules, path rewrites and redirects.
//!
//! ```toml
//! [vip.http]
//! trusted_forwarders = ["10.0.0.0/8"]            # default: none
//! cookie_secret = "00112233445566778899aabbccddeeff"   # 32 hex digits; default: random per process
//! request_headers = [{ set = "X-Frame-Options", value = "DENY" }, { delete = "X-Debug" }]
//! response_headers = [{ add = "Strict-Transport-Security", value = "max-age=31536000" }]
//! rewrite = [{ prefix = "/old/", replace = "/new/" }, { regex = "^/v1/(.*)$", replace = "/v2/$1" }]
//! redirect = [{ prefix = "/", to_https = true }, { exact = "/", location = "/dashboard", status = 302 }]
//! max_header_bytes = 65536                        # default 32768 (1 KiB to 1 MiB)
//! max_header_fields = 200                         # default 100 (1 to 1000)
//! ```
//!
//! A header rule has exactly one of `add`, `set`, `delete` (the field name) and a `value`
//! except for `delete`. A rewrite or redirect has exactly one of `exact`, `prefix`, `regex`;
//! a redirect has `to_https = true` (with an optional `https_port`) or a `location`, and a
//! `status` of 301 (default), 302, 303, 307 or 308.

use super::reader::{Field, Reader, Table};
use crate::model::{
    HeadLimits, HeaderRule, HttpOptions, PathMatch, PathRegex, PathRewrite, Redirect,
    RedirectTarget,
};

const KEYS: [&str; 8] = [
    "trusted_forwarders",
    "cookie_secret",
    "request_headers",
    "response_headers",
    "rewrite",
    "redirect",
    "max_header_bytes",
    "max_header_fields",
];
const RULE_KEYS: [&str; 4] = ["add", "set", "delete", "value"];
const MATCH_KEYS: [&str; 3] = ["exact", "prefix", "regex"];
const REWRITE_KEYS: [&str; 4] = ["exact", "prefix", "regex", "replace"];
const REDIRECT_KEYS: [&str; 7] = [
    "exact",
    "prefix",
    "regex",
    "to_https",
    "https_port",
    "location",
    "status",
];

/// Reads the table (the defaults where it cannot be read).
pub(super) fn read(reader: &mut Reader, field: &Field<'_>) -> HttpOptions {
    let mut http = HttpOptions::default();
    let Some(table) = reader.table(field, &KEYS) else {
        return http;
    };
    if let Some(field) = table.get("trusted_forwarders") {
        http.trusted_forwarders = reader
            .one_or_many(&field)
            .iter()
            .filter_map(|network| reader.network(network))
            .collect();
    }
    http.cookie_secret = table
        .get("cookie_secret")
        .and_then(|field| reader.parsed(&field, secret));
    for (key, rules) in [
        ("request_headers", &mut http.request_headers),
        ("response_headers", &mut http.response_headers),
    ] {
        *rules = each(reader, &table, key, rule);
    }
    http.rewrites = each(reader, &table, "rewrite", rewrite);
    http.redirects = each(reader, &table, "redirect", redirect);
    let limits = &mut http.head_limits;
    for (key, slot, range) in [
        ("max_header_bytes", &mut limits.max_bytes, HeadLimits::BYTES),
        (
            "max_header_fields",
            &mut limits.max_fields,
            HeadLimits::FIELDS,
        ),
    ] {
        let range = *range.start() as u64..=*range.end() as u64;
        reader.set(table.get(key), slot, |reader, field| {
            reader.integer(field, range)
        });
    }
    http
}

/// Reads every element of the array at `key` with `read`, skipping those that fail.
fn each<T>(
    reader: &mut Reader,
    table: &Table<'_>,
    key: &str,
    read: fn(&mut Reader, &Field<'_>) -> Option<T>,
) -> Vec<T> {
    let Some(field) = table.get(key) else {
        return Vec::new();
    };
    let items = reader.array(&field).unwrap_or_default();
    items.iter().filter_map(|item| read(reader, item)).collect()
}

fn secret(text: &str) -> Result<u128, String> {
    let valid = text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit());
    valid
        .then(|| u128::from_str_radix(text, 16).ok())
        .flatten()
        .ok_or_else(|| "expected 32 hexadecimal digits (128 bits)".to_owned())
}

/// The one key of `keys` that `table` has, or a message at `field`.
fn one_of<'a>(
    reader: &mut Reader,
    field: &Field<'_>,
    table: &Table<'a>,
    keys: &[&'static str],
) -> Option<(&'static str, Field<'a>)> {
    let present: Vec<_> = keys
        .iter()
        .filter_map(|&k| Some((k, table.get(k)?)))
        .collect();
    match <[_; 1]>::try_from(present) {
        Ok([one]) => Some(one),
        Err(_) => {
            let list = keys.join("`, `");
            reader.fail(field, format!("expected exactly one of `{list}`"));
            None
        }
    }
}

fn rule(reader: &mut Reader, field: &Field<'_>) -> Option<HeaderRule> {
    let table = reader.table(field, &RULE_KEYS)?;
    let (action, name_field) = one_of(reader, field, &table, &["add", "set", "delete"])?;
    let name = reader.parsed(&name_field, header_name)?;
    if action == "delete" {
        if let Some(value) = table.get("value") {
            reader.fail(&value, "`delete` takes no `value`".to_owned());
            return None;
        }
        return Some(HeaderRule::Delete { name });
    }
    let value = reader.require(&table, "value")?;
    let value = reader.parsed(&value, header_value)?;
    Some(match action {
        "add" => HeaderRule::Add { name, value },
        _ => HeaderRule::Set { name, value },
    })
}

fn header_name(text: &str) -> Result<String, String> {
    let token = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    token
        .then(|| text.to_owned())
        .ok_or_else(|| format!("`{text}` is not a header field name"))
}

fn header_value(text: &str) -> Result<String, String> {
    let clean = text.bytes().all(|b| b == b'\t' || (b >= b' ' && b != 0x7f));
    clean
        .then(|| text.to_owned())
        .ok_or_else(|| "a header value may not hold control characters".to_owned())
}

fn path_match(reader: &mut Reader, field: &Field<'_>, table: &Table<'_>) -> Option<PathMatch> {
    let (kind, value) = one_of(reader, field, table, &MATCH_KEYS)?;
    match kind {
        "exact" => reader.string(&value).map(PathMatch::Exact),
        "prefix" => reader.string(&value).map(PathMatch::Prefix),
        _ => reader.parsed(&value, PathRegex::new).map(PathMatch::Regex),
    }
}

fn rewrite(reader: &mut Reader, field: &Field<'_>) -> Option<PathRewrite> {
    let table = reader.table(field, &REWRITE_KEYS)?;
    let path = path_match(reader, field, &table)?;
    let replace = reader.require(&table, "replace")?;
    let replace = reader.string(&replace)?;
    Some(PathRewrite { path, replace })
}

fn redirect(reader: &mut Reader, field: &Field<'_>) -> Option<Redirect> {
    let table = reader.table(field, &REDIRECT_KEYS)?;
    let path = path_match(reader, field, &table)?;
    let mut status = 301;
    reader.set(table.get("status"), &mut status, |reader, field| {
        let status: u16 = reader.integer(field, 300..=308)?;
        if Redirect::STATUSES.contains(&status) {
            Some(status)
        } else {
            reader.fail(field, "expected 301, 302, 303, 307 or 308".to_owned());
            None
        }
    });
    let (kind, target) = one_of(reader, field, &table, &["to_https", "location"])?;
    let to = if kind == "location" {
        RedirectTarget::Location(reader.parsed(&target, header_value)?)
    } else {
        if !reader.boolean(&target)? {
            reader.fail(
                &target,
                "write `to_https = true`, or leave it out".to_owned(),
            );
            return None;
        }
        let port = table
            .get("https_port")
            .and_then(|field| reader.integer(&field, 1..=65535));
        RedirectTarget::Https { port }
    };
    Some(Redirect { path, to, status })
}

#[cfg(test)]
mod tests {
    use crate::config::parse;
    use crate::model::{HeaderRule, PathMatch, RedirectTarget};

    const VIP: &str = "[[vip]]\nname = \"horizon\"\nlisten = \"192.0.2.1:80\"\nmode = \"http\"\n\
                       servers = [{ name = \"a\", address = \"192.0.2.11:80\" }]\n";

    #[test]
    fn reads_every_key() {
        let text = format!(
            "{VIP}[vip.http]\ntrusted_forwarders = \"10.0.0.0/8\"\n\
             cookie_secret = \"000102030405060708090a0b0c0d0e0f\"\n\
             request_headers = [{{ set = \"X-A\", value = \"1\" }}, {{ delete = \"X-B\" }}]\n\
             response_headers = [{{ add = \"X-C\", value = \"2\" }}]\n\
             rewrite = [{{ regex = \"^/v1/(.*)$\", replace = \"/v2/$1\" }}]\n\
             redirect = [{{ exact = \"/\", location = \"/dashboard\", status = 302 }}, \
             {{ prefix = \"/\", to_https = true, https_port = 8443 }}]\n"
        );
        let config = parse("lb.toml", &text).unwrap();
        let http = &config.vips[0].http;
        assert_eq!(http.trusted_forwarders.len(), 1);
        assert_eq!(http.cookie_secret, Some(0x000102030405060708090a0b0c0d0e0f));
        assert_eq!(
            http.request_headers[1],
            HeaderRule::Delete {
                name: "X-B".to_owned()
            }
        );
        assert!(
            matches!(&http.rewrites[0].path, PathMatch::Regex(r) if r.as_str() == "^/v1/(.*)$")
        );
        assert_eq!(http.redirects[0].status, 302);
        assert_eq!(http.redirects[1].status, 301);
        assert_eq!(
            http.redirects[1].to,
            RedirectTarget::Https { port: Some(8443) }
        );
    }

    #[test]
    fn reports_each_mistake_at_its_field() {
        let text = format!(
            "{VIP}[vip.http]\ncookie_secret = \"short\"\n\
             request_headers = [{{ set = \"Bad Name\", value = \"1\" }}, {{ add = \"X\", set = \"Y\", value = \"1\" }}, \
             {{ delete = \"X\", value = \"1\" }}]\n\
             rewrite = [{{ regex = \"(\", replace = \"/\" }}, {{ prefix = \"/\" }}]\n\
             redirect = [{{ prefix = \"/\", location = \"/x\", status = 304 }}, {{ prefix = \"/\" }}]\n"
        );
        let errors = parse("lb.toml", &text).unwrap_err().to_string();
        for expected in [
            "cookie_secret: expected 32 hexadecimal digits",
            "request_headers[0].set: `Bad Name` is not a header field name",
            "request_headers[1]: expected exactly one of `add`, `set`, `delete`",
            "request_headers[2].value: `delete` takes no `value`",
            "rewrite[0].regex: invalid regular expression",
            "rewrite[1].replace: missing required key",
            "redirect[0].status: expected 301, 302, 303, 307 or 308",
            "redirect[1]: expected exactly one of `to_https`, `location`",
        ] {
            assert!(errors.contains(expected), "{expected}\n{errors}");
        }
    }
}
