//! Health-check directives: `option httpchk`, `http-check send`/`expect`,
//! `option mysql-check`, `option redis-check`, `option tcp-check` with its `tcp-check` rules.
//!
//! `option httpchk` defaults to HAProxy's `OPTIONS /`; a `Host:` header smuggled into its
//! version (`HTTP/1.1\r\nHost:\ name`) or given by `http-check send hdr Host` becomes the
//! check's `host`. `http-check expect status` takes codes and ranges (`200`, `200-399`,
//! `200,302`), `expect string` a body substring. `tcp-check send`/`send-binary` and
//! `expect string`/`expect binary` become script steps; `tcp-check connect port N` (first
//! rule) the check's port. A rule the importer cannot read is noted, and the whole
//! sequence then gives way to a TCP connect check (a partial script would check something
//! else). `option redis-check` is HAProxy's `PING` → `+PONG` as a script (lb's redis check
//! also wants `role:master`, which HAProxy's does not).

use super::lexer::Line;
use super::proxy::At;
use super::report::Report;
use crate::model::{ScriptStep, StatusRange};

/// Which probe `option ...` chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Probe {
    /// `option httpchk`.
    Http,
    /// `option mysql-check`.
    Mysql,
    /// `option redis-check`.
    Redis,
    /// `option tcp-check`: the `tcp-check` rules.
    TcpCheck,
    /// A check lb does not have (`option ssl-hello-chk`, `ldap-check`, ...).
    Unsupported(String),
}

/// The HTTP request and expectation of `option httpchk` and `http-check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HttpProbe {
    /// Request method (HAProxy's default `OPTIONS`).
    pub(super) method: String,
    /// Request path.
    pub(super) path: String,
    /// `Host` header.
    pub(super) host: Option<String>,
    /// `http-check expect status`.
    pub(super) expect: Option<Vec<StatusRange>>,
    /// `http-check expect string`.
    pub(super) body: Option<String>,
}

impl Default for HttpProbe {
    fn default() -> Self {
        HttpProbe {
            method: "OPTIONS".to_owned(),
            path: "/".to_owned(),
            host: None,
            expect: None,
            body: None,
        }
    }
}

/// Everything a proxy's check directives say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct CheckSpec {
    /// The probe, where `option ...` chose one.
    pub(super) probe: Option<At<Probe>>,
    /// The HTTP probe's request and expectation.
    pub(super) http: HttpProbe,
    /// `tcp-check` steps, in order.
    pub(super) script: Vec<ScriptStep>,
    /// `tcp-check connect port N`.
    pub(super) connect_port: Option<u16>,
    /// The line of a `tcp-check` rule that could not be read (the script is then dropped).
    pub(super) script_broken: Option<usize>,
    /// Whether the `tcp-check` rules so far come from a `defaults` section (the proxy's own
    /// rules replace them).
    pub(super) script_inherited: bool,
}

/// `option httpchk [METHOD] [URI] [VERSION]`.
pub(super) fn httpchk(
    spec: &mut CheckSpec,
    line: &Line,
    arguments: &[String],
    report: &mut Report,
) {
    spec.probe = Some(At::new(line.number, Probe::Http));
    let (method, path, version) = match arguments {
        [] => (None, None, None),
        [path] => (None, Some(path), None),
        [method, path] => (Some(method), Some(path), None),
        [method, path, version, ..] => (Some(method), Some(path), Some(version)),
    };
    if let Some(method) = method {
        spec.http.method = method.clone();
    }
    if let Some(path) = path {
        spec.http.path = path.clone();
    }
    if let Some(version) = version {
        for header in version.split("\r\n").skip(1).filter(|h| !h.is_empty()) {
            match header.split_once(':') {
                Some((name, value)) if name.eq_ignore_ascii_case("host") => {
                    spec.http.host = Some(value.trim().to_owned());
                }
                _ => report.left_out(
                    line.number,
                    header.to_owned(),
                    "lb's HTTP check sends no other header than Host",
                ),
            }
        }
    }
}

/// `http-check ...`.
pub(super) fn http_check(spec: &mut CheckSpec, line: &Line, report: &mut Report) {
    let words = &line.words[2.min(line.words.len())..];
    let outcome = match line.word(1) {
        "send" => http_send(spec, words),
        "expect" => http_expect(spec, words),
        "comment" => Ok(()),
        "disable-on-404" => Err("lb has no such mode: a 404 counts like any other status".into()),
        _ => Err("lb's HTTP check is one request and one expectation".into()),
    };
    if let Err(reason) = outcome {
        report.left_out(line.number, line.text.clone(), reason);
    }
}

fn http_send(spec: &mut CheckSpec, words: &[String]) -> Result<(), String> {
    let mut pairs = words.chunks(2);
    while let Some(pair) = pairs.next() {
        let [key, value] = pair else {
            return Err(format!("`{}` has no value", pair[0]));
        };
        match key.as_str() {
            "meth" => spec.http.method = value.clone(),
            "uri" => spec.http.path = value.clone(),
            "ver" => {}
            "hdr" => {
                let header_value = pairs.next().and_then(|pair| pair.first());
                match header_value {
                    Some(header) if value.eq_ignore_ascii_case("host") => {
                        spec.http.host = Some(header.clone());
                    }
                    _ => return Err("lb's HTTP check sends no other header than Host".into()),
                }
            }
            _ => return Err(format!("lb's HTTP check has no `{key}`")),
        }
    }
    Ok(())
}

fn http_expect(spec: &mut CheckSpec, words: &[String]) -> Result<(), String> {
    let words = without_comment(words);
    match words.as_slice() {
        [matcher, pattern] if matcher == "status" => {
            let ranges = pattern
                .split(',')
                .map(|range| StatusRange::parse(range).ok_or(range))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|range| format!("`{range}` is not a status or range"))?;
            spec.http.expect = Some(ranges);
            Ok(())
        }
        [matcher, pattern] if matcher == "string" => {
            spec.http.body = Some(pattern.clone());
            Ok(())
        }
        _ => Err(
            "lb's HTTP check expects statuses (`status 200-399`) or a body substring (`string \
             TEXT`), not regular expressions, negations or headers"
                .into(),
        ),
    }
}

/// `words` without `comment TEXT` pairs.
fn without_comment(words: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        if word == "comment" {
            iter.next();
        } else {
            kept.push(word.clone());
        }
    }
    kept
}

/// `tcp-check ...`; `inherited` when the line is a `defaults` section's.
pub(super) fn tcp_check(spec: &mut CheckSpec, line: &Line, inherited: bool, report: &mut Report) {
    if spec.script_inherited && !inherited {
        spec.script.clear();
        spec.connect_port = None;
        spec.script_broken = None;
    }
    spec.script_inherited = inherited;
    let words = without_comment(&line.words[2.min(line.words.len())..]);
    let step = match (line.word(1), words.as_slice()) {
        ("comment", _) => return,
        ("connect", options) if spec.script.is_empty() && spec.connect_port.is_none() => {
            match options {
                [] => return,
                [port, number] if port == "port" => match number.parse::<u16>() {
                    Ok(port) if port > 0 => {
                        spec.connect_port = Some(port);
                        return;
                    }
                    _ => Err(format!("`{number}` is not a port")),
                },
                _ => Err("lb's check connects to the server (or its check port) only".into()),
            }
        }
        ("connect", _) => Err("lb's script check holds one connection, opened first".into()),
        ("send", [text]) => Ok(ScriptStep::Send(text.clone().into_bytes())),
        ("send-binary", [hex]) => binary(hex).map(ScriptStep::Send),
        ("expect", [matcher, text]) if matcher == "string" => {
            Ok(ScriptStep::Expect(text.clone().into_bytes()))
        }
        ("expect", [matcher, hex]) if matcher == "binary" => binary(hex).map(ScriptStep::Expect),
        ("expect", _) => Err(
            "lb's script check expects a string or bytes (`string`, `binary`), not regular \
             expressions, negations or options"
                .into(),
        ),
        _ => Err("lb's script check sends and expects fixed bytes only".into()),
    };
    match step {
        Ok(step) if step_is_empty(&step) => {}
        Ok(step) => spec.script.push(step),
        Err(reason) => {
            spec.script_broken.get_or_insert(line.number);
            report.left_out(
                line.number,
                line.text.clone(),
                format!("{reason}; the whole tcp-check sequence gives way to a TCP connect check"),
            );
        }
    }
}

fn step_is_empty(step: &ScriptStep) -> bool {
    let (ScriptStep::Send(bytes) | ScriptStep::Expect(bytes)) = step;
    bytes.is_empty()
}

/// Hexadecimal digits to bytes; only ASCII bytes can be written in lb.toml.
fn binary(hex: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("`{hex}` is not an even number of hexadecimal digits");
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    if bytes.is_ascii() {
        Ok(bytes)
    } else {
        Err("bytes outside ASCII, which lb.toml cannot hold in a script step".into())
    }
}
