//! `lb_core::config::parse` reports every mistake of a file, each at the line and column that
//! caused it and with the field's path, and only once.

use lb_core::config::{ConfigError, parse};

fn errors(text: &str) -> Vec<ConfigError> {
    parse("lb.toml", text)
        .expect_err("the file has mistakes")
        .errors
}

/// `(line, column, path)` of each error.
fn places(text: &str) -> Vec<(usize, usize, String)> {
    errors(text)
        .into_iter()
        .map(|error| (error.line, error.column, error.path))
        .collect()
}

fn place(line: usize, column: usize, path: &str) -> (usize, usize, String) {
    (line, column, path.to_owned())
}

#[test]
fn every_mistake_is_reported_where_it_was_made() {
    let text = include_str!("data/mistakes.toml");
    assert_eq!(
        places(text),
        [
            place(8, 24, "vip[0].persistence.kind"),
            place(10, 44, "vip[0].servers[0].wieght"),
            place(11, 53, "vip[0].servers[1].weight"),
            place(16, 11, "vip[1].listen[0]"),
            place(17, 13, "vip[1].scheduler"),
            place(18, 18, "vip[1].check.rise"),
            place(20, 27, "vip[1].servers[0].address"),
        ]
    );
    let shown = parse("lb.toml", text).unwrap_err().to_string();
    assert!(shown.contains("lb.toml:11:53: vip[0].servers[1].weight: 300 is out of range (0-256)"));
    assert!(shown.contains("unknown key `wieght` (did you mean `weight`?)"));
    assert!(shown.contains("expected one of: round-robin, least-connections"));
    assert_eq!(shown.lines().count(), 7);
}

#[test]
fn syntax_errors_have_positions_and_do_not_hide_the_rest() {
    let text = "[[vip]]\nname = \"web\nlisten = 3\n";
    let found = errors(text);
    assert_eq!(
        (found[1].line, found[1].column, found[1].path.as_str()),
        (2, 12, "")
    );
    assert!(found.iter().any(|error| error.path == "vip[0].listen"));
}

#[test]
fn a_mistake_in_defaults_is_reported_once_at_the_defaults() {
    let text = r#"
[defaults]
check = { rise = 0, interval = "soon" }
[[vip]]
name = "a"
listen = ["192.0.2.10:80"]
servers = [{ name = "a", address = "192.0.2.11:80" }]
[[vip]]
name = "b"
listen = ["192.0.2.10:81"]
servers = [{ name = "a", address = "192.0.2.11:81" }]
"#;
    assert_eq!(
        places(text),
        [
            place(3, 18, "defaults.check.rise"),
            place(3, 32, "defaults.check.interval"),
        ]
    );
}

#[test]
fn missing_keys_wrong_types_and_misplaced_keys_are_named() {
    let text = r#"
[[vip]]
listen = "192.0.2.10:80"
mode = "udp"
retries = "three"
persistence = { kind = "source-ip", name = "SERVERID" }
check = { kind = "tcp", path = "/", port = 70000 }
servers = [{ name = "a" }]
"#;
    let found = errors(text);
    let messages: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "2:1: vip[0].name: missing required key `name`",
            "4:8: vip[0].mode: unknown mode `udp` (expected one of: tcp, http)",
            "5:11: vip[0].retries: expected an integer, found string",
            "6:37: vip[0].persistence.name: `name` applies to cookie persistence, not to source-ip",
            "7:25: vip[0].check.path: `path` applies to http checks, not to tcp checks",
            "7:44: vip[0].check.port: 70000 is out of range (1-65535)",
            "8:12: vip[0].servers[0].address: missing required key `address`",
        ]
    );
}

#[test]
fn duplicates_are_reported_at_the_second_occurrence() {
    let text = r#"
[admin]
listen = "127.0.0.1:9900"
[[vip]]
name = "web"
listen = ["127.0.0.1:9900"]
servers = [
  { name = "a", address = "192.0.2.11:80" },
  { name = "a", address = "192.0.2.12:80" },
]
[[vip]]
name = "web"
listen = ["192.0.2.10:81"]
servers = []
"#;
    let messages: Vec<String> = errors(text).iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "6:11: vip[0].listen[0]: 127.0.0.1:9900 is already used by admin.listen",
            "9:12: vip[0].servers[1].name: duplicate server name `a` (first used by servers[0])",
            "12:8: vip[1].name: duplicate VIP name `web` (first used by vip[0])",
            "14:11: vip[1].servers: a VIP needs at least one server",
        ]
    );
}

#[test]
fn zero_durations_and_thresholds_are_refused() {
    let text = r#"
[[vip]]
name = "web"
listen = ["192.0.2.10:80"]
connect_timeout = "0s"
queue_timeout = "0s"
check = { fall = 0, timeout = "0ms", observe_failures = 0 }
servers = [{ name = "a", address = "192.0.2.11:80" }]
"#;
    assert_eq!(
        places(text),
        [
            place(5, 19, "vip[0].connect_timeout"),
            place(7, 18, "vip[0].check.fall"),
            place(7, 31, "vip[0].check.timeout"),
            place(7, 57, "vip[0].check.observe_failures"),
        ]
    );
}

#[test]
fn an_unparsable_value_gives_one_message_not_a_cascade() {
    let text = r#"
[[vip]]
name = "web"
listen = ["nowhere", "192.0.2.10:80"]
mode = "htp"
persistence = { kind = "cookie" }
servers = [{ name = "a", address = "192.0.2.11:80", weight = -1 }]
"#;
    let messages: Vec<String> = errors(text).iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[0].starts_with("4:11: vip[0].listen[0]: `nowhere` is not an address:port"));
    assert_eq!(
        messages[1],
        "5:8: vip[0].mode: unknown mode `htp`; did you mean `http`? (one of: tcp, http)"
    );
    assert_eq!(
        messages[2],
        "7:62: vip[0].servers[0].weight: -1 is out of range (0-256)"
    );
}

#[test]
fn a_single_vip_table_is_told_to_use_double_brackets() {
    let text = "[vip]\nname = \"web\"\n";
    let messages: Vec<String> = errors(text).iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["1:1: vip: write each VIP as a [[vip]] table"]);
}

#[test]
fn tls_mistakes_are_reported_at_their_field() {
    let text = r#"
[[vip]]
name = "horizon"
listen = "192.0.2.10:443"
tls = { certificates = [{ cert = "a.pem" }, { cert = "", key = "b.key", chain = "c" }], alpn = [1] }
servers = [{ name = "a", address = "192.0.2.11:80" }]

[[vip]]
name = "mysql"
listen = "192.0.2.10:3306"
tls = { certificates = [] }
servers = [{ name = "a", address = "192.0.2.11:3306" }]
"#;
    let messages: Vec<String> = errors(text).iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "5:25: vip[0].tls.certificates[0].key: missing required key `key`",
            "5:54: vip[0].tls.certificates[1].cert: names no file",
            "5:73: vip[0].tls.certificates[1].chain: unknown key `chain` (expected one of: cert, key)",
            "5:97: vip[0].tls.alpn[0]: expected a string, found integer",
            "11:24: vip[1].tls.certificates: needs at least one certificate",
        ]
    );
}

#[test]
fn server_tls_mistakes_name_their_line_and_field() {
    let text = r#"
[[vip]]
name = "keystone"
listen = "192.0.2.10:5000"
mode = "http"
server_tls = { server_name = "controller internal", cert = "client.pem", alpn = ["h2"] }
servers = [{ name = "a", address = "192.0.2.11:5000" }]

[[vip]]
name = "glance"
listen = "192.0.2.10:9292"
server_tls = { ca = "ca.pem", key = "client.key", verify = "no" }
servers = [{ name = "a", address = "192.0.2.11:9292" }]
"#;
    let messages: Vec<String> = errors(text).iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "6:14: vip[0].server_tls.ca: needed while `verify` is on: the PEM file of the \
             authorities that sign the servers' certificates (`verify = false` accepts any \
             certificate, insecure)",
            "6:30: vip[0].server_tls.server_name: `controller internal` is neither a DNS name \
             nor an IP address",
            "6:60: vip[0].server_tls.cert: a client certificate needs both `cert` and `key`: \
             `key` is missing",
            "6:82: vip[0].server_tls.alpn[0]: http VIPs speak HTTP/1.1 to their servers: `h2` \
             cannot be offered",
            "12:37: vip[1].server_tls.key: a client certificate needs both `cert` and `key`: \
             `cert` is missing",
            "12:60: vip[1].server_tls.verify: expected true or false, found string",
        ]
    );
    let shown = parse("lb.toml", text).unwrap_err().to_string();
    assert!(shown.contains("lb.toml:6:14: vip[0].server_tls.ca: needed while `verify` is on"));
}

#[test]
fn header_limits_out_of_range_name_their_line_and_field() {
    let text = r#"
[[vip]]
name = "web"
listen = ["192.0.2.10:80"]
mode = "http"
servers = [{ name = "a", address = "192.0.2.11:80" }]
http = { max_header_bytes = 512, max_header_fields = 5000 }
"#;
    let errors = errors(text);
    let found: Vec<(usize, String, String)> = errors
        .into_iter()
        .map(|error| (error.line, error.path, error.message))
        .collect();
    assert_eq!(
        found,
        [
            (
                7,
                "vip[0].http.max_header_bytes".to_owned(),
                "512 is out of range (1024-1048576)".to_owned()
            ),
            (
                7,
                "vip[0].http.max_header_fields".to_owned(),
                "5000 is out of range (1-1000)".to_owned()
            ),
        ]
    );
}

#[test]
fn source_mistakes_name_their_line_and_field() {
    let text = r#"
[[vip]]
name = "a"
listen = ["192.0.2.10:80"]
source = "clientip"
servers = [{ name = "a", address = "192.0.2.11:80" }]
[[vip]]
name = "b"
listen = ["192.0.2.10:81"]
source = 10
servers = [{ name = "a", address = "192.0.2.11:81" }]
[[vip]]
name = "c"
listen = ["192.0.2.10:82"]
source = "client"
servers = [
  { name = "a", address = "192.0.2.11:82" },
  { name = "b", address = "[2001:db8::11]:82" },
]
"#;
    assert_eq!(
        places(text),
        [
            place(5, 10, "vip[0].source"),
            place(10, 10, "vip[1].source"),
            place(18, 27, "vip[2].servers[1].address"),
        ]
    );
    let shown = parse("lb.toml", text).unwrap_err().to_string();
    assert!(
        shown.contains(
            "lb.toml:5:10: vip[0].source: `clientip` is neither \"client\" nor an IP address"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("this VIP's clients are IPv4 (its listen addresses): an IPv6 server"),
        "{shown}"
    );
}
