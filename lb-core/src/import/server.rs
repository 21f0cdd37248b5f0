//! `server` and `default-server` lines: a server's address and its options.
//!
//! A server starts from the `default-server` options in force where it is declared (those of
//! the `defaults` section, then the proxy's own). Read: `check`, `inter`, `fastinter`,
//! `downinter`, `rise`, `fall`, `port`, `weight`, `backup`, `disabled`,
//! `on-marked-down shutdown-sessions`, `send-proxy`, `send-proxy-v2`, `ssl`, `check-ssl`,
//! `verify`, `ca-file`, `sni str(NAME)`, `crt`, `alpn`, `cookie`, `observe layer4`,
//! `error-limit`, `on-error mark-down`, and the `no-` forms of the flags. Anything else is
//! noted at the line with its words, and the rest of a line whose keyword the importer does
//! not know is noted with it (its arguments cannot be told apart from the next keyword).

use std::time::Duration;

use super::lexer::Line;
use super::options::Unknown;
use super::report::Report;
use super::values::{ServerAddress, Unit, number, server_address, time};
use crate::model::{MAX_WEIGHT, ProxyVersion};

/// What the options of a `server` line (or `default-server`) say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ServerOptions {
    /// `check`: health-checked.
    pub(super) check: bool,
    /// `inter`.
    pub(super) inter: Option<Duration>,
    /// `fastinter`.
    pub(super) fastinter: Option<Duration>,
    /// `downinter`.
    pub(super) downinter: Option<Duration>,
    /// `rise`.
    pub(super) rise: Option<u32>,
    /// `fall`.
    pub(super) fall: Option<u32>,
    /// `port`: the check's port.
    pub(super) port: Option<u16>,
    /// `weight`.
    pub(super) weight: Option<u16>,
    /// `backup`.
    pub(super) backup: bool,
    /// `disabled`: in maintenance.
    pub(super) disabled: bool,
    /// `on-marked-down shutdown-sessions`.
    pub(super) shutdown_sessions: bool,
    /// `send-proxy` or `send-proxy-v2`.
    pub(super) send_proxy: Option<ProxyVersion>,
    /// `ssl`: TLS to the server.
    pub(super) ssl: bool,
    /// `check-ssl`: checks over TLS.
    pub(super) check_ssl: bool,
    /// `verify none` (false) or `verify required` (true).
    pub(super) verify: Option<bool>,
    /// `ca-file`.
    pub(super) ca_file: Option<String>,
    /// `sni str(NAME)`.
    pub(super) sni: Option<String>,
    /// `crt`: the client certificate and key, in one PEM file.
    pub(super) crt: Option<String>,
    /// `alpn`.
    pub(super) alpn: Option<Vec<String>>,
    /// `cookie`: the server's persistence cookie value.
    pub(super) cookie: Option<String>,
    /// `observe layer4`.
    pub(super) observe: bool,
    /// `error-limit` (HAProxy's default 10).
    pub(super) error_limit: Option<u32>,
    /// `on-error mark-down`.
    pub(super) mark_down_on_error: bool,
}

/// One `server` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ServerSpec {
    /// Its name.
    pub(super) name: String,
    /// Its line.
    pub(super) line: usize,
    /// Its address, or why it cannot be read.
    pub(super) address: Result<ServerAddress, String>,
    /// Its options, `default-server` ones included.
    pub(super) options: ServerOptions,
}

/// Reads a `server NAME ADDRESS [OPTIONS]` line, starting from `defaults`.
pub(super) fn server(line: &Line, defaults: &ServerOptions, report: &mut Report) -> ServerSpec {
    let mut options = defaults.clone();
    read_options(
        &line.words[3.min(line.words.len())..],
        line,
        &mut options,
        report,
    );
    ServerSpec {
        name: line.word(1).to_owned(),
        line: line.number,
        address: server_address(line.word(2)),
        options,
    }
}

/// Server keywords lb has no equivalent for, with their number of arguments and the reason.
const LEFT_OUT: [(&str, usize, &str); 31] = [
    (
        "maxconn",
        1,
        "lb caps connections per VIP (max_connections), not per server",
    ),
    (
        "maxqueue",
        1,
        "lb queues per VIP (queue_timeout), not per server",
    ),
    (
        "minconn",
        1,
        "lb caps connections per VIP (max_connections), not per server",
    ),
    (
        "slowstart",
        1,
        "lb gives a recovered server its whole share at once",
    ),
    (
        "addr",
        1,
        "lb checks each server's own address (only the port may differ)",
    ),
    ("agent-check", 0, "lb has no agent checks"),
    ("agent-port", 1, "lb has no agent checks"),
    ("agent-inter", 1, "lb has no agent checks"),
    ("agent-addr", 1, "lb has no agent checks"),
    ("agent-send", 1, "lb has no agent checks"),
    ("track", 1, "lb checks every server itself"),
    ("id", 1, "lb numbers servers in their order"),
    ("resolvers", 1, "lb resolves no names"),
    ("resolve-prefer", 1, "lb resolves no names"),
    ("resolve-net", 1, "lb resolves no names"),
    ("resolve-opts", 1, "lb resolves no names"),
    ("init-addr", 1, "lb resolves no names"),
    ("redir", 1, "lb has no per-server redirects"),
    (
        "ciphers",
        1,
        "lb's TLS settings are fixed: TLS 1.2 and 1.3, rustls's cipher suites",
    ),
    (
        "ciphersuites",
        1,
        "lb's TLS settings are fixed: TLS 1.2 and 1.3, rustls's cipher suites",
    ),
    (
        "ssl-min-ver",
        1,
        "lb's TLS settings are fixed: TLS 1.2 and 1.3",
    ),
    (
        "ssl-max-ver",
        1,
        "lb's TLS settings are fixed: TLS 1.2 and 1.3",
    ),
    ("crl-file", 1, "lb checks no revocation lists"),
    ("check-sni", 1, "lb's checks send the VIP's server_name"),
    ("check-alpn", 1, "lb's checks offer the VIP's ALPN"),
    ("check-send-proxy", 0, "lb's checks send no PROXY header"),
    (
        "verifyhost",
        1,
        "lb checks the certificate against `sni` (server_name) or the IP address",
    ),
    (
        "on-marked-up",
        1,
        "lb closes no backup sessions when a primary comes back",
    ),
    (
        "pool-max-conn",
        1,
        "lb's pool of idle server connections is fixed (128 per server, 30 s)",
    ),
    (
        "pool-purge-delay",
        1,
        "lb's pool of idle server connections is fixed (128 per server, 30 s)",
    ),
    (
        "source",
        1,
        "lb sets `source` per VIP (the proxy's `source` line)",
    ),
];

const SERVER_OPTIONS: Unknown<'static> = Unknown {
    table: &LEFT_OUT,
    fallback: "lb has no such server setting (the rest of the line goes with it)",
};

/// Reads the options in `words` (of `line`) into `options`.
pub(super) fn read_options(
    words: &[String],
    line: &Line,
    options: &mut ServerOptions,
    report: &mut Report,
) {
    let mut index = 0;
    while index < words.len() {
        let keyword = words[index].as_str();
        let argument = words.get(index + 1).map_or("", String::as_str);
        let mut invalid = |reason: String| {
            report.left_out(line.number, format!("{keyword} {argument}"), reason);
        };
        index += 1;
        match keyword {
            "check" => options.check = true,
            "no-check" => options.check = false,
            "backup" => options.backup = true,
            "no-backup" => options.backup = false,
            "disabled" => options.disabled = true,
            "enabled" => options.disabled = false,
            "ssl" => options.ssl = true,
            "no-ssl" => options.ssl = false,
            "check-ssl" => options.check_ssl = true,
            "no-check-ssl" => options.check_ssl = false,
            "send-proxy" => options.send_proxy = Some(ProxyVersion::V1),
            "send-proxy-v2" => options.send_proxy = Some(ProxyVersion::V2),
            "no-send-proxy" | "no-send-proxy-v2" => options.send_proxy = None,
            _ => {
                index += 1;
                match keyword {
                    "inter" | "fastinter" | "downinter" => {
                        match time(argument, Unit::Milliseconds) {
                            Ok(interval) if !interval.is_zero() => {
                                *match keyword {
                                    "inter" => &mut options.inter,
                                    "fastinter" => &mut options.fastinter,
                                    _ => &mut options.downinter,
                                } = Some(interval);
                            }
                            Ok(_) => invalid("a zero interval".to_owned()),
                            Err(reason) => invalid(reason),
                        }
                    }
                    "rise" | "fall" => match number(argument) {
                        Ok(count) if count > 0 => {
                            *if keyword == "rise" {
                                &mut options.rise
                            } else {
                                &mut options.fall
                            } = Some(count);
                        }
                        _ => invalid(format!("`{argument}` is not a count of 1 or more")),
                    },
                    "port" => match argument.parse::<u16>() {
                        Ok(port) if port > 0 => options.port = Some(port),
                        _ => invalid(format!("`{argument}` is not a port")),
                    },
                    "weight" => match argument.parse::<u16>() {
                        Ok(weight) if weight <= MAX_WEIGHT => options.weight = Some(weight),
                        _ => invalid(format!("`{argument}` is not a weight (0-{MAX_WEIGHT})")),
                    },
                    "on-marked-down" if argument == "shutdown-sessions" => {
                        options.shutdown_sessions = true;
                    }
                    "verify" => match argument {
                        "none" => options.verify = Some(false),
                        "required" => options.verify = Some(true),
                        _ => invalid(format!("`{argument}` is neither `none` nor `required`")),
                    },
                    "ca-file" => options.ca_file = Some(argument.to_owned()),
                    "crt" => options.crt = Some(argument.to_owned()),
                    "sni" => match argument
                        .strip_prefix("str(")
                        .and_then(|rest| rest.strip_suffix(')'))
                    {
                        Some(name) => options.sni = Some(name.to_owned()),
                        None => invalid(
                            "lb sends one fixed name by SNI (`sni str(NAME)`), not one taken \
                             from the request"
                                .to_owned(),
                        ),
                    },
                    "alpn" => {
                        options.alpn = Some(argument.split(',').map(str::to_owned).collect());
                    }
                    "cookie" => options.cookie = Some(argument.to_owned()),
                    "observe" if argument == "layer4" => options.observe = true,
                    "observe" => {
                        invalid("lb observes connection failures only (layer4)".to_owned())
                    }
                    "error-limit" => match number(argument) {
                        Ok(limit) if limit > 0 => options.error_limit = Some(limit),
                        _ => invalid(format!("`{argument}` is not a count of 1 or more")),
                    },
                    "on-error" if argument == "mark-down" => options.mark_down_on_error = true,
                    "on-error" | "on-marked-down" => invalid(
                        "lb can mark a server down (on-error mark-down) and close the sessions of \
                         a server marked down (shutdown-sessions), nothing else"
                            .to_owned(),
                    ),
                    _ => {
                        index -= 1;
                        SERVER_OPTIONS.note(keyword, words, &mut index, line, report);
                    }
                }
            }
        }
    }
}
