#![no_main]
//! Fuzz target `import`: any bytes (invalid UTF-8 replaced, as `lb import` reads a file)
//! into the HAProxy importer. It must never panic, the configuration it makes must pass
//! `lb check` and read back equal after `to_toml`, and comparing it with what the input
//! said must not panic either.

use lb_core::config::{parse, to_toml};
use lb_core::import::{compare, haproxy};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let import = haproxy(&text);
    let written = to_toml(&import.config);
    let reread = parse("imported.toml", &written);
    assert_eq!(reread.as_ref().ok(), Some(&import.config), "{written}");
    let _ = compare(&import.expected, &import.config);
});
