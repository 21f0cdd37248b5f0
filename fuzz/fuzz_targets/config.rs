#![no_main]
//! Fuzz target `config`: any bytes (as UTF-8 when valid) into the configuration parser. It
//! must never panic, and whatever it accepts must survive a round trip through `to_toml`.

use lb_core::config::{parse, to_toml};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = parse("fuzz.toml", text) {
        let written = to_toml(&config);
        let reread = parse("written.toml", &written);
        assert_eq!(reread.as_ref().ok(), Some(&config), "{written}");
    }
});
