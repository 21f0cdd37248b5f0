//! The I/O crate of `lb`: tokio listeners and TCP forwarding for the virtual services that
//! `lb-core` describes.
//!
//! Start a service from a [`lb_core::model::Vip`] with [`Service::start`] (inside a Tokio
//! runtime); the returned [`ServiceHandle`] changes its servers' admin and health states,
//! replaces its server list, closes a server's sessions, reads its [`Stats`] and stops it.
//!
//! ```no_run
//! # async fn run() -> Result<(), lb_proxy::Error> {
//! use lb_core::model::{Server, ServerId, Vip};
//! use lb_proxy::Service;
//!
//! let mut vip = Vip::new("keystone", "127.0.0.1:5000".parse().unwrap());
//! vip.servers.push(Server::new(ServerId(1), "ctl1", "127.0.0.11:5000".parse().unwrap()));
//! vip.servers.push(Server::new(ServerId(2), "ctl2", "127.0.0.12:5000".parse().unwrap()));
//! let service = Service::start(vip)?;
//! // ... later
//! service.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! Modules: [`listener`] (sockets that may bind a VIP not held yet), `pipeline` (what every
//! connection goes through, TCP or HTTP: accept, admission, client setup, server selection
//! with retries, the relay), `http` (HTTP mode), `limits` (connection caps and wait queue),
//! `proxy_header` (PROXY protocol on the wire), `forward` (splice with half-close and idle
//! limits), `sessions` (closing a server's sessions), `service` (the embedding API),
//! `generation` and `control` (a service's shared state and what changes it), `runtime` (a
//! whole configuration, reloaded as a diff), `supervisor` (reloads and shutdown for signals and
//! the admin API), `admin` (the admin listener: status page, `/metrics`, JSON API), `metrics`
//! (Prometheus), `access_log` (one line per connection under the `lb::access` target).

mod access_log;
mod admin;
mod control;
mod error;
pub mod events;
mod forward;
mod generation;
mod health;
mod http;
mod limits;
pub mod listener;
mod metrics;
mod observe;
mod pipeline;
mod proxy_header;
mod random;
mod runtime;
mod service;
mod sessions;
mod stats;
mod supervisor;
mod tls;

pub use admin::AdminServer;
pub use error::Error;
pub use events::VipEvent;
pub use health::HealthChecks;
pub use http::guard::{GuardLimits, RequestGuard, Violation};
pub use http::upstream::read_response;
pub use http::{RequestEnds, request_ends};
pub use limits::GlobalLimit;
pub use metrics::{CheckDurations, render as render_metrics};
pub use observe::Observation;
pub use runtime::{ChangeError, ReloadReport, RunningVip, Runtime};
pub use service::{Service, ServiceHandle};
pub use stats::{ServerStats, Stats};
pub use supervisor::{Loader, ReloadError, Supervisor};
