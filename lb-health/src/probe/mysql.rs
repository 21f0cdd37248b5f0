//! The MySQL/MariaDB check: reads the server's first packet (3-byte little-endian payload
//! length, sequence id 0, payload). A protocol-10 greeting whose server version is
//! NUL-terminated is up; an error packet (`0xFF`, 2-byte code, optional `#SQLSTATE`, message)
//! is down with its code and message, e.g. `MySQL error 1129: Host '192.0.2.5' is blocked ...`.
//! Nothing is sent: logging in would need credentials, so the runner just closes.

use super::{CheckFailure, MAX_RESPONSE_BYTES, Outcome, Probe, Step, printable};

/// The only handshake protocol a server may greet with.
const PROTOCOL_10: u8 = 10;
/// First payload byte of an error packet.
const ERROR_PACKET: u8 = 0xFF;
/// Bytes of a packet header: 3 of length, 1 of sequence id.
const HEADER: usize = 4;

/// One MySQL check conversation.
#[derive(Default)]
pub(super) struct MysqlProbe {
    buffer: Vec<u8>,
}

impl Probe for MysqlProbe {
    fn start(&mut self) -> Step {
        Step::NeedMore
    }

    fn on_bytes(&mut self, bytes: &[u8]) -> Step {
        self.buffer.extend_from_slice(bytes);
        let Some(header) = self.buffer.first_chunk::<HEADER>() else {
            return Step::NeedMore;
        };
        let length =
            usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
        let sequence = header[3];
        if sequence != 0 {
            return fail(format!(
                "unexpected packet sequence id {sequence} in the server greeting"
            ));
        }
        if length == 0 || length > MAX_RESPONSE_BYTES - HEADER {
            return fail(format!("server greeting of {length} bytes"));
        }
        match self
            .buffer
            .get(HEADER..HEADER + length)
            .and_then(<[u8]>::split_first)
        {
            Some((&first, rest)) => Step::Done(greeting(first, rest)),
            None => Step::NeedMore,
        }
    }

    fn on_eof(&mut self) -> Outcome {
        Err(CheckFailure(format!(
            "connection closed before a complete server greeting ({} bytes received)",
            self.buffer.len()
        )))
    }
}

/// The verdict on a complete first packet: its first payload byte and the rest.
fn greeting(first: u8, rest: &[u8]) -> Outcome {
    match first {
        PROTOCOL_10 if rest.contains(&0) => Ok(()),
        PROTOCOL_10 => Err(CheckFailure::new(
            "malformed server greeting: unterminated version",
        )),
        ERROR_PACKET => match rest.split_first_chunk::<2>() {
            Some((code, message)) => {
                let code = u16::from_le_bytes(*code);
                let message = match message.strip_prefix(b"#") {
                    Some(after_marker) => after_marker.get(5..).unwrap_or_default(),
                    None => message,
                };
                Err(CheckFailure(format!(
                    "MySQL error {code}: {}",
                    printable(message)
                )))
            }
            None => Err(CheckFailure::new("malformed MySQL error packet")),
        },
        version => Err(CheckFailure(format!(
            "unsupported MySQL protocol version {version}"
        ))),
    }
}

fn fail(reason: String) -> Step {
    Step::Done(Err(CheckFailure(reason)))
}
