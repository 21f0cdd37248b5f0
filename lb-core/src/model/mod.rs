//! The typed model of a load-balancer configuration.
//!
//! This is what the rest of the system runs on; it knows nothing of the file format (see
//! [`crate::config`] for the TOML layer), so an embedder can build it in code. Defaults follow
//! the OpenStack profile (HAProxy as deployed by TripleO): see each type's `Default`.

mod check;
mod duration;
mod http;
mod network;
mod server;
mod source;
mod tls;
mod validate;
mod vip;

pub use check::{Check, CheckKind, HttpCheck, InitialState, ScriptStep, StatusRange};
pub use duration::{DurationParseError, format_duration, parse_duration};
pub use http::{
    HeadLimits, HeaderRule, HttpOptions, PathMatch, PathRegex, PathRewrite, Redirect,
    RedirectTarget,
};
pub use network::{KeepAlive, Network, NetworkParseError, ProxyVersion};
pub use server::{AdminState, Health, MAX_WEIGHT, Server, ServerId};
pub use source::{Source, SourceParseError};
pub use tls::{CertificatePaths, ServerTls, TlsSettings};
pub(crate) use validate::out_of_range;
pub use validate::{ValidationError, validate, validate_vip};
pub use vip::{Admin, Config, Global, Mode, Persistence, SchedulerKind, Timeouts, Vip};
