//! Counters of a service, updated with relaxed atomics on the connection path, and the
//! snapshot the embedding API returns.

use std::sync::atomic::{AtomicU64, Ordering};

use lb_core::model::ServerId;

/// A service's counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) established: AtomicU64,
    pub(crate) queue_full: AtomicU64,
    pub(crate) queue_timeouts: AtomicU64,
    pub(crate) bad_proxy_headers: AtomicU64,
    pub(crate) tls_handshake_failures: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    pub(crate) no_server: AtomicU64,
    pub(crate) idle_timeouts: AtomicU64,
    pub(crate) closed_by_admin: AtomicU64,
    pub(crate) client_to_server_bytes: AtomicU64,
    pub(crate) server_to_client_bytes: AtomicU64,
    /// HTTP responses sent to clients by status class, `1xx` to `5xx`.
    pub(crate) http_responses: [AtomicU64; 5],
}

impl Counters {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds bytes moved from clients to servers and from servers to clients.
    pub(crate) fn add_bytes(&self, to_servers: u64, to_clients: u64) {
        self.client_to_server_bytes
            .fetch_add(to_servers, Ordering::Relaxed);
        self.server_to_client_bytes
            .fetch_add(to_clients, Ordering::Relaxed);
    }

    /// Counts one HTTP response with `status` sent to a client (statuses outside 100-599
    /// are not counted).
    pub(crate) fn count_response(&self, status: u16) {
        if let Some(class) = self
            .http_responses
            .get(usize::from(status / 100).wrapping_sub(1))
        {
            Counters::bump(class);
        }
    }
}

/// A point-in-time view of a service's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Client connections accepted.
    pub accepted: u64,
    /// Sessions that reached a server.
    pub established: u64,
    /// Connections waiting for a slot under the connection caps right now.
    pub queued: u32,
    /// Connections closed at once because the wait queue was full.
    pub queue_full: u64,
    /// Connections closed because no slot freed within the queue timeout.
    pub queue_timeouts: u64,
    /// Trusted clients closed for a missing or malformed PROXY header.
    pub bad_proxy_headers: u64,
    /// Clients closed because their TLS handshake failed or timed out.
    pub tls_handshake_failures: u64,
    /// Server connection attempts that failed (each retry counts).
    pub connect_failures: u64,
    /// Clients closed because no server could take them (none usable, or all failed).
    pub no_server: u64,
    /// Sessions closed after the idle limit.
    pub idle_timeouts: u64,
    /// Sessions closed from outside: `close_sessions`, maintenance, a server marked down or
    /// removed, the service stopping.
    pub closed_by_admin: u64,
    /// Bytes sent to servers for clients: a TCP session's or tunnel's when it ends, an HTTP
    /// exchange's (request head and body as sent) once its server connection is idle again.
    pub client_to_server_bytes: u64,
    /// Bytes received from servers for clients, counted as `client_to_server_bytes` are (an
    /// HTTP response's head and body as the server sent them).
    pub server_to_client_bytes: u64,
    /// HTTP responses sent to clients by status class: `[1xx, 2xx, 3xx, 4xx, 5xx]`.
    pub http_responses: [u64; 5],
    /// Per server, in configured order.
    pub servers: Vec<ServerStats>,
}

/// A server's live counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerStats {
    /// The server's stable id.
    pub id: ServerId,
    /// Connections open to it now.
    pub active: u32,
    /// Connections ever opened to it.
    pub total: u64,
    /// Bytes sent to it, counted as [`Stats::client_to_server_bytes`] are.
    pub bytes_from_clients: u64,
    /// Bytes received from it, counted as [`Stats::server_to_client_bytes`] are.
    pub bytes_to_clients: u64,
}

impl Stats {
    /// The error counters by kind, as the admin API and the metrics name them.
    pub fn errors_by_kind(&self) -> [(&'static str, u64); 8] {
        [
            ("queue_full", self.queue_full),
            ("queue_timeout", self.queue_timeouts),
            ("bad_proxy_header", self.bad_proxy_headers),
            ("tls_handshake", self.tls_handshake_failures),
            ("connect_failure", self.connect_failures),
            ("no_server", self.no_server),
            ("idle_timeout", self.idle_timeouts),
            ("closed_by_admin", self.closed_by_admin),
        ]
    }
}

impl Counters {
    /// The snapshot, with `queued` and `servers` supplied by the caller.
    pub(crate) fn snapshot(&self, queued: u32, servers: Vec<ServerStats>) -> Stats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            accepted: read(&self.accepted),
            established: read(&self.established),
            queued,
            queue_full: read(&self.queue_full),
            queue_timeouts: read(&self.queue_timeouts),
            bad_proxy_headers: read(&self.bad_proxy_headers),
            tls_handshake_failures: read(&self.tls_handshake_failures),
            connect_failures: read(&self.connect_failures),
            no_server: read(&self.no_server),
            idle_timeouts: read(&self.idle_timeouts),
            closed_by_admin: read(&self.closed_by_admin),
            client_to_server_bytes: read(&self.client_to_server_bytes),
            server_to_client_bytes: read(&self.server_to_client_bytes),
            http_responses: self.http_responses.each_ref().map(read),
            servers,
        }
    }
}
