#![no_main]
//! Fuzz target `script_check`: the first byte picks the chunking; the rest is the server's
//! bytes against an SMTP-like script (expect `220 `, send `QUIT`, expect `221`). The script
//! probe never panics, keeps its verdict, and gives the same transcript in chunks as whole.

#[path = "probe_driver.rs"]
mod probe_driver;

use lb_core::model::{Check, CheckKind, ScriptStep};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&seed, bytes)) = data.split_first() else {
        return;
    };
    let check = Check {
        kind: CheckKind::Script(vec![
            ScriptStep::Expect(b"220 ".to_vec()),
            ScriptStep::Send(b"QUIT\r\n".to_vec()),
            ScriptStep::Expect(b"221".to_vec()),
        ]),
        ..Check::default()
    };
    let chunked = probe_driver::play(&check, bytes, Some(seed));
    assert_eq!(chunked, probe_driver::play(&check, bytes, None));
});
