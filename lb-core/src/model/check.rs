//! Health-check settings of a VIP: which protocol, how often, and the rise/fall thresholds.
//!
//! Defaults (those of the OpenStack profile): a `tcp` connect check every 2 s, 2 successes to
//! rise, 5 failures to fall, a 10 s timeout, the fast interval equal to the interval, the down
//! interval equal to the interval, servers starting `up`, and passive observation off.

use std::time::Duration;

/// The health-check settings of one VIP (applied to each of its servers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The protocol spoken by the probe.
    pub kind: CheckKind,
    /// Time between probes of a stable server.
    pub interval: Duration,
    /// Time between probes while a transition is under way (some successes of a down server or
    /// some failures of an up one).
    pub fast_interval: Duration,
    /// Time between probes of a server that is down.
    pub down_interval: Duration,
    /// Consecutive successes that bring a down server up.
    pub rise: u32,
    /// Consecutive failures that bring an up server down.
    pub fall: u32,
    /// How long one probe may take before it counts as a failure.
    pub timeout: Duration,
    /// Probe this port instead of the server's traffic port (Galera's clustercheck on 9200).
    pub port: Option<u16>,
    /// The state a server has before its first probes complete.
    pub initial: InitialState,
    /// Consecutive connection failures seen by the proxy that mark a server down; `None`
    /// disables passive observation.
    pub observe_failures: Option<u32>,
}

impl Default for Check {
    fn default() -> Self {
        Check {
            kind: CheckKind::Tcp,
            interval: Duration::from_secs(2),
            fast_interval: Duration::from_secs(2),
            down_interval: Duration::from_secs(2),
            rise: 2,
            fall: 5,
            timeout: Duration::from_secs(10),
            port: None,
            initial: InitialState::Up,
            observe_failures: None,
        }
    }
}

/// The state a server has before its checks have spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    /// Up at once; the first `fall` failures take it down (HAProxy's default).
    #[default]
    Up,
    /// Down until `rise` successes (safer for Galera and Redis writers).
    Down,
}

/// The probe protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// A TCP connect that completes in time.
    Tcp,
    /// An HTTP request whose status is in the expected ranges.
    Http(HttpCheck),
    /// A MySQL/MariaDB server greeting (protocol 10 is up; an error packet is down).
    Mysql,
    /// Redis: optional `AUTH`, `PING` → `+PONG`, `INFO replication` → `role:master`.
    Redis {
        /// Sent with `AUTH` first when set.
        password: Option<String>,
    },
    /// A send/expect script.
    Script(Vec<ScriptStep>),
}

impl CheckKind {
    /// The name used in configuration files.
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "tcp",
            CheckKind::Http(_) => "http",
            CheckKind::Mysql => "mysql",
            CheckKind::Redis { .. } => "redis",
            CheckKind::Script(_) => "script",
        }
    }
}

/// An HTTP check. Defaults: `GET /`, no Host header beyond the server address, 2xx and 3xx
/// expected, no body match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    /// Request method.
    pub method: String,
    /// Request path (with query, if any).
    pub path: String,
    /// `Host` header; the server's address when unset.
    pub host: Option<String>,
    /// Status ranges that count as up.
    pub expect: Vec<StatusRange>,
    /// A substring that must appear in the response body.
    pub body_contains: Option<String>,
}

impl Default for HttpCheck {
    fn default() -> Self {
        HttpCheck {
            method: "GET".to_owned(),
            path: "/".to_owned(),
            host: None,
            expect: vec![StatusRange {
                low: 200,
                high: 399,
            }],
            body_contains: None,
        }
    }
}

/// An inclusive range of HTTP status codes, written `200`, `2xx` or `200-499`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    /// Lowest status included.
    pub low: u16,
    /// Highest status included.
    pub high: u16,
}

impl StatusRange {
    /// Whether `status` lies in the range.
    pub fn contains(&self, status: u16) -> bool {
        (self.low..=self.high).contains(&status)
    }

    /// Parses `200`, `2xx` or `200-499`; `None` when malformed or outside 100-599.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let code = |s: &str| s.parse::<u16>().ok().filter(|c| (100..=599).contains(c));
        let range = if let Some(class) = text.strip_suffix("xx") {
            let digit = code(&format!("{class}00"))?;
            StatusRange {
                low: digit,
                high: digit + 99,
            }
        } else if let Some((low, high)) = text.split_once('-') {
            StatusRange {
                low: code(low)?,
                high: code(high)?,
            }
        } else {
            let status = code(text)?;
            StatusRange {
                low: status,
                high: status,
            }
        };
        (range.low <= range.high).then_some(range)
    }
}

/// One step of a send/expect script check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptStep {
    /// Write these bytes.
    Send(Vec<u8>),
    /// Read until these bytes have been seen (anywhere in what arrived since the last step).
    Expect(Vec<u8>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges_read_like_haproxy() {
        assert_eq!(
            StatusRange::parse("200"),
            Some(StatusRange {
                low: 200,
                high: 200
            })
        );
        assert_eq!(
            StatusRange::parse("2xx"),
            Some(StatusRange {
                low: 200,
                high: 299
            })
        );
        assert_eq!(
            StatusRange::parse("200-499"),
            Some(StatusRange {
                low: 200,
                high: 499
            })
        );
        assert_eq!(StatusRange::parse("499-200"), None);
        assert_eq!(StatusRange::parse("9xx"), None);
        assert_eq!(StatusRange::parse("abc"), None);
    }
}
