//! Writes a response's parts (head, chunk size, data, chunk end) to the client, each write in
//! one system call: a single part as it is, parts of up to [`JOIN_LIMIT`] (16 KiB) in all
//! joined in one buffer, larger ones in one vectored write.
//!
//! On a socket, send(2) costs less than writev(2), whose trip through the file layer cost lb
//! about 0.5 µs per response on the bench machine (perf, HTTP keep-alive): joining a small head
//! and body costs a copy of a few hundred bytes instead.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Poll, ready};

use bytes::Buf;
use tokio::io::AsyncWrite;

/// Parts of up to this many bytes in all are joined and written with one plain write.
const JOIN_LIMIT: usize = 16 * 1024;

thread_local! {
    /// The buffer small parts are joined in, one per thread, at most [`JOIN_LIMIT`] long.
    static JOINED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes `parts` whole, each write in one system call: a single part as it is, parts of
/// [`JOIN_LIMIT`] bytes or fewer in all joined, larger ones in one vectored write.
pub(super) async fn write_parts<W: AsyncWrite + Unpin>(
    io: &mut W,
    mut parts: [&[u8]; 4],
) -> io::Result<()> {
    poll_fn(|cx| {
        loop {
            let io = Pin::new(&mut *io);
            let total: usize = parts.iter().map(|part| part.len()).sum();
            let mut present = parts.iter().filter(|part| !part.is_empty());
            let mut written = match (present.next(), present.next()) {
                (None, _) => return Poll::Ready(Ok(())),
                (Some(part), None) => ready!(io.poll_write(cx, part))?,
                (Some(_), Some(_)) if total <= JOIN_LIMIT => {
                    ready!(JOINED.with_borrow_mut(|joined| {
                        joined.clear();
                        parts.iter().for_each(|part| joined.extend_from_slice(part));
                        io.poll_write(cx, joined)
                    }))?
                }
                (Some(_), Some(_)) => {
                    ready!(io.poll_write_vectored(cx, &parts.map(io::IoSlice::new)))?
                }
            };
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            for part in &mut parts {
                let taken = written.min(part.len());
                part.advance(taken);
                written -= taken;
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::task::Context;

    use proptest::prelude::*;

    use super::*;

    /// How a write reached the writer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Call {
        Plain,
        Vectored,
    }

    /// Takes at most `most` bytes a write, and notes how each write came.
    struct Recorder {
        most: usize,
        calls: Vec<Call>,
        out: Vec<u8>,
    }

    impl Recorder {
        fn new(most: usize) -> Self {
            Recorder {
                most,
                calls: Vec::new(),
                out: Vec::new(),
            }
        }

        fn take(&mut self, call: Call, slices: &[&[u8]]) -> Poll<io::Result<usize>> {
            self.calls.push(call);
            let before = self.out.len();
            for slice in slices {
                let room = self.most - (self.out.len() - before);
                self.out.extend_from_slice(&slice[..slice.len().min(room)]);
            }
            Poll::Ready(Ok(self.out.len() - before))
        }
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bytes: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().take(Call::Plain, &[bytes])
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            slices: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let slices: Vec<&[u8]> = slices.iter().map(|slice| &slice[..]).collect();
            self.get_mut().take(Call::Vectored, &slices)
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn write(recorder: &mut Recorder, parts: [&[u8]; 4]) -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(write_parts(recorder, parts))
    }

    #[test]
    fn a_small_head_and_body_go_out_in_one_plain_write() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n";
        let mut recorder = Recorder::new(usize::MAX);
        write(&mut recorder, [head, b"hello from 18081\n", &[], &[]]).unwrap();
        assert_eq!(recorder.calls, [Call::Plain]);
        assert_eq!(recorder.out, [&head[..], b"hello from 18081\n"].concat());
    }

    #[test]
    fn a_large_body_goes_out_with_its_head_in_one_vectored_write() {
        let body = vec![b'x'; JOIN_LIMIT];
        let mut recorder = Recorder::new(usize::MAX);
        write(&mut recorder, [b"head\r\n\r\n", &body, &[], &[]]).unwrap();
        assert_eq!(recorder.calls, [Call::Vectored]);
        assert_eq!(recorder.out, [&b"head\r\n\r\n"[..], &body].concat());
    }

    #[test]
    fn a_writer_that_takes_nothing_fails_the_write() {
        let mut recorder = Recorder::new(0);
        let error = write(&mut recorder, [b"head", b"body", &[], &[]]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WriteZero);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the parts and however short the writes, every byte goes out once, in
        /// order; a lone part is written plain, small parts joined, large ones vectored.
        #[test]
        fn every_part_goes_out_whole_and_in_order(
            lengths in prop::array::uniform4(prop_oneof![Just(0usize), 1..64usize, 1..12_000usize]),
            most in prop_oneof![1..16usize, 1..100_000usize],
        ) {
            let parts = lengths.map(|length| vec![(length % 251) as u8; length]);
            let mut recorder = Recorder::new(most);
            write(&mut recorder, parts.each_ref().map(Vec::as_slice)).unwrap();
            prop_assert_eq!(&recorder.out, &parts.concat());
            let present = lengths.iter().filter(|length| **length > 0).count();
            let total: usize = lengths.iter().sum();
            let expected = if present > 1 && total > JOIN_LIMIT { Call::Vectored } else { Call::Plain };
            if present == 0 {
                prop_assert!(recorder.calls.is_empty());
            } else {
                prop_assert_eq!(recorder.calls[0], expected);
            }
        }
    }
}
