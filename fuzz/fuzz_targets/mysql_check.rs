#![no_main]
//! Fuzz target `mysql_check`: the first byte picks the chunking; the rest is what the server
//! sends first. The MySQL probe never panics, never sends anything, keeps its verdict, and gives
//! the same verdict in chunks as whole.

#[path = "probe_driver.rs"]
mod probe_driver;

use lb_core::model::{Check, CheckKind};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&seed, greeting)) = data.split_first() else {
        return;
    };
    let check = Check {
        kind: CheckKind::Mysql,
        ..Check::default()
    };
    let chunked = probe_driver::play(&check, greeting, Some(seed));
    assert!(chunked.0.is_empty(), "the MySQL probe sends nothing");
    assert_eq!(chunked, probe_driver::play(&check, greeting, None));
});
