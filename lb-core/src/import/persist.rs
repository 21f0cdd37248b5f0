//! Persistence directives: `cookie`, `stick-table` and `stick`.
//!
//! `cookie NAME insert [indirect] [nocache] [maxidle T] [maxlife T]` becomes cookie
//! persistence (ages in seconds by default, as HAProxy reads them). The `rewrite`, `prefix`
//! and passive modes become lb's inserted cookie, noted. `httponly` and `secure` need nothing:
//! lb's cookie is always `HttpOnly`, and `Secure` on TLS VIPs. `domain`, `preserve`,
//! `postonly`, `dynamic` and `attr` are noted.
//!
//! Of stick tables, the type, `size` and `expire` are read; `peers` (lb replicates between a
//! pair itself), `store` (counters for ACLs), `nopurge` and `srvkey` are noted. `stick on`,
//! `stick match` and `stick store-request` rules are kept for the VIP to decide (a `table`
//! of another proxy or a condition is noted and the rule left out).

use std::time::Duration;

use super::lexer::Line;
use super::report::Report;
use super::values::{Unit, size, time};

/// What a `cookie` line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CookieSpec {
    /// The cookie's name.
    pub(super) name: String,
    /// `indirect`.
    pub(super) indirect: bool,
    /// `nocache`.
    pub(super) nocache: bool,
    /// `maxidle`.
    pub(super) max_idle: Option<Duration>,
    /// `maxlife`.
    pub(super) max_life: Option<Duration>,
}

/// Reads a `cookie` line.
pub(super) fn cookie(line: &Line, report: &mut Report) -> Option<CookieSpec> {
    let name = line.words.get(1)?.clone();
    let mut spec = CookieSpec {
        name,
        indirect: false,
        nocache: false,
        max_idle: None,
        max_life: None,
    };
    let mut insert = false;
    let mut words = line.words[2..].iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "insert" => insert = true,
            "indirect" => spec.indirect = true,
            "nocache" => spec.nocache = true,
            "httponly" | "secure" => {}
            "maxidle" | "maxlife" => {
                let value = words.next().map_or("", String::as_str);
                match time(value, Unit::Seconds) {
                    Ok(age) if !age.is_zero() => {
                        *if word == "maxidle" {
                            &mut spec.max_idle
                        } else {
                            &mut spec.max_life
                        } = Some(age);
                    }
                    Ok(_) => {}
                    Err(reason) => report.left_out(line.number, format!("{word} {value}"), reason),
                }
            }
            "domain" | "attr" => {
                let value = words.next().map_or("", String::as_str);
                report.left_out(
                    line.number,
                    format!("{word} {value}"),
                    "lb's cookie carries Path=/, HttpOnly and (over TLS) Secure only",
                );
            }
            "rewrite" | "prefix" => report.approximated(
                line.number,
                word.clone(),
                "lb inserts a cookie of its own (insert mode); the servers' cookies are left alone",
            ),
            other => report.left_out(
                line.number,
                other.to_owned(),
                "lb's cookie persistence has no such option",
            ),
        }
    }
    if !insert
        && !line.words[2..]
            .iter()
            .any(|w| w == "rewrite" || w == "prefix")
    {
        report.approximated(
            line.number,
            line.text.clone(),
            "without `insert` HAProxy only reads a cookie the servers set; lb inserts its own",
        );
    }
    Some(spec)
}

/// What a `stick-table` line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StickTable {
    /// `type`: `ip`, `ipv6`, `integer`, `string`, `binary`.
    pub(super) kind: String,
    /// `size`.
    pub(super) size: Option<u64>,
    /// `expire`.
    pub(super) expire: Option<Duration>,
}

/// Reads a `stick-table` line.
pub(super) fn stick_table(line: &Line, report: &mut Report) -> StickTable {
    let mut table = StickTable {
        kind: String::new(),
        size: None,
        expire: None,
    };
    let mut words = line.words[1..].iter();
    while let Some(word) = words.next() {
        let mut value = || words.next().map_or("", String::as_str);
        match word.as_str() {
            "type" => table.kind = value().to_owned(),
            "len" => {
                value();
            }
            "size" => match size(value()) {
                Ok(entries) => table.size = Some(entries),
                Err(reason) => report.left_out(line.number, line.text.clone(), reason),
            },
            "expire" => match time(value(), Unit::Milliseconds) {
                Ok(expire) => table.expire = Some(expire),
                Err(reason) => report.left_out(line.number, line.text.clone(), reason),
            },
            "peers" => {
                let peers = value();
                report.left_out(
                    line.number,
                    format!("peers {peers}"),
                    "lb replicates persistence between the two nodes of a pair itself: see \
                     [cluster]",
                );
            }
            "store" => {
                let data = value();
                report.left_out(
                    line.number,
                    format!("store {data}"),
                    "lb keeps no counters in its persistence tables",
                );
            }
            "nopurge" | "srvkey" | "write-to" | "recv-only" => {
                report.left_out(
                    line.number,
                    word.clone(),
                    "lb's persistence tables have no such option",
                );
                if word != "nopurge" && word != "recv-only" {
                    value();
                }
            }
            other => report.left_out(
                line.number,
                other.to_owned(),
                "lb's persistence tables have no such option",
            ),
        }
    }
    table
}

/// A `stick` rule lb may follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StickRule {
    /// `stick on PATTERN`: match and store.
    On(Key),
    /// `stick match PATTERN`.
    Match(Key),
    /// `stick store-request PATTERN`.
    Store(Key),
}

/// What a stick rule keys on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    /// `src`: the client's address.
    Source,
    /// `dst`: the address the client connected to, one per VIP address in practice.
    Destination,
}

/// Reads a `stick` line; `None` (noted) when lb cannot follow it.
pub(super) fn stick(line: &Line, report: &mut Report) -> Option<StickRule> {
    let key = match line.word(2) {
        "src" => Some(Key::Source),
        "dst" => Some(Key::Destination),
        _ => None,
    };
    let rule = match (line.word(1), key) {
        ("on", Some(key)) => Some(StickRule::On(key)),
        ("match", Some(key)) => Some(StickRule::Match(key)),
        ("store-request", Some(key)) => Some(StickRule::Store(key)),
        _ => None,
    };
    let reason = if line.words.len() > 3 {
        "lb's persistence applies to every connection of the VIP, with its own table (no \
         `table` of another proxy, no condition)"
    } else if rule.is_none() {
        "lb keeps clients by source address (`stick on src`) or keeps one server for the whole \
         VIP (`stick on dst`), nothing else"
    } else {
        return rule;
    };
    report.left_out(line.number, line.text.clone(), reason);
    None
}
