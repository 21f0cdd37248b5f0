#![no_main]
//! Fuzz target `http_check`: the first byte picks the chunking and whether the body is searched
//! for `OK`; the rest is the server's response. The HTTP probe never panics, keeps its verdict,
//! and gives the same transcript in chunks as whole.

#[path = "probe_driver.rs"]
mod probe_driver;

use lb_core::model::{Check, CheckKind, HttpCheck};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&seed, response)) = data.split_first() else {
        return;
    };
    let check = Check {
        kind: CheckKind::Http(HttpCheck {
            body_contains: (seed & 1 == 1).then(|| "OK".to_owned()),
            ..HttpCheck::default()
        }),
        ..Check::default()
    };
    let chunked = probe_driver::play(&check, response, Some(seed));
    assert_eq!(chunked, probe_driver::play(&check, response, None));
});
