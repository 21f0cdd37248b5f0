//! Check protocols as codecs over bytes: each probe says what to send, digests the bytes that
//! arrive in whatever chunks the network delivers, and gives a verdict. The I/O runner connects
//! to [`check_address`], applies the check timeout and moves the bytes.
//!
//! Protocols: TCP connect ([`CheckKind::Tcp`]), HTTP/1.x, Redis, the MySQL/MariaDB greeting and
//! send/expect scripts. Every probe reads at most [`MAX_RESPONSE_BYTES`] (64 KiB) in total and
//! fails if that gives no verdict; garbage gives a failure, never a panic.
//!
//! The runner's loop: call [`Probe::start`], then act on each [`Step`]: write what `Send` and
//! `SendAndPass` carry, read and pass the bytes to [`Probe::on_bytes`] while the step asks for
//! more, call [`Probe::on_eof`] when the server closes, and close on `Done` or `SendAndPass`.

mod bounded;
mod find;
mod http;
mod http_body;
mod mysql;
mod redis;
mod resp;
mod script;
mod tcp;

use std::net::SocketAddr;

use lb_core::model::{Check, CheckKind};

/// The most bytes a probe reads from a server before failing for lack of a verdict.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The verdict of one probe.
pub type Outcome = Result<(), CheckFailure>;

/// Why a probe failed, in words for logs and operators (`connection refused`,
/// `HTTP 503 Service Unavailable (expected 200)`, `role:slave`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CheckFailure(pub String);

impl CheckFailure {
    /// A failure described by `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        CheckFailure(reason.into())
    }
}

/// What a probe wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Read more bytes.
    NeedMore,
    /// Write these bytes, then read on.
    Send(Vec<u8>),
    /// Write these last bytes (Redis `QUIT`, a script's final send), close: the check passed.
    SendAndPass(Vec<u8>),
    /// Close: the check is over with this verdict.
    Done(Outcome),
}

/// One check conversation with one server, as a codec: no I/O, no clock.
///
/// After a verdict (`Done` or `SendAndPass`) every call repeats it.
pub trait Probe {
    /// Called once connected: what to do first.
    fn start(&mut self) -> Step;
    /// Bytes from the server, in any chunking.
    fn on_bytes(&mut self, bytes: &[u8]) -> Step;
    /// The server closed the connection.
    fn on_eof(&mut self) -> Outcome;
}

/// Where the probe connects: the check's own port when set (Galera's clustercheck on 9200),
/// else the server's traffic port, on the server's IP.
pub fn check_address(check: &Check, server: SocketAddr) -> SocketAddr {
    SocketAddr::new(server.ip(), check.port.unwrap_or(server.port()))
}

/// The probe for one check of `server` (its traffic address; see [`check_address`]).
pub fn probe_for(check: &Check, server: SocketAddr) -> Box<dyn Probe + Send> {
    let target = check_address(check, server);
    match &check.kind {
        CheckKind::Tcp => Box::new(bounded::Bounded::new(tcp::ConnectProbe)),
        CheckKind::Http(http) => {
            Box::new(bounded::Bounded::new(http::HttpProbe::new(http, target)))
        }
        CheckKind::Mysql => Box::new(bounded::Bounded::new(mysql::MysqlProbe::default())),
        CheckKind::Redis { password } => Box::new(bounded::Bounded::new(redis::RedisProbe::new(
            password.as_deref(),
        ))),
        CheckKind::Script(steps) => {
            Box::new(bounded::Bounded::new(script::ScriptProbe::new(steps)))
        }
    }
}

/// Bytes as an operator can read them in a message: printable ASCII as is, other bytes
/// escaped (`\r`, `\x00`), cut after 200 bytes.
fn printable(bytes: &[u8]) -> String {
    const SHOWN: usize = 200;
    let mut text = String::new();
    for &byte in &bytes[..bytes.len().min(SHOWN)] {
        if byte == b' ' || byte.is_ascii_graphic() {
            text.push(char::from(byte));
        } else {
            text.extend(std::ascii::escape_default(byte).map(char::from));
        }
    }
    if bytes.len() > SHOWN {
        text.push_str("...");
    }
    text
}

/// [`printable`] in double quotes.
fn quoted(bytes: &[u8]) -> String {
    format!("\"{}\"", printable(bytes))
}
