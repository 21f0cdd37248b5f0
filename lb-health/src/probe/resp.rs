//! The few RESP (Redis protocol) replies a check needs: simple strings (`+OK`), errors
//! (`-NOAUTH ...`) and bulk strings (`$<len>\r\n...\r\n`, or `$-1` for nil). Any other reply
//! type is rejected: none of the commands a check sends returns one.

use super::{CheckFailure, MAX_RESPONSE_BYTES, quoted};

/// One decoded reply, borrowing from the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reply<'a> {
    /// `+text`
    Simple(&'a [u8]),
    /// `-text`
    Error(&'a [u8]),
    /// `$len` followed by the bytes; `None` for nil.
    Bulk(Option<&'a [u8]>),
}

/// How far parsing got.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Parsed<'a> {
    /// A complete reply and its length in bytes.
    Complete(Reply<'a>, usize),
    /// More bytes are needed; pass `searched` to the next call.
    Incomplete { searched: usize },
}

/// The first reply in `buffer`, knowing that `buffer[..searched]` holds no complete first line
/// (so that bytes arriving one at a time are not rescanned).
pub(super) fn parse_reply(buffer: &[u8], searched: usize) -> Result<Parsed<'_>, CheckFailure> {
    let from = searched.saturating_sub(1).min(buffer.len());
    let Some(line_end) = buffer[from..].windows(2).position(|pair| pair == b"\r\n") else {
        return Ok(Parsed::Incomplete {
            searched: buffer.len(),
        });
    };
    let line_end = from + line_end;
    let (line, after_line) = (&buffer[..line_end], line_end + 2);
    let not_resp = || CheckFailure(format!("unexpected reply {}", quoted(line)));
    let (&kind, text) = line.split_first().ok_or_else(not_resp)?;
    match kind {
        b'+' => Ok(Parsed::Complete(Reply::Simple(text), after_line)),
        b'-' => Ok(Parsed::Complete(Reply::Error(text), after_line)),
        b'$' if text == b"-1" => Ok(Parsed::Complete(Reply::Bulk(None), after_line)),
        b'$' => {
            let length = std::str::from_utf8(text)
                .ok()
                .filter(|digits| {
                    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
                })
                .and_then(|digits| digits.parse::<usize>().ok())
                .filter(|&length| length <= MAX_RESPONSE_BYTES)
                .ok_or_else(not_resp)?;
            let end = after_line + length;
            if buffer.len() < end + 2 {
                return Ok(Parsed::Incomplete { searched });
            }
            if &buffer[end..end + 2] != b"\r\n" {
                return Err(CheckFailure::new(
                    "bulk reply longer than its announced length",
                ));
            }
            Ok(Parsed::Complete(
                Reply::Bulk(Some(&buffer[after_line..end])),
                end + 2,
            ))
        }
        _ => Err(not_resp()),
    }
}
