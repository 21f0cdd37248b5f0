//! The body of an HTTP check response, searched for the expected substring as it arrives.
//!
//! The body ends where its framing says: `Content-Length`, the last chunk of a chunked body
//! (chunks are decoded, so a substring split across chunks is found and chunk sizes are never
//! matched; trailers are ignored), or the server closing. The search succeeds as soon as the
//! substring appears and fails when the body ends without it.

use super::find::find_end;
use super::{CheckFailure, Outcome, quoted};

/// How the end of the body is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes.
    UntilEof,
}

/// Where a chunked body's decoder stands.
enum Chunk {
    /// Reading a chunk-size line (hex size, optional `;extensions`).
    Size(Vec<u8>),
    /// This many data bytes of the current chunk remain.
    Data(u64),
    /// Reading the line end after a chunk's data; `true` once its CR was seen.
    DataEnd(bool),
    /// The last (zero-size) chunk arrived.
    Last,
}

enum Decoder {
    Length(u64),
    Chunked(Chunk),
    UntilEof,
}

/// The decoded body so far and the search for the expected substring in it.
pub(super) struct BodyMatch {
    needle: Vec<u8>,
    body: Vec<u8>,
    searched: usize,
    decoder: Decoder,
}

impl BodyMatch {
    pub(super) fn new(needle: &[u8], framing: Framing) -> Self {
        BodyMatch {
            needle: needle.to_vec(),
            body: Vec::new(),
            searched: 0,
            decoder: match framing {
                Framing::Length(length) => Decoder::Length(length),
                Framing::Chunked => Decoder::Chunked(Chunk::Size(Vec::new())),
                Framing::UntilEof => Decoder::UntilEof,
            },
        }
    }

    /// Takes more body bytes (possibly none); `Some` once the verdict is known.
    /// The body decoded before a framing error is searched first, so the verdict does not
    /// depend on whether the error arrived in the same read as the substring.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Option<Outcome> {
        let decoded = self.decode(bytes);
        if find_end(&self.body, &self.needle, self.searched).is_some() {
            return Some(Ok(()));
        }
        self.searched = self.body.len();
        match decoded {
            Ok(complete) => complete.then(|| Err(self.missing(""))),
            Err(failure) => Some(Err(failure)),
        }
    }

    /// The server closed before the substring appeared.
    pub(super) fn on_eof(&self) -> Outcome {
        match self.decoder {
            Decoder::UntilEof => Err(self.missing("")),
            _ => Err(self.missing(" (connection closed before its end)")),
        }
    }

    fn missing(&self, detail: &str) -> CheckFailure {
        CheckFailure(format!(
            "response body does not contain {}{detail}",
            quoted(&self.needle)
        ))
    }

    /// Appends the body bytes found in `bytes`; `Ok(true)` once the body is complete.
    fn decode(&mut self, bytes: &[u8]) -> Result<bool, CheckFailure> {
        match &mut self.decoder {
            Decoder::Length(left) => {
                let taken = bytes
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                self.body.extend_from_slice(&bytes[..taken]);
                *left -= taken as u64;
                Ok(*left == 0)
            }
            Decoder::Chunked(chunk) => decode_chunked(chunk, &mut self.body, bytes),
            Decoder::UntilEof => {
                self.body.extend_from_slice(bytes);
                Ok(false)
            }
        }
    }
}

fn decode_chunked(
    chunk: &mut Chunk,
    body: &mut Vec<u8>,
    mut bytes: &[u8],
) -> Result<bool, CheckFailure> {
    loop {
        match chunk {
            Chunk::Last => return Ok(true),
            _ if bytes.is_empty() => return Ok(false),
            Chunk::Size(line) => match bytes.iter().position(|&byte| byte == b'\n') {
                None => {
                    line.extend_from_slice(bytes);
                    bytes = &[];
                }
                Some(end) => {
                    line.extend_from_slice(&bytes[..end]);
                    bytes = &bytes[end + 1..];
                    let size = chunk_size(line)?;
                    *chunk = if size == 0 {
                        Chunk::Last
                    } else {
                        Chunk::Data(size)
                    };
                }
            },
            Chunk::Data(left) => {
                let taken = bytes
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                body.extend_from_slice(&bytes[..taken]);
                bytes = &bytes[taken..];
                *left -= taken as u64;
                if *left == 0 {
                    *chunk = Chunk::DataEnd(false);
                }
            }
            Chunk::DataEnd(seen_cr) => {
                match (bytes[0], *seen_cr) {
                    (b'\r', false) => *seen_cr = true,
                    (b'\n', _) => *chunk = Chunk::Size(Vec::new()),
                    _ => {
                        return Err(CheckFailure::new(
                            "malformed chunked body: no line end after a chunk",
                        ));
                    }
                }
                bytes = &bytes[1..];
            }
        }
    }
}

/// The size on a chunk-size line (without its LF): hex digits, then optional `;extensions`.
fn chunk_size(line: &[u8]) -> Result<u64, CheckFailure> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits = line
        .split(|&byte| byte == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    let valid = (1..=16).contains(&digits.len()) && digits.iter().all(u8::is_ascii_hexdigit);
    valid
        .then(|| std::str::from_utf8(digits).ok())
        .flatten()
        .and_then(|digits| u64::from_str_radix(digits, 16).ok())
        .ok_or_else(|| CheckFailure(format!("malformed chunk size line {}", quoted(line))))
}
