#![no_main]
//! Fuzz target http_response: reading a server's response (head, then body by its framing)
//! never panics, and what is read does not depend on how the bytes are split into reads (the
//! first byte picks the split point and whether the request was HEAD).
use lb_proxy::fuzzing::read_response;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let head_request = control & 1 == 1;
    let whole = read_response(&[stream], head_request);
    let at = usize::from(control >> 1) % (stream.len() + 1);
    let split = read_response(&[&stream[..at], &stream[at..]], head_request);
    assert_eq!(whole, split);
});
