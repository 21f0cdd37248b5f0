//! The settings of `http` VIPs beyond the ones every VIP has: forwarding-header trust, the
//! persistence cookie's secret, header rules, path rewrites and redirects.
//!
//! Order of application to a request: redirects (the first that matches answers at once),
//! then the first matching path rewrite, then request header rules in order; response
//! header rules apply in order to every response from a server.
//!
//! Defaults: no trusted forwarders (every client's `X-Forwarded-*` and `Forwarded` headers
//! are replaced), a cookie secret drawn at random once per process (persistence cookies then
//! do not survive a restart or a switch to a standby balancer: set one to keep them), no
//! rules, rewrites or redirects; a redirect's status is 301; request heads up to 32 KiB and
//! 100 fields ([`HeadLimits`]).

use std::fmt;
use std::ops::RangeInclusive;

use super::Network;

/// What an `http` VIP does beyond forwarding requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpOptions {
    /// Peers (proxies in front) whose forwarding headers are kept, the client address being
    /// appended after theirs; anyone else's are replaced.
    pub trusted_forwarders: Vec<Network>,
    /// Key of the persistence cookie's MAC and server tags (cookie persistence only); the same
    /// on every balancer of a VIP so cookies survive restarts and failovers.
    pub cookie_secret: Option<u128>,
    /// Applied in order to every request before it is forwarded.
    pub request_headers: Vec<HeaderRule>,
    /// Applied in order to every response from a server.
    pub response_headers: Vec<HeaderRule>,
    /// The first whose path matches rewrites the request's path (the query is kept).
    pub rewrites: Vec<PathRewrite>,
    /// The first whose path matches answers the request with a redirect.
    pub redirects: Vec<Redirect>,
    /// How large a request head may be.
    pub head_limits: HeadLimits,
}

/// The size limits of a request head (an HTTP/2 header list is held to `max_bytes` too): a
/// request over either gets 431 and reaches no server (HAProxy's `tune.bufsize` and
/// `tune.http.maxhdr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Longest head, request line and fields, in bytes.
    pub max_bytes: usize,
    /// Most header fields.
    pub max_fields: usize,
}

impl HeadLimits {
    /// The accepted values of `max_bytes`: 1 KiB to 1 MiB.
    pub const BYTES: RangeInclusive<usize> = 1024..=1024 * 1024;
    /// The accepted values of `max_fields`.
    pub const FIELDS: RangeInclusive<usize> = 1..=1000;
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_bytes: 32 * 1024,
            max_fields: 100,
        }
    }
}

/// A change to one header field. Names compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderRule {
    /// Adds a field, keeping any of the same name.
    Add {
        /// Field name.
        name: String,
        /// Field value.
        value: String,
    },
    /// Replaces every field of the name with one.
    Set {
        /// Field name.
        name: String,
        /// Field value.
        value: String,
    },
    /// Removes every field of the name.
    Delete {
        /// Field name.
        name: String,
    },
}

impl HeaderRule {
    /// The action's name in configuration files: `add`, `set` or `delete`.
    pub fn action(&self) -> &'static str {
        match self {
            HeaderRule::Add { .. } => "add",
            HeaderRule::Set { .. } => "set",
            HeaderRule::Delete { .. } => "delete",
        }
    }

    /// The field name.
    pub fn name(&self) -> &str {
        match self {
            HeaderRule::Add { name, .. }
            | HeaderRule::Set { name, .. }
            | HeaderRule::Delete { name } => name,
        }
    }
}

/// Which request paths a rewrite or redirect applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// Exactly this path.
    Exact(String),
    /// Paths starting with this.
    Prefix(String),
    /// Paths the regular expression matches (Rust `regex` syntax, anywhere in the path unless
    /// anchored).
    Regex(PathRegex),
}

/// A regular expression over request paths, checked when it is built.
#[derive(Clone)]
pub struct PathRegex(regex::Regex);

impl PathRegex {
    /// Compiles `pattern`, or says why it is not a valid expression.
    pub fn new(pattern: &str) -> Result<Self, String> {
        regex::Regex::new(pattern)
            .map(PathRegex)
            .map_err(|error| format!("invalid regular expression `{pattern}`: {error}"))
    }

    /// The compiled expression.
    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for PathRegex {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for PathRegex {}

impl fmt::Debug for PathRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathRegex({:?})", self.as_str())
    }
}

/// A path rewrite: an exact path is replaced whole, a prefix by `replace`, a regex match by
/// `replace` with `$1`, `$name` expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRewrite {
    /// Which paths.
    pub path: PathMatch,
    /// What replaces the matched part.
    pub replace: String,
}

/// Where a redirect sends the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectTarget {
    /// The same host, path and query over HTTPS (on `port` if set, else the default 443).
    Https {
        /// The HTTPS port, if not 443.
        port: Option<u16>,
    },
    /// This location, as given.
    Location(String),
}

/// A redirect answered by the balancer itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Which paths.
    pub path: PathMatch,
    /// Where to.
    pub to: RedirectTarget,
    /// 301, 302, 303, 307 or 308 (default 301).
    pub status: u16,
}

impl Redirect {
    /// The statuses a redirect may have.
    pub const STATUSES: [u16; 5] = [301, 302, 303, 307, 308];
}
