//! Pure logic of the `lb` load balancer.
//!
//! Everything here is deterministic and free of I/O: no sockets, no tokio, no clock. Time
//! (`now`, a [`std::time::Duration`] since an arbitrary monotonic origin) and randomness (a
//! `u64` drawn by the caller) are passed in as arguments, so that property tests can drive
//! hours of simulated time in milliseconds.
//!
//! - [`model`]: the typed configuration (virtual services, servers, checks, persistence),
//!   which an embedder can build in code without any file.
//! - [`config`]: the TOML file layer: parses, validates, and reports every error with its
//!   file, line, column and field path.
//! - [`pool`]: the immutable per-VIP snapshot of servers, their admin and health states, and
//!   the live counters kept beside it so that a rebuild loses nothing.
//! - [`scheduler`]: one trait, one file per algorithm.
//! - [`persistence`]: source-IP tables, HTTP cookies and last-successful stickiness.
//! - [`profile`]: the built-in OpenStack profile.
//! - [`import`]: an HAProxy configuration made into an lb one, with a report of what differs.
//! - [`proxy_protocol`]: the PROXY protocol v1/v2 header codec.
//! - [`reload`]: a reload as a pure diff of the running VIPs and the new configuration.

pub mod cluster;
pub mod config;
pub mod import;
pub mod model;
pub mod persistence;
pub mod pool;
pub mod profile;
pub mod proxy_protocol;
pub mod reload;
pub mod scheduler;
