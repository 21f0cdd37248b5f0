//! HTTP directives: `option forwardfor`, `http-request` and `http-response` header rules,
//! and redirects (`redirect` and `http-request redirect`).
//!
//! `set-header`, `add-header` and `del-header` become header rules when their value is
//! literal (HAProxy values are log-format strings: `%%` is a `%`, any other `%` a sample lb
//! cannot evaluate). `redirect scheme https` becomes a redirect to HTTPS, `redirect location`
//! a fixed location, with HAProxy's default code 302. Each rule may carry a condition lb can
//! follow: none, or whether the client's connection is TLS (see [`Condition`]). Other
//! actions, prefixes, options such as `drop-query`, and other conditions are noted.

use super::lexer::Line;
use super::proxy::At;
use super::report::Report;
use super::values::{Condition, condition};
use crate::model::{HeaderRule, PathMatch, Redirect, RedirectTarget};

/// A rule and when it applies.
pub(super) type Conditional<T> = At<(Condition, T)>;

/// The forwarding headers lb sets itself on http VIPs.
const FORWARDING: [&str; 4] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-port",
    "forwarded",
];

/// Reads `http-request ...` or `http-response ...` header rules and `http-request redirect`;
/// `None` (noted) for what lb cannot do.
pub(super) fn rule(line: &Line, report: &mut Report) -> Option<Rule> {
    let response = line.word(0) == "http-response";
    let action = line.word(1);
    let outcome = match action {
        "set-header" | "add-header" => header(line, action == "set-header"),
        "del-header" => {
            if line.words.len() > 3 && line.word(3) == "-m" {
                Err("lb deletes headers by exact name only".to_owned())
            } else {
                with_condition(line, 3).and_then(|condition| {
                    let name = header_name(line.word(2))?;
                    Ok((condition, HeaderRule::Delete { name }))
                })
            }
        }
        "redirect" if !response => {
            return redirect(line, 2, report).map(Rule::Redirect);
        }
        _ => Err(format!(
            "lb has no `{}` action (only set-header, add-header, del-header{})",
            action,
            if response { "" } else { " and redirect" }
        )),
    };
    match outcome {
        Ok(rule) => {
            let rule = At::new(line.number, rule);
            Some(if response {
                Rule::Response(rule)
            } else {
                Rule::Request(rule)
            })
        }
        Err(reason) => {
            report.left_out(line.number, line.text.clone(), reason);
            None
        }
    }
}

/// A rule of an http proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Rule {
    /// A request header rule.
    Request(Conditional<HeaderRule>),
    /// A response header rule.
    Response(Conditional<HeaderRule>),
    /// A redirect.
    Redirect(Conditional<Redirect>),
}

fn header(line: &Line, set: bool) -> Result<(Condition, HeaderRule), String> {
    let condition = with_condition(line, 4)?;
    let name = header_name(line.word(2))?;
    let value = literal(line.word(3)).map_err(|reason| {
        if FORWARDING.contains(&name.to_ascii_lowercase().as_str()) {
            format!("{reason}; lb sets {name} itself on http VIPs")
        } else {
            reason
        }
    })?;
    Ok((
        condition,
        if set {
            HeaderRule::Set { name, value }
        } else {
            HeaderRule::Add { name, value }
        },
    ))
}

/// The condition of words from `from` on.
fn with_condition(line: &Line, from: usize) -> Result<Condition, String> {
    condition(&line.words[from.min(line.words.len())..])
        .map_err(|text| format!("lb cannot follow the condition `{text}`"))
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

/// A log-format string without samples, as text.
fn literal(text: &str) -> Result<String, String> {
    if text.bytes().any(|b| b != b'\t' && (b < b' ' || b == 0x7f)) {
        return Err("a header value may not hold control characters".to_owned());
    }
    let mut value = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            value.push(c);
        } else if chars.next() == Some('%') {
            value.push('%');
        } else {
            return Err(format!(
                "`{text}` is computed per request (`%`), and lb's header values are fixed text"
            ));
        }
    }
    Ok(value)
}

/// Reads a redirect whose type starts at word `from` (`scheme https`, `location L`); `None`
/// (noted) when lb cannot do it.
pub(super) fn redirect(
    line: &Line,
    from: usize,
    report: &mut Report,
) -> Option<Conditional<Redirect>> {
    let words = &line.words[from.min(line.words.len())..];
    let outcome = (|| {
        let to = match words {
            [kind, scheme, ..] if kind == "scheme" && scheme == "https" => {
                RedirectTarget::Https { port: None }
            }
            [kind, location, ..] if kind == "location" => {
                RedirectTarget::Location(literal(location)?)
            }
            _ => {
                return Err(
                    "lb redirects to HTTPS (`scheme https`) or to a fixed location, nothing else"
                        .to_owned(),
                );
            }
        };
        let mut status = 302;
        let mut rest = &words[2.min(words.len())..];
        if let [code, value, tail @ ..] = rest {
            if code == "code" {
                status = value
                    .parse()
                    .ok()
                    .filter(|status| Redirect::STATUSES.contains(status))
                    .ok_or_else(|| {
                        format!("lb redirects with 301, 302, 303, 307 or 308, not {value}")
                    })?;
                rest = tail;
            }
        }
        if let Some(option) = rest.first().filter(|w| *w != "if" && *w != "unless") {
            return Err(format!("lb's redirects have no `{option}` option"));
        }
        let condition =
            condition(rest).map_err(|text| format!("lb cannot follow the condition `{text}`"))?;
        let redirect = Redirect {
            path: PathMatch::Prefix("/".to_owned()),
            to,
            status,
        };
        Ok((condition, redirect))
    })();
    match outcome {
        Ok(redirect) => Some(At::new(line.number, redirect)),
        Err(reason) => {
            report.left_out(line.number, line.text.clone(), reason);
            None
        }
    }
}

/// Reads `option forwardfor [except NET] [header NAME] [if-none]`, noting the options lb
/// does not have.
pub(super) fn forwardfor(line: &Line, report: &mut Report) {
    if line.words.len() > 2 {
        report.approximated(
            line.number,
            line.text.clone(),
            "lb always appends the client to X-Forwarded-For (no `except`, `header` or \
             `if-none`); peers whose values it should keep go in [vip.http] trusted_forwarders",
        );
    }
}
