//! Frames: `u32 length | u8 type | u64 seq | payload | tag[16]`, big-endian.
//!
//! `length` counts every byte after itself (type, seq, payload and tag), so it is at least
//! [`MIN_LENGTH`] (25). The tag is HMAC-SHA256 over `type ‖ seq ‖ payload` with the sender's
//! direction key, truncated to 16 bytes, and compared in constant time; a frame sent before
//! keys exist (the HELLO) carries 16 zero bytes. A length above the cap the caller gives is
//! refused as soon as its 4 bytes are in, before anything is buffered for it.

use ring::hmac;

use super::Error;

/// Bytes of the truncated HMAC tag.
pub(super) const TAG_LEN: usize = 16;

/// The least `length`: type, seq and tag with an empty payload.
pub(super) const MIN_LENGTH: usize = 1 + 8 + TAG_LEN;

/// One whole frame at the start of the input.
#[derive(Debug)]
pub(super) struct Frame<'a> {
    /// The message type.
    pub(super) kind: u8,
    /// The sender's sequence number.
    pub(super) seq: u64,
    /// What the type says the frame carries.
    pub(super) payload: &'a [u8],
    /// `type ‖ seq ‖ payload`: what the tag covers.
    signed: &'a [u8],
    tag: &'a [u8],
    /// Bytes of input the frame takes, length field included.
    pub(super) size: usize,
}

impl Frame<'_> {
    /// Whether the tag is the one `key` gives.
    pub(super) fn is_tagged_by(&self, key: &hmac::Key) -> bool {
        let expected = hmac::sign(key, self.signed);
        let diff = expected.as_ref()[..TAG_LEN]
            .iter()
            .zip(self.tag)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b));
        diff == 0
    }

    /// Whether the tag is the zero tag of a frame sent before keys exist.
    pub(super) fn is_untagged(&self) -> bool {
        self.tag.iter().all(|&byte| byte == 0)
    }
}

/// Reads the frame at the start of `input`: `None` until it is all there, an error when its
/// length is above `max` or below [`MIN_LENGTH`].
pub(super) fn parse(input: &[u8], max: usize) -> Result<Option<Frame<'_>>, Error> {
    let Some(field) = input.get(..4) else {
        return Ok(None);
    };
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(field);
    let length = u32::from_be_bytes(bytes) as usize;
    if length > max {
        return Err(Error::TooLong { length, max });
    }
    if length < MIN_LENGTH {
        return Err(Error::Malformed("frame shorter than its header and tag"));
    }
    let Some(body) = input.get(4..4 + length) else {
        return Ok(None);
    };
    let (signed, tag) = body.split_at(length - TAG_LEN);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&signed[1..9]);
    Ok(Some(Frame {
        kind: signed[0],
        seq: u64::from_be_bytes(seq),
        payload: &signed[9..],
        signed,
        tag,
        size: 4 + length,
    }))
}

/// Appends a frame to `out`, tagged with `key` (zero-tagged when `None`); the caller has
/// checked that the payload fits the cap.
pub(super) fn write(
    out: &mut Vec<u8>,
    kind: u8,
    seq: u64,
    payload: &[u8],
    key: Option<&hmac::Key>,
) {
    let length = MIN_LENGTH + payload.len();
    debug_assert!(u32::try_from(length).is_ok());
    out.extend_from_slice(&(length as u32).to_be_bytes());
    let start = out.len();
    out.push(kind);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(payload);
    match key {
        Some(key) => {
            let tag = hmac::sign(key, &out[start..]);
            out.extend_from_slice(&tag.as_ref()[..TAG_LEN]);
        }
        None => out.extend_from_slice(&[0; TAG_LEN]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &[u8]) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, secret)
    }

    #[test]
    fn a_written_frame_parses_back_with_its_tag() {
        let mut out = Vec::new();
        write(&mut out, 0x10, 7, b"payload", Some(&key(b"k")));
        let frame = parse(&out, 1024).expect("valid").expect("whole");
        assert_eq!(
            (frame.kind, frame.seq, frame.payload),
            (0x10, 7, &b"payload"[..])
        );
        assert_eq!(frame.size, out.len());
        assert!(frame.is_tagged_by(&key(b"k")));
        assert!(!frame.is_tagged_by(&key(b"other")));
        assert!(!frame.is_untagged());
    }

    #[test]
    fn prefixes_need_more_and_lengths_out_of_bounds_are_refused() {
        let mut out = Vec::new();
        write(&mut out, 1, 0, b"hello", None);
        for end in 0..out.len() {
            assert!(parse(&out[..end], 1024).expect("a prefix").is_none());
        }
        assert!(
            parse(&out, 1024)
                .expect("whole")
                .expect("whole")
                .is_untagged()
        );
        let huge = [0xff, 0xff, 0xff, 0xff];
        let too_long = Error::TooLong {
            length: u32::MAX as usize,
            max: 1024,
        };
        assert_eq!(parse(&huge, 1024).unwrap_err(), too_long);
        let short = (MIN_LENGTH as u32 - 1).to_be_bytes();
        assert!(matches!(parse(&short, 1024), Err(Error::Malformed(_))));
    }
}
