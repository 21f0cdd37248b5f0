//! The access log of HTTP mode: one line per request under the tracing target `lb::access`,
//! written when the response ends (its body read to the end, or abandoned), so it carries the
//! bytes sent.
//!
//! Fields: `client`, `vip`, `server` (`-` when none answered), `method`, `path`, `status`,
//! `head_ms` (request received to response head ready), `total_ms` (to the end of the
//! response), `bytes_out` (response body bytes) and `termination`: `finished`, `aborted`
//! (the body stopped early: client gone, timeout, server marked down) or `local` (a response
//! lb made itself: a redirect or an error status).

use std::sync::Arc;
use std::time::Instant;

use http::{Method, StatusCode, Uri};
use tracing::info;

use crate::access_log::TARGET;
use crate::pipeline::generation::Shared;
use crate::pipeline::selection::Target;

/// What one request's access line will say, filled in as the request goes.
pub(crate) struct HttpAccess {
    shared: Arc<Shared>,
    received: Instant,
    client: Arc<str>,
    method: Method,
    uri: Uri,
    server: Option<Target>,
    status: StatusCode,
    head_ms: u64,
    /// Response body bytes sent so far.
    pub(super) bytes_out: u64,
    /// `local`, `aborted` or `finished` (see the module doc).
    pub(super) termination: &'static str,
}

impl HttpAccess {
    /// A request received now from `client` (its address as the line writes it).
    pub(super) fn received(
        shared: &Arc<Shared>,
        client: &Arc<str>,
        method: &Method,
        uri: &Uri,
    ) -> Self {
        HttpAccess {
            shared: Arc::clone(shared),
            received: Instant::now(),
            client: Arc::clone(client),
            method: method.clone(),
            uri: uri.clone(),
            server: None,
            status: StatusCode::OK,
            head_ms: 0,
            bytes_out: 0,
            termination: "local",
        }
    }

    /// The response head is ready: `status`, from `server` if one was reached.
    pub(super) fn answered(&mut self, server: Option<&Target>, status: StatusCode) {
        self.server = server.cloned();
        self.status = status;
        self.head_ms = millis(self.received);
    }

    fn server_name(&self) -> Arc<str> {
        self.server
            .as_ref()
            .map_or_else(|| Arc::from("-"), |t| self.shared.server_name(t))
    }
}

impl Drop for HttpAccess {
    fn drop(&mut self) {
        info!(
            target: TARGET,
            client = %self.client,
            vip = %self.shared.settings.name,
            server = %self.server_name(),
            method = %self.method,
            path = %self.uri.path(),
            status = self.status.as_u16(),
            head_ms = self.head_ms,
            total_ms = millis(self.received),
            bytes_out = self.bytes_out,
            termination = %self.termination,
            "http"
        );
    }
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
