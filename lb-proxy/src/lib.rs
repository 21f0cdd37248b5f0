//! The I/O crate of `lb`: tokio listeners, TCP and HTTP forwarding for the virtual services
//! that `lb-core` describes.
//!
//! Start a VIP with its health checks from a [`lb_core::model::Vip`] with [`RunningVip::start`]
//! (inside a Tokio runtime; the VIP is validated first): it owns the VIP's [`ServiceHandle`],
//! which changes its servers' admin and health states and weights, replaces its server list,
//! closes a server's sessions, reads its [`Stats`], publishes its [`VipEvent`]s and stops it.
//! [`Service::start`] starts the service alone, for embedders that feed health themselves.
//!
//! ```no_run
//! # async fn run() -> Result<(), lb_proxy::Error> {
//! use lb_core::model::{Server, ServerId, Vip};
//! use lb_proxy::RunningVip;
//!
//! let mut vip = Vip::new("keystone", "127.0.0.1:5000".parse().unwrap());
//! vip.servers.push(Server::new(ServerId(1), "ctl1", "127.0.0.11:5000".parse().unwrap()));
//! vip.servers.push(Server::new(ServerId(2), "ctl2", "127.0.0.12:5000".parse().unwrap()));
//! let running = RunningVip::start(vip)?;
//! // ... later
//! running.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! Modules: [`listener`] (sockets that may bind a VIP not held yet), `pipeline` (the data
//! plane: what every connection goes through, TCP or HTTP: accept, admission, client setup,
//! the mode (`pipeline::tcp`, `pipeline::http`), server selection with retries, the relay, and
//! the per-generation state connections share), `limits` (connection caps and wait queue),
//! `proxy_header` (PROXY protocol on the wire), `forward` (splice with half-close and idle
//! limits), `sessions` (closing a server's sessions), `vip` (one running VIP, its owner),
//! `service` (the handle that alone changes a VIP's state), [`events`] (what happens to a VIP),
//! `control` (what the admin side of a service changes),
//! `health` (the check runner), `runtime` (a whole configuration, reloaded as a diff),
//! `supervisor` (reloads and shutdown for signals and the admin API), `admin` (the admin
//! listener: status page, `/metrics`, JSON API), `metrics` (Prometheus), `access_log` (one
//! line per connection under the `lb::access` target), [`cluster`] (a clustered pair: the
//! replication link, the VIPs this host holds), [`persistence`] (a VIP's persistence entries as
//! values, read and written through its handle).

mod access_log;
mod admin;
pub mod cluster;
mod control;
mod error;
pub mod events;
mod forward;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod health;
mod limits;
pub mod listener;
mod metrics;
mod observe;
pub mod persistence;
mod pipeline;
mod proxy_header;
mod random;
mod runtime;
mod service;
mod sessions;
mod stats;
mod supervisor;
mod tls;
mod vip;

pub use admin::AdminServer;
pub use error::Error;
pub use events::VipEvent;
pub use health::{CheckDurations, HealthChecks};
pub use limits::GlobalLimit;
pub use metrics::render as render_metrics;
pub use observe::Observation;
pub use runtime::{ReloadReport, Runtime};
pub use service::{Service, ServiceHandle};
pub use stats::{ServerStats, Stats};
pub use supervisor::{Loader, ReloadError, Supervisor};
pub use vip::{ChangeError, RunningVip};
