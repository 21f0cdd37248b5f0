//! Takes an HTTP/1.1 body out of the bytes read from a connection, as its framing says:
//! `Content-Length` bytes, `chunked` data (checked by the same strict scanner that guards
//! requests; chunk framing and trailers are dropped) or everything until the peer closes.
//! Data is split off the read buffer without copying. Request bodies from clients and
//! response bodies from servers are both read so.

use std::io;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use hyper::body::{Frame, SizeHint};

use super::BoxError;
use super::guard::chunked::{Chunked, Run};

/// How a body after a head ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// There is no body.
    Empty,
    /// The body is this many bytes.
    Length(u64),
    /// The body is `chunked`.
    Chunked,
    /// The body ends when the peer closes the connection.
    UntilClose,
}

/// What the bytes read so far give.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Body data.
    Data(Bytes),
    /// The body has ended (bytes after it stay in the buffer).
    End,
    /// More bytes are needed.
    More,
    /// The body is malformed.
    Invalid(String),
}

/// A connection a body is read from: its read buffer, and a way to read more into it.
pub(crate) trait BodySource {
    /// What has been read and not used yet.
    fn buffer(&mut self) -> &mut BytesMut;
    /// Reads more into the buffer; `Ok(0)` at the end of the stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>>;
}

/// Where a body is.
#[derive(Debug, Clone, Copy)]
enum State {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
    Done,
}

/// The decoder of one response body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyDecoder {
    state: State,
}

impl BodyDecoder {
    /// A decoder for a body framed by `framing`.
    pub(crate) fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(length) => State::Length(length),
            Framing::Chunked => State::Chunked(Chunked::START),
            Framing::UntilClose => State::UntilClose,
        };
        BodyDecoder { state }
    }

    /// Whether the body has ended.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// How many bytes are left, when that is known.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(left) => Some(left),
            State::Done => Some(0),
            State::Chunked(_) | State::UntilClose => None,
        }
    }

    /// The next step with the bytes in `read`, which loses what it gives.
    pub(crate) fn next(&mut self, read: &mut BytesMut) -> Step {
        loop {
            if self.is_done() {
                return Step::End;
            }
            if read.is_empty() {
                return Step::More;
            }
            match &mut self.state {
                State::Length(left) => {
                    let taken = (*left).min(read.len() as u64);
                    *left -= taken;
                    if *left == 0 {
                        self.state = State::Done;
                    }
                    return Step::Data(read.split_to(taken as usize).freeze());
                }
                State::Chunked(scanner) => match scanner.next_run(read) {
                    Ok(Run::Data(length)) => return Step::Data(read.split_to(length).freeze()),
                    Ok(Run::Framing(length)) => read.advance(length),
                    Ok(Run::End(length)) => {
                        read.advance(length);
                        self.state = State::Done;
                    }
                    Err(violation) => {
                        return Step::Invalid(format!("bad chunked body: {}", violation.reason()));
                    }
                },
                State::UntilClose => return Step::Data(read.split().freeze()),
                State::Done => return Step::End,
            }
        }
    }

    /// The next frame of the body from `source`, as an `http_body::Body` answers it: a data
    /// frame, `None` at the end, or why the body is malformed or broke off. Once the body has
    /// ended (with its last data or at `None`), [`BodyDecoder::is_done`] says so.
    pub(crate) fn poll_frame(
        &mut self,
        source: &mut impl BodySource,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            let step = match self.next(source.buffer()) {
                Step::More => match ready!(source.poll_fill(cx)) {
                    Ok(0) => self.closed(),
                    Ok(_) => continue,
                    Err(error) => Step::Invalid(error.to_string()),
                },
                step => step,
            };
            return Poll::Ready(match step {
                Step::Data(data) => Some(Ok(Frame::data(data))),
                Step::End => None,
                Step::Invalid(error) => Some(Err(error.into())),
                Step::More => unreachable!("more bytes were read above"),
            });
        }
    }

    /// The body's size as far as it is known.
    pub(crate) fn size_hint(&self) -> SizeHint {
        self.remaining()
            .map_or_else(SizeHint::default, SizeHint::with_exact)
    }

    /// The peer closed the connection: the end of a body that ends so, else an error.
    pub(crate) fn closed(&mut self) -> Step {
        match self.state {
            State::UntilClose | State::Done => {
                self.state = State::Done;
                Step::End
            }
            State::Length(_) | State::Chunked(_) => {
                Step::Invalid("the connection closed within the body".into())
            }
        }
    }
}

/// A body whose length is not known in advance, for tests.
#[cfg(test)]
pub(crate) struct UnsizedBody(pub(crate) Option<Bytes>);

#[cfg(test)]
impl hyper::body::Body for UnsizedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(
            self.get_mut()
                .0
                .take()
                .map(|data| Ok(hyper::body::Frame::data(data))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes `stream` arriving in `pieces`: the data, and whether the body ended.
    fn decode(framing: Framing, pieces: &[&[u8]]) -> Result<(Vec<u8>, bool), String> {
        let mut decoder = BodyDecoder::new(framing);
        let mut read = BytesMut::new();
        let mut data = Vec::new();
        for piece in pieces {
            read.extend_from_slice(piece);
            loop {
                match decoder.next(&mut read) {
                    Step::Data(bytes) => data.extend_from_slice(&bytes),
                    Step::End => return Ok((data, true)),
                    Step::More => break,
                    Step::Invalid(error) => return Err(error),
                }
            }
        }
        Ok((data, false))
    }

    fn chunked(data: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = data;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, after) = rest.split_at(size.clamp(1, rest.len()));
            out.extend_from_slice(format!("{:X};ext=1\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
            rest = after;
        }
        out.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
        out
    }

    #[test]
    fn bytes_after_the_body_stay_in_the_buffer() {
        let mut read = BytesMut::from(&b"5\r\nhello\r\n0\r\n\r\nHTTP/1.1"[..]);
        let mut decoder = BodyDecoder::new(Framing::Chunked);
        assert_eq!(
            decoder.next(&mut read),
            Step::Data(Bytes::from_static(b"hello"))
        );
        assert_eq!(decoder.next(&mut read), Step::End);
        assert_eq!(&read[..], b"HTTP/1.1");
        let mut read = BytesMut::from(&b"abcdef"[..]);
        let mut decoder = BodyDecoder::new(Framing::Length(4));
        assert_eq!(
            decoder.next(&mut read),
            Step::Data(Bytes::from_static(b"abcd"))
        );
        assert_eq!(
            (decoder.next(&mut read), &read[..]),
            (Step::End, &b"ef"[..])
        );
    }

    #[test]
    fn a_close_ends_only_a_body_framed_by_it() {
        assert_eq!(BodyDecoder::new(Framing::UntilClose).closed(), Step::End);
        for framing in [Framing::Length(3), Framing::Chunked] {
            assert!(matches!(
                BodyDecoder::new(framing).closed(),
                Step::Invalid(_)
            ));
        }
        assert!(decode(Framing::Chunked, &[b"5\r\nhelloXX"]).is_err());
    }

    proptest! {
        /// Chunked data, however chunked and however it arrives, decodes to the data.
        #[test]
        fn chunked_bodies_decode_to_their_data_in_any_split(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            sizes in proptest::collection::vec(1usize..200, 1..8),
            cuts in proptest::collection::vec(0usize..1000, 0..6),
        ) {
            let stream = chunked(&data, &sizes);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|cut| cut % (stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut from = 0;
            for cut in cuts {
                pieces.push(&stream[from..cut]);
                from = cut;
            }
            pieces.push(&stream[from..]);
            prop_assert_eq!(decode(Framing::Chunked, &pieces), Ok((data, true)));
        }

        /// A length-framed body gives exactly its length, whatever follows it.
        #[test]
        fn length_bodies_stop_at_their_length(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            length in 0usize..300,
            cut in 0usize..300,
        ) {
            let cut = cut.min(data.len());
            let decoded = decode(Framing::Length(length as u64), &[&data[..cut], &data[cut..]]);
            let expected = data[..length.min(data.len())].to_vec();
            prop_assert_eq!(decoded, Ok((expected, length <= data.len())));
        }
    }
}
