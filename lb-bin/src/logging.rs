//! Log setup: tracing to stderr, level from `RUST_LOG` (default [`DEFAULT_FILTER`]: `info`,
//! with rustls's own messages at `error` only, since it warns once per handshake about what
//! any client may send, such as an IP address as the server name), text or JSON lines,
//! colours only on a terminal; text lines are formatted by [`crate::access_format`].
//!
//! Access lines (target `lb::access`, one per HTTP request or TCP connection) are batched:
//! they collect in a buffer written to stderr once it holds 16 KiB, at the latest every
//! 100 ms, and before any other event (which is written at once, so lines keep their order).
//! Under load this turns one `write` system call per request into one per ~90 requests.
//! [`flush`] writes what is left before the process exits.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tracing::Metadata;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::access_format::TextFormat;
use crate::cli::LogFormat;

/// The target of access lines (`lb_proxy`'s access log; that crate keeps the constant private).
pub(crate) const ACCESS_TARGET: &str = "lb::access";
/// The filter without `RUST_LOG`: lb's TLS failures are logged by lb, per connection and
/// with the VIP, so rustls's own warnings add nothing but volume (a soak's wrk, sending its IP
/// address as SNI, made 255,000 of them in 30 minutes).
const DEFAULT_FILTER: &str = "info,rustls=error";
/// Batched bytes that trigger a write.
const BATCH_BYTES: usize = 16 * 1024;
/// Longest time an access line waits in the batch.
const BATCH_DELAY: Duration = Duration::from_millis(100);

/// Lines written but not yet on stderr.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Installs the global subscriber ([`write_late_lines`] writes the lines a batch holds back).
pub(crate) fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Batched)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.event_format(TextFormat::new()).init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Writes late access lines: every [`BATCH_DELAY`], what is pending goes to stderr. Spawned on
/// the runtime that serves, so a process pinned to one core stays one thread, and the kernel
/// takes no reference on a socket's file for each system call.
pub(crate) async fn write_late_lines() {
    let mut ticks = tokio::time::interval(BATCH_DELAY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        flush();
    }
}

/// Writes every pending line to stderr.
pub(crate) fn flush() {
    write_out(&mut pending());
}

fn pending() -> MutexGuard<'static, Vec<u8>> {
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

fn write_out(pending: &mut Vec<u8>) {
    if !pending.is_empty() {
        // Nowhere to report a failed write to stderr.
        let _ = std::io::stderr().write_all(pending);
        pending.clear();
    }
}

/// Makes the writer of each event: batching for access lines, immediate for the rest.
struct Batched;

/// One event's writer: it appends to the pending lines, and writes them out when dropped if
/// the event is not an access line or the batch is full.
struct EventWriter {
    pending: MutexGuard<'static, Vec<u8>>,
    batch: usize,
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> EventWriter {
        EventWriter {
            pending: pending(),
            batch: 0,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> EventWriter {
        let batch = if meta.target() == ACCESS_TARGET {
            BATCH_BYTES
        } else {
            0
        };
        EventWriter {
            pending: pending(),
            batch,
        }
    }
}

impl Write for EventWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        if self.pending.len() >= self.batch {
            write_out(&mut self.pending);
        }
    }
}
