//! `option ...` lines, and the reasons given for the keywords lb has no equivalent for
//! (proxy directives, options and `bind` options).
//!
//! Read: `redispatch`, `httpchk`, `mysql-check`, `redis-check`, `tcp-check`, `forwardfor`,
//! `tcpka`, `clitcpka`, `srvtcpka`, `allbackups` (each undone by `no option`). The other
//! checks (`ssl-hello-chk`, `ldap-check`, ...) are kept for the VIP to note, since they only
//! matter where servers are checked. Everything else is noted with the reason below.

use super::checks::{self, Probe};
use super::lexer::Line;
use super::proxy::{Proxy, set_probe};
use super::report::Report;

const LOGGING: &str =
    "lb logs to stderr (level from RUST_LOG; one `lb::access` line per connection or request)";
const CONNECTIONS: &str = "lb's connection handling is fixed: keep-alive with clients, a pool \
                           of idle server connections, splice(2) in tcp mode";
const TLS: &str = "lb's TLS settings are fixed: TLS 1.2 and 1.3, rustls's cipher suites";

/// Reads `option NAME ...` (or `no option NAME`, `negated`).
pub(super) fn option(proxy: &mut Proxy, line: &Line, negated: bool, report: &mut Report) {
    let skip = if negated { 2 } else { 1 };
    let words = &line.words[skip.min(line.words.len())..];
    let name = words.first().map_or("", String::as_str);
    let on = !negated;
    match name {
        "redispatch" => proxy.redispatch = on,
        "httpchk" if on => checks::httpchk(&mut proxy.check, line, &words[1..], report),
        "mysql-check" if on => {
            let user = words.get(1).is_some_and(|word| word == "user");
            if user {
                report.approximated(
                    line.number,
                    line.text.clone(),
                    "lb's mysql check reads the server's greeting and does not log in",
                );
            }
            set_probe(proxy, line, Some(Probe::Mysql));
        }
        "redis-check" if on => set_probe(proxy, line, Some(Probe::Redis)),
        "tcp-check" if on => set_probe(proxy, line, Some(Probe::TcpCheck)),
        "ssl-hello-chk" | "pgsql-check" | "ldap-check" | "smtpchk" | "spop-check"
        | "external-check"
            if on =>
        {
            set_probe(proxy, line, Some(Probe::Unsupported(name.to_owned())));
        }
        "httpchk" | "mysql-check" | "redis-check" | "tcp-check" | "ssl-hello-chk"
        | "pgsql-check" | "ldap-check" | "smtpchk" | "spop-check" | "external-check" => {
            set_probe(proxy, line, None);
        }
        "forwardfor" if on => {
            proxy.forwardfor = Some(line.number);
            super::http::forwardfor(line, report);
        }
        "forwardfor" => proxy.forwardfor = None,
        "tcpka" | "clitcpka" | "srvtcpka" => {
            let state = on.then_some(line.number);
            if name != "srvtcpka" {
                proxy.client_tcpka.on = state;
            }
            if name != "clitcpka" {
                proxy.server_tcpka.on = state;
            }
        }
        "allbackups" => proxy.all_backups = on,
        _ => report.left_out(line.number, line.text.clone(), option_reason(name)),
    }
}

fn option_reason(name: &str) -> &'static str {
    match name {
        "httplog"
        | "tcplog"
        | "httpslog"
        | "dontlognull"
        | "dontlog-normal"
        | "log-separate-errors"
        | "log-health-checks"
        | "logasap" => LOGGING,
        "persist" => "lb never sends a client to a server that is down: its persistence gives way",
        "transparent" => "lb has no destination-address mode: a VIP needs servers",
        "originalto" => "lb adds no X-Original-To",
        "contstats" | "socket-stats" => "lb's metrics are per VIP and per server",
        "http-server-close"
        | "httpclose"
        | "http-keep-alive"
        | "forceclose"
        | "http-pretend-keepalive"
        | "http-no-delay"
        | "http-buffer-request"
        | "abortonclose"
        | "splice-auto"
        | "splice-request"
        | "splice-response"
        | "nolinger"
        | "tcp-smart-accept"
        | "tcp-smart-connect"
        | "independent-streams"
        | "prefer-last-server"
        | "http-use-proxy-header"
        | "http-ignore-probes"
        | "accept-invalid-http-request"
        | "accept-invalid-http-response"
        | "h1-case-adjust-bogus-client"
        | "h1-case-adjust-bogus-server"
        | "idle-close-on-response"
        | "disable-h2-upgrade"
        | "http-restrict-req-hdr-names"
        | "http-drop-request-trailers"
        | "http-drop-response-trailers" => CONNECTIONS,
        _ => "lb has no such option",
    }
}

/// Why a proxy directive lb has no equivalent for is left out.
pub(super) fn reason(keyword: &str) -> &'static str {
    match keyword {
        "acl" => "lb has no ACLs (the rules that use this one are noted where they are)",
        "log" | "log-format" | "log-format-sd" | "error-log-format" | "log-tag" | "capture"
        | "declare" => LOGGING,
        "tcp-request" | "tcp-response" => "lb has no TCP content rules",
        "errorfile" | "errorfiles" | "errorloc" | "errorloc302" | "errorloc303" | "http-error" => {
            "lb answers errors with short responses of its own"
        }
        "compression" => "lb compresses nothing",
        "http-reuse" => "lb keeps a pool of idle server connections itself (128 per server, 30 s)",
        "fullconn" | "backlog" | "rate-limit" | "max-keep-alive-queue" => {
            "lb has no such limit (its caps are max_connections per VIP and in all)"
        }
        "unique-id-format" | "unique-id-header" => "lb adds no request id",
        "monitor-uri" | "monitor" | "monitor-net" => "lb has no monitor URI on VIPs",
        "email-alert" => "lb sends no mail",
        "filter" => "lb has no filters",
        "use-server" | "force-persist" | "ignore-persist" | "persist" => {
            "lb picks servers by its scheduler and persistence, without rules"
        }
        "retry-on" => "lb retries failed connects only (`retries`)",
        "dispatch" => "lb needs servers",
        "external-check" => "lb runs no check scripts",
        "hash-balance-factor" => "lb's hashes have no load bound",
        "http-after-response" => "lb has no such rules",
        "description" | "id" | "guid" => "a label lb does not keep",
        "server-template" => "lb needs each server written out with its IP address",
        "http-send-name-header" => "lb sends no server name header",
        "reqrep" | "reqirep" | "rsprep" | "rspirep" | "reqadd" | "rspadd" | "reqdel"
        | "reqidel" | "rspdel" | "rspidel" | "reqdeny" | "reqallow" | "reqpass" => {
            "lb rewrites no header by regular expression (its rules set, add or delete whole \
             fields); HAProxy 2.1 removed these too"
        }
        "contimeout" | "clitimeout" | "srvtimeout" => {
            "removed from HAProxy (use `timeout connect`, `timeout client`, `timeout server`)"
        }
        _ => "lb has no such setting",
    }
}

/// `bind` options lb has no equivalent for, with their number of arguments and the reason.
const BIND_LEFT_OUT: [(&str, usize, &str); 32] = [
    ("name", 1, "a label lb does not keep"),
    ("id", 1, "a label lb does not keep"),
    (
        "process",
        1,
        "lb spreads connections over its worker threads itself",
    ),
    (
        "thread",
        1,
        "lb spreads connections over its worker threads itself",
    ),
    (
        "nice",
        1,
        "lb spreads connections over its worker threads itself",
    ),
    (
        "maxconn",
        1,
        "lb caps connections per VIP (max_connections), not per bind",
    ),
    ("backlog", 1, "lb has no such listener setting"),
    ("defer-accept", 0, "lb has no such listener setting"),
    ("tfo", 0, "lb has no such listener setting"),
    ("mss", 1, "lb has no such listener setting"),
    (
        "interface",
        1,
        "lb listens on the address on every interface",
    ),
    ("namespace", 1, "lb listens in its own network namespace"),
    ("v4v6", 0, "lb binds the address as written"),
    ("v6only", 0, "lb binds the address as written"),
    ("ciphers", 1, TLS),
    ("ciphersuites", 1, TLS),
    ("curves", 1, TLS),
    ("ecdhe", 1, TLS),
    ("ssl-min-ver", 1, TLS),
    ("ssl-max-ver", 1, TLS),
    ("tls-ticket-keys", 1, TLS),
    ("npn", 1, TLS),
    ("prefer-client-ciphers", 0, TLS),
    ("allow-0rtt", 0, TLS),
    ("ca-file", 1, "lb asks clients for no certificate"),
    ("verify", 1, "lb asks clients for no certificate"),
    ("crl-file", 1, "lb asks clients for no certificate"),
    (
        "crt-list",
        1,
        "lb reads the certificates of `crt` files (one PEM each)",
    ),
    (
        "strict-sni",
        0,
        "lb answers unknown names with its first certificate",
    ),
    ("generate-certificates", 0, "lb generates no certificates"),
    (
        "accept-netscaler-cip",
        1,
        "lb reads PROXY protocol headers only",
    ),
    ("level", 1, "lb has no stats socket"),
];

/// The options of `bind` lines.
pub(super) const BIND_OPTIONS: Unknown<'static> = Unknown {
    table: &BIND_LEFT_OUT,
    fallback: "lb has no such listener setting (the rest of the line goes with it)",
};

/// Keywords of a line of options (`bind`, `server`) that lb has no equivalent for.
pub(super) struct Unknown<'a> {
    /// Known keywords: name, number of arguments, reason.
    pub(super) table: &'a [(&'a str, usize, &'a str)],
    /// The reason for a keyword of unknown arity, which takes the rest of the line with it.
    pub(super) fallback: &'a str,
}

impl Unknown<'_> {
    /// Notes `keyword` (its arguments start at `index`), moving `index` past its arguments:
    /// none for `no-...` and `force-...` flags (TLS settings), the rest of the line for a
    /// keyword of unknown arity.
    pub(super) fn note(
        &self,
        keyword: &str,
        words: &[String],
        index: &mut usize,
        line: &Line,
        report: &mut Report,
    ) {
        let flag = keyword.starts_with("no-") || keyword.starts_with("force-");
        let known = self
            .table
            .iter()
            .find(|(name, _, _)| *name == keyword)
            .map(|&(_, arity, reason)| (arity, reason))
            .or_else(|| flag.then_some((0, TLS)));
        let (arity, reason) = known.unwrap_or((words.len() - *index, self.fallback));
        let end = (*index + arity).min(words.len());
        let construct = std::iter::once(keyword)
            .chain(words[*index..end].iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        report.left_out(line.number, construct, reason);
        *index = end;
    }
}
