//! A whole response read from bytes, for the `http_response` fuzz target (feature `fuzzing`):
//! the parser and body decoder lb reads servers with, fed piece by piece.

use super::response::{self, FieldForm, Reading};
use crate::pipeline::http::body_decoder::{BodyDecoder, Step};

/// A server's response as lb reads it when its bytes arrive in `pieces`, one after the other:
/// the status, the body's data and whether the body ended, or why it is refused. 1xx heads
/// other than 101 are skipped; `head_request` tells that the request was HEAD; the fields are
/// read as an HTTP/1.1 client's response takes them. For the fuzz target: the outcome must not
/// depend on how the bytes are split.
pub fn read_response(pieces: &[&[u8]], head_request: bool) -> Result<(u16, Vec<u8>, bool), String> {
    let reading = Reading {
        head_request,
        form: FieldForm::Lines,
    };
    let mut read = bytes::BytesMut::new();
    let mut head = None;
    let mut data = Vec::new();
    let mut fields = response::Fields::new();
    for piece in pieces {
        read.extend_from_slice(piece);
        if head.is_none() {
            head = response::parse_final(&mut read, reading, &mut fields)
                .map_err(|error| error.to_string())?
                .map(|parsed| (parsed.parts.status, BodyDecoder::new(parsed.framing)));
        }
        let Some((_, decoder)) = &mut head else {
            continue;
        };
        loop {
            match decoder.next(&mut read) {
                Step::Data(bytes) => data.extend_from_slice(&bytes),
                Step::End | Step::More => break,
                Step::Invalid(error) => return Err(error),
            }
        }
    }
    let (status, decoder) = head.ok_or("no whole response head")?;
    Ok((status.as_u16(), data, decoder.is_done()))
}
