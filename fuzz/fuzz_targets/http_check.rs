#![no_main]
//! Fuzz target http_check: body written by its owner.
libfuzzer_sys::fuzz_target!(|data: &[u8]| { let _ = data; });
