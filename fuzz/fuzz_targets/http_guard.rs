#![no_main]
//! Fuzz target http_guard: the HTTP/1.1 request guard never panics, and its verdict on a byte
//! stream does not depend on how the stream is split into reads (the first byte picks the
//! split point): a request cannot slip through by arriving in pieces.
use lb_proxy::fuzzing::{GuardLimits, RequestGuard};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let limits = GuardLimits {
        max_head: 512,
        max_fields: 8,
    };
    let whole = RequestGuard::new(limits).feed(stream);
    let at = usize::from(split) % (stream.len() + 1);
    let mut pieces = RequestGuard::new(limits);
    let split_verdict = pieces
        .feed(&stream[..at])
        .and_then(|()| pieces.feed(&stream[at..]));
    assert_eq!(whole, split_verdict);
});
