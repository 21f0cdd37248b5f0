#![no_main]
//! Fuzz target http_request: lb's HTTP/1.1 client loop and the request guard never disagree on
//! where a request ends. The loop reads only bytes the guard passed (those before the first it
//! refuses, fed one at a time as the slowest client sends them); at every end of a request the
//! loop reads (head, then body by its framing), the guard fed the same bytes at once stands at
//! the start of a request, or passes through after an upgrade at which the loop closes.
//! Otherwise the guard would check one request while the loop forwarded another. The first
//! byte picks whether the client's field lines pass as they are.
use lb_proxy::fuzzing::{GuardLimits, RequestGuard, request_ends};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let limits = GuardLimits {
        max_head: 512,
        max_fields: 8,
    };
    let mut guard = RequestGuard::new(limits);
    let passed = stream
        .iter()
        .take_while(|&&byte| guard.feed(&[byte]).is_ok())
        .count();
    let stream = &stream[..passed];
    let read = request_ends(stream, control & 1 == 1);
    if let Some(end) = read.guard_disagrees_at(stream, limits) {
        panic!("the loop ends a request at {end}, where the guard refuses or is within one");
    }
});
