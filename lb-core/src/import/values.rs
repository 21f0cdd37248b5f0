//! HAProxy's value syntaxes: times, sizes, bind and server addresses, names, and the rule
//! conditions lb can express.
//!
//! - A time is digits with an optional unit among `us`, `ms`, `s`, `m`, `h`, `d`; a bare
//!   number is in milliseconds (seconds for cookie ages, [`Unit::Seconds`]). Microseconds are
//!   rounded up to whole milliseconds, lb's resolution. Up to 2^31-1 ms, HAProxy's own limit.
//! - A size is digits with an optional `k`, `m` or `g` (powers of 1024).
//! - A bind address is `IP:PORT`, `:PORT` or `*:PORT` (every IPv4 address), `[IPv6]:PORT` or
//!   an IPv6 address followed by `:PORT`, with an optional `ipv4@`, `ipv6@`, `tcp@`, `tcp4@` or
//!   `tcp6@` prefix; a port range `8000-8003` gives one address per port (64 at most). A list
//!   is comma-separated.
//! - A server address is the same without wildcards, and its port may be left out (the
//!   client's destination port is used, as HAProxy does).
//! - A condition is none, `if { ssl_fc }` / `if !{ ssl_fc }` (and their `unless` forms, and
//!   `if TRUE`): whether the client's connection is TLS, which lb knows per VIP.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The unit of a bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    /// Most times: timeouts, check intervals.
    Milliseconds,
    /// Cookie ages (`maxidle`, `maxlife`).
    Seconds,
}

/// HAProxy's largest time, in milliseconds.
const MAX_TIME_MS: u64 = (1 << 31) - 1;

/// Reads a time; the error says why it cannot be read.
pub(super) fn time(text: &str, unit: Unit) -> Result<Duration, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let bad = || format!("`{text}` is not a time (e.g. `10s`, `500ms`, `2000`)");
    let value: u64 = text[..digits].parse().map_err(|_| bad())?;
    let micros_per: u64 = match &text[digits..] {
        "" => match unit {
            Unit::Milliseconds => 1_000,
            Unit::Seconds => 1_000_000,
        },
        "us" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        _ => return Err(bad()),
    };
    let ms = value
        .checked_mul(micros_per)
        .map(|micros| micros.div_ceil(1_000))
        .filter(|ms| *ms <= MAX_TIME_MS)
        .ok_or_else(|| format!("`{text}` is longer than HAProxy's limit (24.8 days)"))?;
    Ok(Duration::from_millis(ms))
}

/// Reads a size such as `1000`, `100k` or `1m`.
pub(super) fn size(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a size (e.g. `1000`, `100k`)");
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let value: u64 = text[..digits].parse().map_err(|_| bad())?;
    let factor: u64 = match text[digits..].to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(bad()),
    };
    value.checked_mul(factor).ok_or_else(bad)
}

/// Reads a number within `u32`.
pub(super) fn number(text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a whole number"))
}

/// Reads a bind address list.
pub(super) fn bind_addresses(text: &str) -> Result<Vec<SocketAddr>, String> {
    let mut addresses = Vec::new();
    for item in text.split(',') {
        let item = without_family(item)?;
        let (host, ports) = host_and_port(item)
            .ok_or_else(|| format!("`{item}` has no port (lb listens on IP:PORT)"))?;
        let ip = match host {
            "" | "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            host => ip(host)?,
        };
        let (low, high) = match ports.split_once('-') {
            Some((low, high)) => (port(low)?, port(high)?),
            None => (port(ports)?, port(ports)?),
        };
        if low > high || high - low >= 64 {
            return Err(format!("`{ports}` is not a port range of at most 64 ports"));
        }
        addresses.extend((low..=high).map(|port| SocketAddr::new(ip, port)));
    }
    Ok(addresses)
}

/// Where a server is: with its port, or without (the client's destination port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ServerAddress {
    /// `IP:PORT`.
    Socket(SocketAddr),
    /// `IP` alone.
    Ip(IpAddr),
}

/// Reads a server address.
pub(super) fn server_address(text: &str) -> Result<ServerAddress, String> {
    let text = without_family(text)?;
    if let Some((host, port_text)) = host_and_port(text) {
        let port_like = !port_text.is_empty()
            && port_text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'+' || b == b'-');
        let address = match ip(host) {
            Err(reason) if port_like && ip(text).is_err() => return Err(reason),
            address => address,
        };
        if let Ok(address) = address {
            if port_text.starts_with(['+', '-']) {
                return Err(format!(
                    "`{text}` gives a port relative to the client's, which lb cannot"
                ));
            }
            if port_text.is_empty() {
                return Ok(ServerAddress::Ip(address));
            }
            return Ok(ServerAddress::Socket(SocketAddr::new(
                address,
                port(port_text)?,
            )));
        }
    }
    ip(text).map(ServerAddress::Ip)
}

/// Strips a family prefix; refuses UNIX sockets and the other address families.
fn without_family(text: &str) -> Result<&str, String> {
    for prefix in ["ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return Ok(rest);
        }
    }
    if text.starts_with('/') || text.contains('@') {
        return Err(format!(
            "`{text}` is not a TCP address (lb listens on and connects to IP:PORT only)"
        ));
    }
    Ok(text)
}

/// `[v6]:port` or `host:port` (split at the last colon), if there is a colon.
fn host_and_port(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host, after.strip_prefix(':')?));
    }
    text.rsplit_once(':')
}

fn ip(host: &str) -> Result<IpAddr, String> {
    host.parse().map_err(|_| {
        format!(
            "`{host}` is not an IP address (lb needs addresses; the importer resolves no names)"
        )
    })
}

fn port(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| format!("`{text}` is not a port (1-65535)"))
}

/// Where a rule applies, as far as lb can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Condition {
    /// To every request.
    Always,
    /// To requests over TLS only (`if { ssl_fc }`).
    Tls,
    /// To cleartext requests only (`if !{ ssl_fc }`).
    Cleartext,
}

impl Condition {
    /// Whether the rule applies on a VIP that terminates TLS (`tls`) or not.
    pub(super) fn holds(self, tls: bool) -> bool {
        match self {
            Condition::Always => true,
            Condition::Tls => tls,
            Condition::Cleartext => !tls,
        }
    }
}

/// Reads the condition words of a rule (`if ...`, `unless ...` or none); the error is the
/// condition as written.
pub(super) fn condition(words: &[String]) -> Result<Condition, String> {
    let Some((keyword, rest)) = words.split_first() else {
        return Ok(Condition::Always);
    };
    let text = rest.join(" ");
    let positive = match text.as_str() {
        "TRUE" => Condition::Always,
        "{ ssl_fc }" => Condition::Tls,
        "!{ ssl_fc }" | "! { ssl_fc }" => Condition::Cleartext,
        _ => return Err(format!("{keyword} {text}")),
    };
    match (keyword.as_str(), positive) {
        ("if", condition) => Ok(condition),
        ("unless", Condition::Tls) => Ok(Condition::Cleartext),
        ("unless", Condition::Cleartext) => Ok(Condition::Tls),
        _ => Err(format!("{keyword} {text}")),
    }
}

/// `name` made of the characters lb allows in names (letters, digits, `-`, `_`, `.`), others
/// replaced by `_`.
pub(super) fn lb_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "_".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_default_to_milliseconds_or_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(time("2000", Unit::Milliseconds), Ok(ms(2000)));
        assert_eq!(time("10s", Unit::Milliseconds), Ok(ms(10_000)));
        assert_eq!(time("90m", Unit::Milliseconds), Ok(ms(5_400_000)));
        assert_eq!(time("1500us", Unit::Milliseconds), Ok(ms(2)));
        assert_eq!(time("30", Unit::Seconds), Ok(ms(30_000)));
        assert_eq!(time("0", Unit::Milliseconds), Ok(ms(0)));
        for bad in ["", "s", "10x", "1h30m", "-1", "25d"] {
            assert!(time(bad, Unit::Milliseconds).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(size("1000"), Ok(1000));
        assert_eq!(size("100k"), Ok(102_400));
        assert_eq!(size("1m"), Ok(1 << 20));
        assert!(size("1t").is_err());
    }

    #[test]
    fn bind_addresses_read_every_form() {
        let addrs = |text| bind_addresses(text).map_err(|_| text);
        let sa = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert_eq!(addrs(":80"), Ok(vec![sa("0.0.0.0:80")]));
        assert_eq!(addrs("*:80"), Ok(vec![sa("0.0.0.0:80")]));
        assert_eq!(
            addrs("192.0.2.1:80,ipv6@[2001:db8::1]:443"),
            Ok(vec![sa("192.0.2.1:80"), sa("[2001:db8::1]:443")])
        );
        assert_eq!(addrs(":::8080"), Ok(vec![sa("[::]:8080")]));
        assert_eq!(addrs("10.0.0.1:8000-8002").map(|a| a.len()), Ok(3));
        for bad in [
            "10.0.0.1",
            "/run/haproxy.sock",
            "unix@x",
            "host:80",
            "1.2.3.4:0",
            "1.2.3.4:1-100",
        ] {
            assert!(bind_addresses(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_addresses_may_leave_the_port_out() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(
            server_address("192.0.2.11:3306"),
            Ok(ServerAddress::Socket("192.0.2.11:3306".parse().unwrap()))
        );
        assert_eq!(
            server_address("192.0.2.11"),
            Ok(ServerAddress::Ip(ip("192.0.2.11")))
        );
        assert_eq!(
            server_address("fd00::11:80"),
            Ok(ServerAddress::Socket("[fd00::11]:80".parse().unwrap()))
        );
        assert_eq!(
            server_address("fd00::11"),
            Ok(ServerAddress::Ip(ip("fd00::11")))
        );
        for bad in [
            "controller-0:80",
            "192.0.2.1:+1000",
            "unix@/x",
            "192.0.2.1:99999",
        ] {
            assert!(server_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_tls_conditions_are_understood() {
        let words =
            |text: &str| -> Vec<String> { text.split_whitespace().map(str::to_owned).collect() };
        assert_eq!(condition(&[]), Ok(Condition::Always));
        assert_eq!(condition(&words("if { ssl_fc }")), Ok(Condition::Tls));
        assert_eq!(
            condition(&words("if !{ ssl_fc }")),
            Ok(Condition::Cleartext)
        );
        assert_eq!(
            condition(&words("unless { ssl_fc }")),
            Ok(Condition::Cleartext)
        );
        assert_eq!(
            condition(&words("if { hdr(host) -i a } !{ ssl_fc }")),
            Err("if { hdr(host) -i a } !{ ssl_fc }".to_owned())
        );
        assert!(Condition::Tls.holds(true) && !Condition::Tls.holds(false));
    }

    #[test]
    fn names_keep_lb_characters() {
        assert_eq!(lb_name("haproxy.stats"), "haproxy.stats");
        assert_eq!(lb_name("ns:web"), "ns_web");
    }
}
