//! The strict scanner of a `chunked` request body: chunk sizes are 1 to 15 hexadecimal digits
//! with nothing before them, an extension holds only visible characters, spaces and tabs,
//! every line ends in CRLF (a bare CR or LF is refused), chunk data is followed by CRLF, and
//! trailer fields are neither folded nor hold control characters.
//!
//! Defaults: chunk-size lines (extensions included) and trailer lines up to 4 KiB.

use super::Violation;

/// Longest chunk-size line or trailer line, in bytes.
const MAX_LINE: usize = 4096;
/// Most hexadecimal digits in a chunk size (no overflow of a `u64`).
const MAX_DIGITS: u8 = 15;

/// Where the scanner is within the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunked {
    Size { value: u64, digits: u8 },
    Extension { value: u64, len: usize },
    SizeLf { value: u64 },
    Data { left: u64 },
    DataCr,
    DataLf,
    Trailer { len: usize },
    TrailerLf,
    EndLf,
}

impl Chunked {
    /// The state at the start of a body.
    pub(crate) const START: Chunked = Chunked::Size {
        value: 0,
        digits: 0,
    };

    /// Scans `bytes`; answers how many belong to the body and whether it ended there.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<(usize, bool), Violation> {
        let mut at = 0;
        while at < bytes.len() {
            if let Chunked::Data { left } = *self {
                let taken = left.min((bytes.len() - at) as u64);
                at += taken as usize;
                *self = match left - taken {
                    0 => Chunked::DataCr,
                    left => Chunked::Data { left },
                };
                continue;
            }
            let byte = bytes[at];
            at += 1;
            if self.step(byte)? {
                return Ok((at, true));
            }
        }
        Ok((at, false))
    }

    /// The next run of `bytes` (which must not be empty), to decode a body: chunk data, or
    /// framing up to the next data or the end of what is given, or the framing that ends the
    /// body (the last chunk and its trailer section).
    pub(crate) fn next_run(&mut self, bytes: &[u8]) -> Result<Run, Violation> {
        if let Chunked::Data { left } = *self {
            let taken = left.min(bytes.len() as u64);
            *self = match left - taken {
                0 => Chunked::DataCr,
                left => Chunked::Data { left },
            };
            return Ok(Run::Data(taken as usize));
        }
        for (at, &byte) in bytes.iter().enumerate() {
            if self.step(byte)? {
                return Ok(Run::End(at + 1));
            }
            if matches!(self, Chunked::Data { .. }) {
                return Ok(Run::Framing(at + 1));
            }
        }
        Ok(Run::Framing(bytes.len()))
    }

    /// One byte outside chunk data; `true` once the body has ended.
    fn step(&mut self, byte: u8) -> Result<bool, Violation> {
        let bad = |reason| Err(Violation::Malformed(reason));
        *self = match (*self, byte) {
            (Chunked::Size { value, digits }, _) if byte.is_ascii_hexdigit() => {
                if digits == MAX_DIGITS {
                    return bad("chunk size too large");
                }
                let digit = u64::from(char::from(byte).to_digit(16).unwrap_or(0));
                Chunked::Size {
                    value: value << 4 | digit,
                    digits: digits + 1,
                }
            }
            (Chunked::Size { value, digits }, b';') if digits > 0 => {
                Chunked::Extension { value, len: 0 }
            }
            (Chunked::Size { value, digits }, b'\r') if digits > 0 => Chunked::SizeLf { value },
            (Chunked::Size { .. }, _) => return bad("invalid chunk size"),
            (Chunked::Extension { value, .. }, b'\r') => Chunked::SizeLf { value },
            (Chunked::Extension { value, len }, _) if is_text(byte) && len < MAX_LINE => {
                Chunked::Extension {
                    value,
                    len: len + 1,
                }
            }
            (Chunked::Extension { .. }, _) => return bad("invalid chunk extension"),
            (Chunked::SizeLf { value: 0 }, b'\n') => Chunked::Trailer { len: 0 },
            (Chunked::SizeLf { value }, b'\n') => Chunked::Data { left: value },
            (Chunked::DataCr, b'\r') => Chunked::DataLf,
            (Chunked::DataLf, b'\n') => Chunked::START,
            (Chunked::DataCr | Chunked::DataLf, _) => return bad("chunk data not ended by CRLF"),
            (Chunked::Trailer { len: 0 }, b'\r') => Chunked::EndLf,
            (Chunked::Trailer { len: 0 }, b' ' | b'\t') => return bad("folded trailer field"),
            (Chunked::Trailer { .. }, b'\r') => Chunked::TrailerLf,
            (Chunked::Trailer { len }, _) if is_text(byte) && len < MAX_LINE => {
                Chunked::Trailer { len: len + 1 }
            }
            (Chunked::Trailer { .. }, _) => return bad("invalid trailer field"),
            (Chunked::TrailerLf, b'\n') => Chunked::Trailer { len: 0 },
            (Chunked::EndLf, b'\n') => return Ok(true),
            (Chunked::SizeLf { .. } | Chunked::TrailerLf | Chunked::EndLf, _) => {
                return bad("bare CR in chunked framing");
            }
            (Chunked::Data { .. }, _) => unreachable!("chunk data is skipped in bulk"),
        };
        Ok(false)
    }
}

/// A run of a chunked body, in bytes from where it starts ([`Chunked::next_run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// Chunk data.
    Data(usize),
    /// Framing (chunk-size lines, CRLFs after data): dropped when decoding.
    Framing(usize),
    /// The framing that ends the body.
    End(usize),
}

/// A byte allowed in a field value or extension: visible ASCII, obs-text, space or tab.
pub(crate) fn is_text(byte: u8) -> bool {
    byte == b'\t' || (byte >= b' ' && byte != 0x7f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(body: &[u8]) -> Result<(usize, bool), Violation> {
        let mut state = Chunked::START;
        state.feed(body)
    }

    #[test]
    fn accepts_chunks_extensions_and_trailers_in_any_split() {
        let body = b"5;name=\"v\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\nNEXT";
        assert_eq!(scan(body), Ok((body.len() - 4, true)));
        for split in 0..body.len() - 4 {
            let mut state = Chunked::START;
            let (first, done) = state.feed(&body[..split]).unwrap();
            assert!(!done && first == split);
            assert_eq!(
                state.feed(&body[split..]),
                Ok((body.len() - 4 - split, true))
            );
        }
    }

    #[test]
    fn refuses_what_smuggling_relies_on() {
        for bad in [
            &b" 5\r\nhello\r\n0\r\n\r\n"[..],
            b"0x5\r\nhello\r\n0\r\n\r\n",
            b"-1\r\n",
            b"\r\n",
            b"5\nhello\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"1000000000000000\r\n",
            b"5\rhello",
            b"0\r\nX: a\r\n b\r\n\r\n",
            b"0\r\nX: \x01\r\n\r\n",
            b"5;\x00\r\n",
        ] {
            assert!(scan(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
