//! The connection pipeline every VIP runs, TCP and HTTP alike, in the order a connection meets
//! its stages:
//! 1. [`accept`]: a task per listening socket, a task per connection;
//! 2. [`downstream`]: admission under the caps, socket options, the PROXY header, TLS: one
//!    [`ClientStream`] over a [`prefixed`] socket, whatever the mode;
//! 3. the mode: [`tcp`] joins the client to one server; `crate::pipeline::http` serves requests, each
//!    forwarded on its own;
//! 4. [`upstream`]: servers in [`selection`] order (persistence, then the scheduler), each
//!    reached through [`connect`] (from the client's own address with `source = "client"`:
//!    [`transparent`]), with retries and passive health reports, for a TCP session or an
//!    HTTP request alike;
//! 5. [`relay`]: bytes both ways once a client and a server are joined (a TCP session, an
//!    upgraded HTTP connection), counted for the server and its VIP.
//!
//! Every stage reads one [`generation`] of the service's shared state: the settings in force
//! when the connection was accepted, and the live state (pool, persistence, counters, idle
//! server connections, events) every connection of the service shares.

mod accept;
pub(crate) mod connect;
pub(crate) mod downstream;
pub(crate) mod generation;
pub(crate) mod http;
pub(crate) mod prefixed;
pub(crate) mod relay;
pub(crate) mod selection;
mod tcp;
pub(crate) mod transparent;
pub(crate) mod upstream;

pub(crate) use accept::accept;
pub(crate) use downstream::ClientStream;
